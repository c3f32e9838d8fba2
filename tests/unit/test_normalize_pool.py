"""Normalizing in spawned processes gives exactly what normalizing in the ingest thread gives."""

from __future__ import annotations

import pytest

from streams.demo import generate
from streams.detect.pipeline import Detectors
from streams.enrich.policy import policy_source
from streams.runtime.ingest import RawMessage, process_batch
from streams.runtime.normalize_pool import NormalizePool

POLICY = """
version: 1
clauses:
  - id: gateway-openai
    providers: [openai]
    networks: [10.30.0.10/32]
"""


@pytest.fixture(scope="module")
def messages() -> list[RawMessage]:
    traffic = generate(seed=5, scale=1)
    return [RawMessage(family, f"raw.{family}", index % 3, index, value, 1_700_000_000_000 + index)
            for family, values in traffic.items() for index, value in enumerate(values)]


def test_the_pool_matches_the_thread_event_for_event(messages, tmp_path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    expected = process_batch(messages, max_record_bytes=1 << 20, raw_cap=4096, redact_bodies=True, now_ms=0,
                             enrich=Detectors.default(policy_source(policy)).enrich)
    assert expected.dead_letters and any(event["ai_sanctioned"] for event in expected.events)

    pool = NormalizePool(2, max_record_bytes=1 << 20, raw_cap=4096, redact_bodies=True, policy_file=policy)
    try:
        got = pool(messages)
    finally:
        pool.close()
    assert got.events == expected.events
    assert got.frame is not None and got.frame.equals(expected.frame)  # what is inserted and forwarded
    strip = [{key: value for key, value in row.items() if key != "received_at"} for row in got.dead_letters]
    assert strip == [{key: value for key, value in row.items() if key != "received_at"}
                     for row in expected.dead_letters]


_POOL_OWNER = """
import sys, time, psutil
from streams.runtime.ingest import RawMessage
from streams.runtime.normalize_pool import NormalizePool

if __name__ == "__main__":
    pool = NormalizePool(2, max_record_bytes=1 << 20, raw_cap=4096, redact_bodies=True, policy_file=None)
    pool([RawMessage("gateway", "raw.gateway", 0, 0, b'{"ts": 1}', 0)] * 4)  # both processes started
    workers = [child for child in psutil.Process().children() if "spawn_main" in " ".join(child.cmdline())]
    print(" ".join(str(child.pid) for child in workers), flush=True)
    time.sleep(600)
"""


def test_the_pool_processes_exit_when_the_worker_is_killed(tmp_path) -> None:
    """A SIGKILLed worker cannot shut its pool down: the processes see their parent gone and exit."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    script = tmp_path / "owner.py"
    script.write_text(_POOL_OWNER)
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        children = [psutil.Process(int(pid)) for pid in owner.stdout.readline().split()]
        assert len(children) == 2
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 30  # a bound on waiting, not a speed assertion: they check every second
    while any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children):
        assert time.monotonic() < deadline, "pool processes outlived their worker"
        time.sleep(0.2)

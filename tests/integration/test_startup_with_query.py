"""Issue 7 item 9: `aispm up` started while a direct `aispm query` has the store open waits for it and
starts, instead of exiting on chDB's lock ("Error initializing EmbeddedServer")."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import WorkerHandle, worker_env

pytestmark = pytest.mark.integration

# About 6 s of one core: long enough for `aispm up` to start while it runs.
SLOW_QUERY = "SELECT count() FROM numbers(600000000) WHERE sipHash64(number) = 7"


def aispm(*args: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "streams.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def wait_until_store_opened_by(pid: int, status_file, timeout_s: float = 60) -> None:
    """chDB writes the pid of the process that has the directory open into its status file."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if status_file.exists() and f"PID: {pid}" in status_file.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError("the direct query never opened the store")


def test_up_waits_for_a_direct_query_then_starts(tmp_path, embedded_broker) -> None:
    data_dir = tmp_path / "data"
    env = worker_env(data_dir, embedded_broker, AISPM_QUERY__TIMEOUT_S="60")
    migrate = aispm("db", "migrate", env=env)
    assert migrate.wait(120) == 0, migrate.stderr.read()
    query = aispm("query", "--format", "json", SLOW_QUERY, env=env)
    wait_until_store_opened_by(query.pid, data_dir / "clickhouse" / "status")
    worker = WorkerHandle(env=env, data_dir=data_dir)
    try:
        worker.start(timeout_s=180)
        out, err = query.communicate(timeout=120)
        assert query.returncode == 0, err
        assert out.strip() == '[{"count()":0}]'
        assert worker.query("SELECT count() FROM events") == [[0]]
    finally:
        worker.stop()
        if query.poll() is None:
            query.kill()

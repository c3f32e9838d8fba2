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

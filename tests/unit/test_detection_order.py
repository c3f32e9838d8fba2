"""Alerts do not depend on the order the raw partitions were read in.

A worker reads its raw partitions in whatever interleaving the broker and its batches give, so one
principal's calls reach the rules in an order that differs from run to run (its CloudTrail records
travel on every raw partition; a store outage or a restart changes how far each one runs ahead). The
same input read in different interleavings must raise the same alerts with the same counts.
"""

from __future__ import annotations

import random
from collections import defaultdict

import orjson
import pytest

from streams.detect.identity import IdentityStage
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from streams.harness.bench import mixed_events
from streams.harness.chaos import keyed_messages
from streams.normalize import normalize_message
from streams.normalize.base import RecordMeta
from streams.runtime.ingest import partition_of

PARTITIONS = 4


@pytest.fixture(scope="module")
def partitions() -> dict[tuple[str, int], list[list[dict]]]:
    """The scale tests' input, normalized, as each raw partition holds it (messages in order)."""
    held: dict[tuple[str, int], list[list[dict]]] = defaultdict(list)
    for index, (family, key, value) in enumerate(keyed_messages(mixed_events(12_000, seed=3))):
        normalized = normalize_message(family, value, RecordMeta("raw", index, 0))
        held[family, partition_of(key.decode(), PARTITIONS)].append(normalized.events)
    return held


def alert_counts(partitions: dict[tuple[str, int], list[list[dict]]], *, seed: int, run: int) -> dict[str, int]:
    """Read the partitions ``run`` messages at a time from one chosen at random; the stage's alerts
    and their counts."""
    chooser = random.Random(seed)
    queues = {name: list(messages) for name, messages in partitions.items()}
    events: list[dict] = []
    while any(queues.values()):
        name = chooser.choice([name for name, left in queues.items() if left])
        taken, queues[name] = queues[name][:run], queues[name][run:]
        events.extend(event for message in taken for event in message)
    detectors = Detectors.default()
    alerts: dict[str, int] = {}

    def send(messages: list[tuple[bytes, bytes]]) -> None:
        for _key, value in messages:
            alert = orjson.loads(value)
            info = alert["finding_info"]
            alerts[f"{info['analytic']['uid']}:{info['uid']}"] = alert["count"]

    store = MemoryDetectionStore()
    stage = DetectionStage(detectors=detectors, store=store, send_alerts=send, window_ms=3_600_000,
                           identity=IdentityStage(store=store))
    for start in range(0, len(events), 2000):
        batch = [dict(event) for event in events[start:start + 2000]]
        detectors.enrich(batch)
        stage.commit(stage.prepare_events(batch))
    return alerts


def test_the_input_raises_sequence_alerts(partitions) -> None:
    counts = alert_counts(partitions, seed=0, run=200)
    assert any(name.startswith("bedrock_recon_then_invoke:") and count > 1 for name, count in counts.items())


@pytest.mark.parametrize(("seed", "run"), [(1, 1), (2, 10), (3, 50), (4, 1000)])
def test_any_interleaving_of_the_partitions_gives_the_same_alerts_and_counts(partitions, seed: int, run: int) -> None:
    expected = alert_counts(partitions, seed=0, run=200)
    actual = alert_counts(partitions, seed=seed, run=run)
    assert {name: (expected.get(name), actual.get(name)) for name in expected.keys() | actual.keys()
            if expected.get(name) != actual.get(name)} == {}

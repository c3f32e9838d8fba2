"""The ingest loop's landing step, with plain callables for the store and the topics."""

from __future__ import annotations

from collections import Counter

import pytest

from streams.normalize.batch import as_dicts, decode_events
from streams.runtime.ingest import BatchOutput, IngestLoop, LandingTargets, PreparedBatch, route_events
from streams.runtime.store import NewEvents
from tests.unit.test_store import event as stored_event


def event(event_id: str, **fields: str) -> dict:
    return stored_event(event_id, source_family="gateway", actor="", src_ip="10.0.0.1", cloud_account="") | fields


def read(message: bytes) -> list[dict]:
    return as_dicts(decode_events(message))


class Targets:
    def __init__(self, insert_failures: int) -> None:
        self.insert_failures = insert_failures
        self.forwarded: list[tuple[int, bytes]] = []
        self.inserted: list[dict] = []

    def insert(self, new: NewEvents) -> None:
        if self.insert_failures:
            self.insert_failures -= 1
            raise RuntimeError("store down")
        self.inserted.extend(new.events)

    def landing(self) -> LandingTargets:
        return LandingTargets(
            new_events=lambda frame: NewEvents(frame, [0] * frame.height, 0),
            insert_events=self.insert, land_dead_letters=lambda rows: None,
            send_events=self.forwarded.extend, send_dead_letters=lambda messages: None,
        )


def loop(targets: Targets) -> IngestLoop:
    return IngestLoop(consumer=None, family_by_topic={}, targets=targets.landing(), batch_size=10,
                      flush_interval_s=0.1, max_record_bytes=1024, raw_cap=1024, redact_bodies=True,
                      events_per_message=2, events_partitions=4)


def test_retries_of_a_failed_insert_forward_the_batch_once() -> None:
    """During a store outage every landing retry used to put the whole batch on the events topic again."""
    targets = Targets(insert_failures=3)
    ingest = loop(targets)
    prepared = PreparedBatch(BatchOutput(events=[event(f"e{i}") for i in range(5)]), [], {("raw", 0): 5}, [], 5)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            ingest.land(prepared)
    ingest.land(prepared)
    forwarded = [item["event_id"] for _, message in targets.forwarded for item in read(message)]
    assert sorted(forwarded) == [f"e{i}" for i in range(5)]
    assert len(targets.inserted) == 5


def test_events_of_one_account_or_principal_share_a_partition() -> None:
    events = ([event(f"ct{i}", source_family="cloudtrail", cloud_account="111122223333", actor=f"role/{i}")
               for i in range(20)]
              + [event(f"gw{i}", src_ip=f"10.0.0.{i % 3}") for i in range(30)])
    routed = route_events(events, partitions=4, per_message=7)
    partition_of: dict[str, set[int]] = {}
    for partition, message in routed:
        for item in read(message):
            key = item["cloud_account"] or item["src_ip"]
            partition_of.setdefault(key, set()).add(partition)
    assert all(len(partitions) == 1 for partitions in partition_of.values())
    assert Counter(len(read(message)) <= 7 for _, message in routed) == {True: len(routed)}
    in_order = [item["event_id"] for _, message in routed for item in read(message)
                if item["event_id"].startswith("ct")]
    assert in_order == [f"ct{i}" for i in range(20)], "one key's events keep their order"


def test_the_landing_reports_where_its_time_went() -> None:
    targets = Targets(insert_failures=0)
    ingest = loop(targets)
    prepared = PreparedBatch(BatchOutput(events=[event(f"t{i}") for i in range(3)]), [], {("raw", 0): 3}, [], 3)
    ingest.land(prepared)
    stages = ingest.metrics.snapshot()["stage_seconds"]
    assert {"dedup", "encode", "forward", "insert", "dead_letters"} <= set(stages)
    assert all(seconds >= 0 for seconds in stages.values())
    assert len(targets.inserted) == 3

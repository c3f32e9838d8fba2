"""The batch-level schema check rejects exactly what per-event validation rejects, with the same words,
and the worker's batch path makes the same events and dead letters as normalizing one by one."""

from __future__ import annotations

import random

import orjson
import pytest
from pydantic import ValidationError

from schemas.event import validate_event
from streams.normalize import normalize_message, schema_violation_detail
from streams.normalize.base import RecordMeta
from streams.normalize.batch import check_events
from streams.normalize.files import open_bytes, split_records
from streams.normalize.redact import Redactor
from streams.runtime.ingest import RawMessage, process_batch
from tests.golden.record import sample_files
from tests.unit.test_store import event

REDACTOR = Redactor(b"batch-check-test-key-0123456789abcdef")

BROKEN = {
    "id too long": {"event_id": "e" * 257},
    "empty id": {"event_id": ""},
    "unknown family": {"source_family": "netflow"},
    "unknown outcome": {"outcome": "maybe"},
    "status beyond 32 bits": {"status_code": 2**31},
    "negative class": {"class_uid": -1},
    "activity beyond 16 bits": {"activity_id": 70_000},
    "an object where text goes": {"actor": {"name": "x"}},
    "a list where a number goes": {"bytes_in": [1, 2]},
}


@pytest.mark.parametrize("change", list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_event_is_rejected_with_the_words_of_per_event_validation(change: dict) -> None:
    good = [event(f"good-{i}") for i in range(5)]
    broken = event("broken") | change
    with pytest.raises(ValidationError) as expected:
        validate_event(broken)
    checked = check_events([*good[:2], broken, *good[2:]])
    assert checked.rejected == [(2, schema_violation_detail(expected.value))]
    assert [e["event_id"] for e in checked.events] == [e["event_id"] for e in good]
    assert checked.frame["event_id"].to_list() == [e["event_id"] for e in good]


def test_a_batch_of_good_events_passes_whole() -> None:
    good = [event(f"good-{i}", status_code=200 + i) for i in range(100)]
    checked = check_events(good)
    assert checked.rejected == [] and checked.frame.height == 100


def _messages() -> list[RawMessage]:
    values = [(family, value) for family, path in sample_files() for value in split_records(open_bytes(path))]
    rng = random.Random(5)
    mutated = []
    for family, value in values:
        cut = rng.randrange(1, max(2, len(value)))
        mutated.append((family, value[:cut]))  # truncated: dead letters
    return [RawMessage(family, f"raw.{family}", 0, offset, value, 0)
            for offset, (family, value) in enumerate(values + mutated)]


def test_the_batch_path_makes_what_normalizing_one_by_one_makes() -> None:
    messages = _messages()
    batch = process_batch(messages, max_record_bytes=1 << 20, raw_cap=1 << 16, redactor=REDACTOR, now_ms=1)
    one_by_one = [normalize_message(m.family, m.value, RecordMeta(m.topic, m.partition, m.offset), redactor=REDACTOR)
                  for m in messages]
    assert batch.events == [e for result in one_by_one for e in result.events]
    assert [(row["reason"], row["detail"]) for row in batch.dead_letters] == [
        (f.reason, REDACTOR.redact_text(f.detail)[:1000]) for result in one_by_one for f in result.failures]
    assert batch.frame is not None and batch.frame["event_id"].to_list() == [e["event_id"] for e in batch.events]
    assert orjson.dumps(batch.events)  # plain JSON-able dicts, as the events topic needs

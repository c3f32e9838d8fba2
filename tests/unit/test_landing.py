"""The landing worker's steps (AISPM_ROLE=land) against the real engine, and the retry backoff."""

from __future__ import annotations

import random
import time

import orjson
import pytest

from streams.normalize import Failure
from streams.runtime.ingest import RawMessage, dead_letter_message, dead_letter_row, route_events
from streams.runtime.landing import EventsLander, dead_letter_of_message
from streams.runtime.retry import backoff_delays
from streams.runtime.store import Store
from tests.conftest import fresh_database_settings
from tests.unit.test_store import event


@pytest.fixture(scope="module")
def store(chdb_data_dir) -> Store:
    store = Store(fresh_database_settings(chdb_data_dir))
    store.migrate()
    yield store
    store.close()


def test_forwarded_events_land_once_however_often_they_arrive(store: Store) -> None:
    lander = EventsLander(store)
    messages = [message for _, message in route_events([event(f"land-{i}", actor=f"a{i % 3}") for i in range(40)],
                                                      partitions=4, per_message=7)]
    first = lander.new(messages + messages[:2])  # a batch forwarded again within the same delivery
    assert first.frame.height == 40 and first.new.duplicates == 14
    lander.insert(first)
    again = lander.new(messages)  # forwarded again by the worker that took the partitions over
    assert again.frame.height == 0 and again.new.duplicates == 40
    lander.insert(again)
    assert store.scalar("SELECT count() FROM events WHERE startsWith(event_id, 'land-')") == 40


@pytest.mark.parametrize("raw", [b'{"truncated": ', b"\xff\xfe not utf-8"])
def test_a_dead_letter_survives_the_topic_and_lands_once(store: Store, raw: bytes) -> None:
    message = RawMessage("gateway", "t.raw.gateway", 2, 17 + len(raw), raw, 0)
    row = dead_letter_row(message, Failure("malformed_json", "cut short", raw), 0, int(time.time() * 1000), 1024)
    assert dead_letter_of_message(dead_letter_message(row)) == row
    lander = EventsLander(store)
    lander.land_dead_letters([dead_letter_message(row), dead_letter_message(row), b"not ours"])
    assert store.scalar(f"SELECT count() FROM dead_letters WHERE dead_letter_id = '{row['dead_letter_id']}'") == 1


def test_a_dead_letter_keeps_when_it_was_produced_and_one_written_before_that_was_kept_reads_its_receipt(
        store: Store) -> None:
    now_ms = int(time.time() * 1000)  # rows past the retention are gone at once
    message = RawMessage("audit", "t.raw.audit", 0, 99, b"[1,", now_ms - 7_000)
    row = dead_letter_row(message, Failure("malformed_json", "cut short", b"[1,"), 0, now_ms, 1024)
    older = {key: value for key, value in orjson.loads(dead_letter_message(row)).items() if key != "produced_at"}
    older["dead_letter_id"] += "-older"
    EventsLander(store).land_dead_letters([dead_letter_message(row), orjson.dumps(older)])
    rows = store.query("SELECT dead_letter_id, toUnixTimestamp64Milli(produced_at) FROM dead_letters "
                       "WHERE kafka_topic = 't.raw.audit' ORDER BY dead_letter_id")[1]
    assert rows == [(row["dead_letter_id"], now_ms - 7_000), (older["dead_letter_id"], now_ms)]


def test_a_dead_letters_message_of_the_wrong_shape_is_skipped_not_retried_for_ever() -> None:
    """The dead-letters agent alerts on and lands what the topic holds: a message missing a field or
    holding one of the wrong kind must cost itself, not stop the agent on a retry that cannot succeed."""
    from streams.runtime.landing import dead_letter_rows

    message = RawMessage("audit", "t.raw.audit", 1, 5, b"[1,", 0)
    good = dead_letter_message(dead_letter_row(message, Failure("malformed_json", "cut", b"[1,"), 0, 1_000, 64))
    row = orjson.loads(good)
    wrong = [orjson.dumps({k: v for k, v in row.items() if k != "received_at"}),
             orjson.dumps(row | {"kafka_partition": "first"}),
             orjson.dumps(row | {"source_family": "mainframe"}),
             orjson.dumps(row | {"reason": ["malformed_json"]}),
             orjson.dumps([row]), b"not ours"]
    assert dead_letter_rows([*wrong, good]) == [dead_letter_of_message(good)]


def test_backoff_doubles_to_its_cap_with_jitter_below_each_step() -> None:
    delays = backoff_delays(first_s=0.5, most_s=4, jitter=0.5, rng=random.Random(1))
    steps = [next(delays) for _ in range(8)]
    for delay, step in zip(steps, [0.5, 1, 2, 4, 4, 4, 4, 4], strict=True):
        assert step / 2 <= delay <= step
    assert len(set(steps[3:])) > 1, "capped delays still vary, so workers do not retry in step"

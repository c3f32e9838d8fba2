"""The landing loop's pure part: raw messages -> events + dead letters, never an exception."""

from __future__ import annotations

import pickle

import orjson

from streams.normalize.batch import as_dicts, decode_events
from streams.runtime.ingest import RawMessage, dead_letter_message, process_batch, route_frame
from tests.conftest import dataset


def messages(family: str, values: list[bytes]) -> list[RawMessage]:
    return [RawMessage(family, f"aispm.raw.{family}", 0, offset, value, 1_700_000_000_000)
            for offset, value in enumerate(values)]


def stratus() -> list[bytes]:
    return [orjson.dumps(record) for record in
            orjson.loads(dataset("stratus-red-team-detonation-logs", "aws.impact.bedrock-invoke-model.json").read_bytes())]


def test_good_records_become_events_with_their_kafka_coordinates() -> None:
    out = process_batch(messages("cloudtrail", stratus()), max_record_bytes=1 << 20, raw_cap=1024)
    assert len(out.events) == len(stratus()) and not out.dead_letters
    assert [event["kafka_offset"] for event in out.events] == list(range(len(stratus())))
    assert {event["kafka_topic"] for event in out.events} == {"aispm.raw.cloudtrail"}


def test_bad_records_become_dead_letters_with_reason_and_capped_bytes() -> None:
    bad = [b"{not json", b"\xff\xfe", b"", b'{"eventName": "X"}', b'{"Records": [' + b"1" * 3000 + b"]}"]
    out = process_batch(messages("cloudtrail", bad), max_record_bytes=2048, raw_cap=16, now_ms=123)
    reasons = [row["reason"] for row in out.dead_letters]
    assert reasons == ["malformed_json", "bad_encoding", "empty", "not_cloudtrail", "oversized"]
    oversized = out.dead_letters[-1]
    assert oversized["raw_size"] == len(bad[-1]) and oversized["raw_truncated"] and len(oversized["raw"]) == 16
    assert len({row["dead_letter_id"] for row in out.dead_letters}) == len(bad)
    assert all(row["received_at"] == 123 for row in out.dead_letters)


def test_a_redelivered_message_maps_to_the_same_dead_letter_id() -> None:
    first = process_batch(messages("audit", [b"[1,"]), max_record_bytes=1024, raw_cap=64)
    second = process_batch(messages("audit", [b"[1,"]), max_record_bytes=1024, raw_cap=64)
    assert first.dead_letters[0]["dead_letter_id"] == second.dead_letters[0]["dead_letter_id"]


def test_a_dead_letter_is_produced_when_its_message_was_and_received_when_it_was_read() -> None:
    timed = [RawMessage("cloudtrail", "aispm.raw.cloudtrail", 0, 5, b"{not json", 1_764_000_000_000),
             RawMessage("cloudtrail", "aispm.raw.cloudtrail", 0, 6, b"{not json", 0)]  # no timestamp
    out = process_batch(timed, max_record_bytes=1024, raw_cap=64, now_ms=1_764_000_009_000)
    assert [(row["produced_at"], row["received_at"]) for row in out.dead_letters] == [
        (1_764_000_000_000, 1_764_000_009_000), (1_764_000_009_000, 1_764_000_009_000)]


def test_dead_letters_never_keep_credentials() -> None:
    key = "sk-proj-" + "A1b2" * 12
    out = process_batch(messages("gateway", [f"garbage with Bearer {key}".encode()]),
                        max_record_bytes=1024, raw_cap=1024)
    assert key.encode() not in out.dead_letters[0]["raw"]
    assert key.encode() not in dead_letter_message(out.dead_letters[0])


def test_events_go_to_the_events_topic_as_arrow_batches_that_read_back_whole() -> None:
    out = process_batch(messages("cloudtrail", stratus()), max_record_bytes=1 << 20, raw_cap=1024)
    routed = route_frame(out.frame, partitions=4, per_message=4)
    frames = [decode_events(message) for _, message in routed]
    assert all(frame.height <= 4 for frame in frames)
    read_back = [event for frame in frames for event in as_dicts(frame)]
    assert sorted(read_back, key=lambda e: e["event_id"]) == sorted(out.events, key=lambda e: e["event_id"])


def test_a_message_of_many_bad_records_lands_a_bounded_number_of_dead_letters() -> None:
    records = 20_000
    flood = orjson.dumps({"Records": [0] * records})
    out = process_batch(messages("cloudtrail", [flood, stratus()[0]]), max_record_bytes=1 << 20, raw_cap=512,
                        max_failures_per_message=50)
    assert len(out.events) == 1
    assert len(out.dead_letters) == 51
    *kept, summary = out.dead_letters
    assert {row["reason"] for row in kept} == {"not_cloudtrail"} and all(row["raw"] == b"0" for row in kept)
    assert summary["reason"] == "too_many_failures"
    assert orjson.loads(summary["detail"]) == {"suppressed": records - 50, "by_reason": {"not_cloudtrail": records - 50}}
    assert summary["raw_size"] == len(flood) and summary["raw_truncated"] and len(summary["raw"]) == 512
    assert len({row["dead_letter_id"] for row in out.dead_letters}) == 51
    assert orjson.loads(dead_letter_message(summary))["reason"] == "too_many_failures"


def test_a_poison_record_costs_only_itself_in_a_batch() -> None:
    good = stratus()[0].decode()
    deep = '{"eventName":"X","x":' + "[" * 300 + "]" * 300 + "}"
    poison = f'{{"Records":[{good},{deep},{good}]}}'.encode()
    out = process_batch(messages("cloudtrail", [poison, stratus()[1]]), max_record_bytes=1 << 20, raw_cap=1 << 16)
    assert len(out.events) == 3
    assert [row["reason"] for row in out.dead_letters] == ["too_deep"]
    assert out.dead_letters[0]["kafka_offset"] == 0


def test_a_copy_of_a_batch_output_carries_its_frame_and_gives_back_the_same_events() -> None:
    # What a normalizing process sends to the worker: the frame, not 5,000 dicts beside it.
    out = process_batch(messages("cloudtrail", [*stratus(), b"{not json"]), max_record_bytes=1 << 20,
                        raw_cap=4096)
    assert out.events and out.frame is not None
    copy = pickle.loads(pickle.dumps(out))
    state = out.__getstate__()
    assert state[0] is None and state[2] is out.frame
    assert copy.frame.equals(out.frame)
    assert copy.events == out.events
    assert copy.dead_letters == out.dead_letters

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.cli import main
from streams.normalize.files import open_bytes, split_records


def test_records_file_is_split_into_one_message_per_event(tmp_path) -> None:
    path = tmp_path / "trail.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps({"Records": [{"eventID": "a"}, {"eventID": "b"}]})))
    assert [orjson.loads(value)["eventID"] for value in split_records(open_bytes(path))] == ["a", "b"]


def test_an_eventbridge_envelope_stays_whole() -> None:
    envelope = orjson.dumps({"detail-type": "AWS API Call via CloudTrail", "detail": {"eventID": "x"}})
    assert list(split_records(envelope)) == [envelope]


def test_json_lines_and_text_lines_keep_malformed_lines() -> None:
    data = b'{"a": 1}\n{"b": \n\nnot json\n'
    assert list(split_records(data)) == [b'{"a": 1}', b'{"b": ', b"not json"]


# A record that repeats a key is read differently by different JSON readers (orjson keeps the last
# value, others the first): the stream makes it a 'duplicate_key' dead letter. Split from a file, it
# must reach the normalizer as it was written, not rewritten by orjson with one of the values dropped.
_REPEATING = (b'{"eventID":"b","eventName":"GetObject","eventName":"DeleteTrail",'
              b'"userIdentity":{"arn":"x","arn":"y"}}')


@pytest.mark.parametrize("document", [
    b'{"Records": [{"eventID":"a"}, ' + _REPEATING + b', {"eventID":"c"}]}',
    b'{\n  "Records": [\n    {"eventID": "a"},\n    ' + _REPEATING + b',\n    {"eventID": "c"}\n  ]\n}',
    b'[{"eventID":"a"},' + _REPEATING + b',{"eventID":"c"}]',
])
def test_a_record_that_repeats_a_key_is_split_as_it_was_written(document: bytes) -> None:
    values = list(split_records(document))
    assert values[1] == _REPEATING
    assert [orjson.loads(value)["eventID"] for value in values] == ["a", "b", "c"]


def test_a_file_whose_envelope_repeats_a_key_stays_whole() -> None:
    document = b'{"Records": [{"eventID":"a"}], "Records": [{"eventID":"b"}]}'
    assert list(split_records(document)) == [document]


def test_records_of_a_file_that_repeat_a_key_become_dead_letters_as_in_the_stream(tmp_path: Path) -> None:
    from streams.normalize import normalize_message
    from streams.runtime.normalize_pool import normalize_file

    record = {"eventVersion": "1.08", "eventTime": "2026-01-01T00:00:00Z", "eventSource": "s3.amazonaws.com",
              "eventName": "GetObject", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
              "recipientAccountId": "111122223333",
              "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/x",
                               "accountId": "111122223333"}}
    plain = orjson.dumps(record | {"eventID": "a"})
    forged = orjson.dumps(record | {"eventID": "b"}).replace(b'"eventName":"GetObject"',
                                                            b'"eventName":"GetObject","eventName":"DeleteTrail"')
    document = b'{"Records":[' + plain + b"," + forged + b"]}"
    streamed = normalize_message("cloudtrail", document)
    assert [failure.reason for failure in streamed.failures] == ["duplicate_key"]
    path = tmp_path / "trail.json.gz"
    path.write_bytes(gzip.compress(document))
    records, output = normalize_file(str(path), "cloudtrail", 1 << 20, 65536, True)
    assert records == 2
    assert output.frame["event_id"].to_list() == ["a"]
    (dead,) = output.dead_letters
    assert dead["reason"] == "duplicate_key" and dead["raw"] == forged


# -- issue 7 items 1 and 10: content that breaks re-encoding or exceeds the producer's limit ------------

def nested_text(depth: int) -> bytes:
    """A compact JSON record ``depth`` containers deep (built as text: Python recurses ~1000 levels)."""
    opening = "".join('[' if level % 2 else '{"k":' for level in range(depth))
    closing = "".join(']' if level % 2 else '}' for level in reversed(range(depth)))
    return f'{opening}{{"leaf":"x"}}{closing}'.encode()


@pytest.mark.parametrize("depth", [300, 1000])
def test_a_record_nested_deeper_than_orjson_writes_is_still_sent_whole(depth: int) -> None:
    document = b'{"Records": [{"eventID": "a"}, ' + nested_text(depth) + b', {"eventID": "b"}]}'
    values = list(split_records(document))
    assert len(values) == 3
    assert orjson.loads(values[0]) == {"eventID": "a"} and orjson.loads(values[2]) == {"eventID": "b"}
    assert values[1] == nested_text(depth)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(), lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=5), children, max_size=4), max_leaves=30),
       st.integers(0, 400))
def test_records_of_any_depth_round_trip(leaf: object, depth: int) -> None:
    record: object = leaf
    for level in range(depth):
        record = [record, 1] if level % 2 else {"x": record, "y": None}
    document = b"[" + json_text_any(record) + b"]"
    (value,) = split_records(document)
    assert orjson.loads(document)[0] == json.loads(value)


def json_text_any(value: object) -> bytes:
    if isinstance(value, list):
        return b"[" + b",".join(json_text_any(item) for item in value) + b"]"
    if isinstance(value, dict):
        return b"{" + b",".join(orjson.dumps(key) + b":" + json_text_any(item) for key, item in value.items()) + b"}"
    return orjson.dumps(value)


def ingest(tmp_path, bootstrap: str, *files: Path):
    env = {"AISPM_DATA_DIR": str(tmp_path / "data"), "AISPM_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
           "AISPM_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}."}
    result = CliRunner().invoke(main, ["ingest", "--source", "cloudtrail", *map(str, files)], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def summary(result) -> dict:
    return orjson.loads(next(line for line in result.output.splitlines() if line.startswith("{")))


def test_ingest_skips_a_record_over_the_message_limit_says_which_and_sends_the_rest(tmp_path, embedded_broker) -> None:
    trail = tmp_path / "trail.json"
    huge = {"eventID": "huge", "requestParameters": {"blob": "x" * (9 << 20)}}
    trail.write_bytes(orjson.dumps({"Records": [{"eventID": "a"}, huge, {"eventID": "b"}]}))
    result = ingest(tmp_path, embedded_broker, trail)
    assert result.exit_code == 1
    report = summary(result)
    assert report["messages"] == 2 and report["failed"] == 0 and report["skipped"] == 1
    assert any(str(trail) in line and "record 2" in line for line in report["skipped_records"])


def test_ingest_of_a_deeply_nested_records_file_sends_every_record(tmp_path, embedded_broker) -> None:
    trail = tmp_path / "deep.json"
    trail.write_bytes(b'{"Records": [{"eventID": "a"}, ' + nested_text(600) + b"]}")
    result = ingest(tmp_path, embedded_broker, trail)
    assert result.exit_code == 0, result.output
    assert summary(result)["messages"] == 2


def test_ingest_reports_a_file_that_is_not_readable_gzip_and_sends_the_others(tmp_path, embedded_broker) -> None:
    good = tmp_path / "good.json.gz"
    good.write_bytes(gzip.compress(orjson.dumps({"Records": [{"eventID": "a"}, {"eventID": "b"}]})))
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(good.read_bytes()[:20])
    result = ingest(tmp_path, embedded_broker, cut, good)
    assert result.exit_code == 1
    report = summary(result)
    assert report["messages"] == 2 and report["skipped"] == 1
    assert any(str(cut) in line and "gzip" in line for line in report["skipped_records"])


@pytest.mark.parametrize("indent", [None, 2])
def test_a_record_with_a_number_past_a_double_is_split_alone_with_its_number(indent: int | None) -> None:
    from streams.normalize import normalize_message

    records = [{"eventID": "a"}, {"eventID": "b", "requestParameters": {"size": "__N__"}}, {"eventID": "c"}]
    document = json.dumps({"Records": records}, indent=indent).replace('"__N__"', "1e400").encode()
    values = list(split_records(document))
    assert [orjson.loads(value)["eventID"] for value in (values[0], values[2])] == ["a", "c"]
    assert values[1] == b'{"eventID":"b","requestParameters":{"size":1e400}}'
    assert [failure.reason for failure in normalize_message("cloudtrail", values[1]).failures] == ["malformed_json"]


def test_a_record_with_a_lone_surrogate_is_split_alone_as_written() -> None:
    bad = b'{"eventID":"b","userAgent":"\\ud800"}'
    values = list(split_records(b'{"Records":[{"eventID":"a"},' + bad + b',{"eventID":"c"}]}'))
    assert values == [b'{"eventID":"a"}', bad, b'{"eventID":"c"}']


def test_a_file_with_a_refused_value_and_bytes_that_are_not_utf8_is_read_as_lines() -> None:
    document = b'{"Records":[{"eventID":"a","n":1e400},{"eventID":"b","s":"\xff"}]}'
    assert list(split_records(document)) == [document]

from __future__ import annotations

import gzip

import orjson

from streams.producer import open_bytes, split_records


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

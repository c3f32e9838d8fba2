"""Input written to hurt the normalizers: nesting past what orjson writes, messages of many bad records,
line separators that forge log lines, and duplicate JSON keys that parsers read differently.

Each record stays accounted for exactly once (an event, a dead letter, or a share of one summary dead
letter), and nothing any content holds escapes ``normalize_message`` as an exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from streams.normalize import DEFAULT_MAX_FAILURES_PER_MESSAGE, Normalized, normalize_message
from streams.normalize.base import RecordMeta

META = RecordMeta(topic="raw", partition=0, offset=3)
SAMPLES = Path(__file__).resolve().parents[1] / "samples"

CLOUDTRAIL = {
    "eventVersion": "1.09", "eventTime": "2025-03-09T10:15:32Z", "eventSource": "cloudtrail.amazonaws.com",
    "eventName": "LookupEvents", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
    "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333"},
    "requestParameters": {"maxResults": 50}, "eventID": "e-1", "recipientAccountId": "111122223333",
}
ZEEK_SSL = {"ts": 1521911720.865716, "uid": "CmES5u32sYpV7JYN", "id.orig_h": "10.0.0.5", "id.orig_p": 50132,
            "id.resp_h": "104.18.7.192", "id.resp_p": 443, "server_name": "api.openai.com", "established": True}
OKTA = {"uuid": "okta-1", "published": "2025-03-09T10:15:32.000Z", "eventType": "user.session.start",
        "actor": {"alternateId": "alice@example.com", "type": "User"}, "outcome": {"result": "SUCCESS"},
        "client": {"ipAddress": "198.51.100.7"}}
GOOD_RECORD = {"cloudtrail": CLOUDTRAIL, "gateway": ZEEK_SSL, "audit": OKTA}

NGINX = ('10.0.4.21 - alice [09/Mar/2025:10:15:34 +0000] "POST /v1/messages HTTP/1.1" 200 310 "-" '
         '"anthropic-sdk-python/0.39.0"')
FORGED_NGINX = '6.6.6.6 - mallory [09/Mar/2025:10:15:35 +0000] "GET /forged HTTP/1.1" 200 1 "-" "forged"'
SQUID = "1741515332.120    812 10.20.3.14 TCP_TUNNEL/200 6120 CONNECT api.openai.com:443 alice HIER_DIRECT/104.18.7.192 -"
FORGED_SQUID = "1741515333.000      1 6.6.6.6 TCP_MISS/200 1 GET http://forged.example/ mallory HIER_DIRECT/6.6.6.6 -"

# Characters str.splitlines() breaks lines at, besides "\n".
LINE_BREAKS_THAT_ARE_NOT_NEWLINES = ("\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def with_deep_value(record: dict, key: str, depth: int) -> str:
    """``record`` as JSON text with ``key`` set to ``depth`` nested arrays (written by hand: no JSON
    library writes that deep)."""
    return orjson.dumps({**record, key: "__DEEP__"}).decode().replace('"__DEEP__"', "[" * depth + "1" + "]" * depth)


def records_accounted(result: Normalized) -> int:
    return len(result.events) + sum(failure.records for failure in result.failures)


def reasons(result: Normalized) -> list[str]:
    return [failure.reason for failure in result.failures]


# --- 1. nesting deeper than orjson writes ----------------------------------------------------------

@pytest.mark.parametrize("family", ["cloudtrail", "gateway", "audit"])
@pytest.mark.parametrize("depth", [252, 253, 254, 300, 1000])
def test_a_deep_record_in_an_array_costs_only_itself(family: str, depth: int) -> None:
    good = orjson.dumps(GOOD_RECORD[family]).decode()
    deep = with_deep_value(GOOD_RECORD[family], "extra", depth)
    result = normalize_message(family, f"[{good},{deep},{good}]".encode(), META)
    assert records_accounted(result) == 3
    if depth + 1 <= 254:  # the record (its object and the arrays in it) still fits the 254 levels orjson writes
        assert len(result.events) == 3, reasons(result)
    else:
        assert len(result.events) == 2 and reasons(result) == ["too_deep"]
        assert "254" in result.failures[0].detail
        # The dead letter keeps the record's own content, clipped where it is too deep to write.
        kept = orjson.loads(result.failures[0].raw)
        assert {key: kept[key] for key in GOOD_RECORD[family]} == GOOD_RECORD[family]


def test_a_deep_record_inside_cloudtrail_records_costs_only_itself() -> None:
    deep = with_deep_value({**CLOUDTRAIL, "eventID": "deep"}, "requestParameters", 400)
    message = f'{{"Records":[{orjson.dumps(CLOUDTRAIL).decode()},{deep},'
    message += f'{orjson.dumps({**CLOUDTRAIL, "eventID": "e-2"}).decode()}]}}'
    result = normalize_message("cloudtrail", message.encode(), META)
    assert [event["event_id"] for event in result.events] == ["e-1", "e-2"]
    assert reasons(result) == ["too_deep"]
    kept = orjson.loads(result.failures[0].raw)
    assert kept["eventID"] == "deep" and kept["eventName"] == "LookupEvents"


def test_a_deep_json_line_costs_only_its_line() -> None:
    deep_line = f"[{json.dumps(ZEEK_SSL)},{with_deep_value(ZEEK_SSL, 'x', 300)}]"
    message = "\n".join([json.dumps(ZEEK_SSL), deep_line, json.dumps(ZEEK_SSL)]).encode()
    result = normalize_message("gateway", message, META)
    assert len(result.events) == 3 and reasons(result) == ["too_deep"]


def test_nesting_beyond_what_orjson_reads_is_one_dead_letter() -> None:
    message = '{"Records":[' + "[" * 1100 + "]" * 1100 + "]}"
    result = normalize_message("cloudtrail", message.encode(), META)
    assert reasons(result) == ["malformed_json"] and not result.events


# --- 8. dead-letter amplification ---------------------------------------------------------------------

def test_a_message_of_many_bad_records_gives_a_bounded_number_of_dead_letters() -> None:
    records = 20_000
    message = orjson.dumps({"Records": [0] * records})
    result = normalize_message("cloudtrail", message, META)
    assert not result.events
    assert len(result.failures) == DEFAULT_MAX_FAILURES_PER_MESSAGE + 1
    assert records_accounted(result) == records
    kept, summary = result.failures[:-1], result.failures[-1]
    assert {failure.reason for failure in kept} == {"not_cloudtrail"}
    assert all(failure.records == 1 for failure in kept)
    assert summary.reason == "too_many_failures"
    assert summary.records == records - DEFAULT_MAX_FAILURES_PER_MESSAGE
    assert orjson.loads(summary.detail) == {
        "suppressed": records - DEFAULT_MAX_FAILURES_PER_MESSAGE,
        "by_reason": {"not_cloudtrail": records - DEFAULT_MAX_FAILURES_PER_MESSAGE},
    }


def test_the_summary_counts_each_reason_and_good_records_still_become_events() -> None:
    lines = []
    for index in range(300):
        lines.append(json.dumps({**ZEEK_SSL, "uid": f"C{index}"}))
        lines.append("{not json" if index % 2 else json.dumps({"unknown": index}))
    result = normalize_message("gateway", "\n".join(lines).encode(), META, max_failures=10)
    assert len(result.events) == 300
    assert len(result.failures) == 11 and records_accounted(result) == 600
    summary = orjson.loads(result.failures[-1].detail)
    assert summary == {"suppressed": 290, "by_reason": {"malformed_json": 145, "unknown_format": 145}}


def test_a_dead_letter_of_one_line_holds_that_line_not_the_whole_message() -> None:
    lines = [json.dumps(ZEEK_SSL), "{broken line one", json.dumps(ZEEK_SSL), "{broken line two"]
    result = normalize_message("gateway", "\n".join(lines).encode(), META)
    assert [failure.raw for failure in result.failures] == [b"{broken line one", b"{broken line two"]


def test_few_failures_are_not_summarized() -> None:
    result = normalize_message("cloudtrail", orjson.dumps({"Records": [0] * 5}), META)
    assert reasons(result) == ["not_cloudtrail"] * 5


# --- 10. line splitting ---------------------------------------------------------------------------------

@pytest.mark.parametrize("separator", LINE_BREAKS_THAT_ARE_NOT_NEWLINES)
@pytest.mark.parametrize(("line", "forged"), [(NGINX, FORGED_NGINX), (SQUID, FORGED_SQUID)])
def test_only_a_newline_ends_a_text_log_line(line: str, forged: str, separator: str) -> None:
    result = normalize_message("gateway", f"{line}{separator}{forged}\n{line}".encode(), META)
    assert records_accounted(result) == 2
    assert all(event["src_ip"] != "6.6.6.6" and event["actor"] != "mallory" for event in result.events)


@pytest.mark.parametrize(("line", "actor"), [(NGINX, "alice"), (SQUID, "alice")])
def test_crlf_line_ends_are_read_as_newlines(line: str, actor: str) -> None:
    result = normalize_message("gateway", f"{line}\r\n{line}\r\n".encode(), META)
    assert len(result.events) == 2 and not result.failures
    assert all(event["actor"] == actor and not event["raw"].endswith("\r") for event in result.events)


def test_json_lines_split_only_at_newlines() -> None:
    # U+2028 may stand unescaped inside a JSON string; it must not cut the line in two.
    first = json.dumps({**ZEEK_SSL, "server_name": "api.openai.com", "note": "a\u2028b"}, ensure_ascii=False)
    message = f"{first}\n{json.dumps(ZEEK_SSL)}\r\n".encode()
    result = normalize_message("gateway", message, META)
    assert len(result.events) == 2 and not result.failures, reasons(result)


# --- 10. duplicate keys -----------------------------------------------------------------------------------

def duplicated(text: str, key: str, value: str) -> str:
    """``text`` (a JSON object) with ``"key": value`` added once more at its start."""
    return "{" + f'"{key}":{value},' + text[1:]


@pytest.mark.parametrize("spelling", [
    '{"eventName":"Benign",%s,"eventName":"StopLogging"}',
    '{"eventName":"Benign",%s,"eventName" : "StopLogging"}',
    '{"eventName":"Benign",%s,"event\\u004eame":"StopLogging"}',
    '{"eventName":"Benign",%s,"eventName":"StopLogging","note":"\\u003a"}',
    '{"eventName":"Benign",%s,"eventName":"StopLogging","note":"\\u003A\\u003a\\\\u003a"}',
])
def test_a_duplicate_key_is_a_dead_letter_naming_the_key_not_its_values(spelling: str) -> None:
    body = orjson.dumps({k: v for k, v in CLOUDTRAIL.items() if k != "eventName"}).decode()[1:-1]
    result = normalize_message("cloudtrail", (spelling % body).encode(), META)
    assert not result.events
    assert reasons(result) == ["duplicate_key"]
    detail = result.failures[0].detail
    assert "eventName" in detail and "Benign" not in detail and "StopLogging" not in detail
    assert b"StopLogging" in result.failures[0].raw  # the record as it arrived, both values


def test_a_nested_duplicate_key_names_its_path() -> None:
    record = orjson.dumps(CLOUDTRAIL).decode().replace(
        '"arn":"arn:aws:iam::111122223333:user/alice"',
        '"arn":"arn:aws:iam::111122223333:user/alice","arn":"arn:aws:iam::111122223333:user/root"')
    result = normalize_message("cloudtrail", record.encode(), META)
    assert reasons(result) == ["duplicate_key"]
    assert "userIdentity.arn" in result.failures[0].detail
    assert "root" not in result.failures[0].detail


def test_a_duplicate_key_costs_only_its_record_in_records_arrays_and_lines() -> None:
    good = orjson.dumps(CLOUDTRAIL).decode()
    bad = duplicated(orjson.dumps({**CLOUDTRAIL, "eventID": "bad"}).decode(), "eventName", '"StopLogging"')
    result = normalize_message("cloudtrail", f'{{"Records":[{good},{bad},{good}]}}'.encode(), META)
    assert len(result.events) == 2 and reasons(result) == ["duplicate_key"]
    assert "Records[1].eventName" not in result.failures[0].detail  # the path is within the record
    assert "eventName" in result.failures[0].detail
    assert b'"StopLogging"' in result.failures[0].raw and b'"LookupEvents"' in result.failures[0].raw

    zeek = orjson.dumps(ZEEK_SSL).decode()
    lines = [zeek, duplicated(zeek, "server_name", '"evil.example"'), zeek]
    result = normalize_message("gateway", "\n".join(lines).encode(), META)
    assert len(result.events) == 2 and reasons(result) == ["duplicate_key"]
    assert "server_name" in result.failures[0].detail


def test_a_duplicate_key_in_an_envelope_is_a_dead_letter_for_the_message() -> None:
    records = orjson.dumps([CLOUDTRAIL]).decode()
    message = f'{{"Records":{records},"Records":[]}}'.encode()
    result = normalize_message("cloudtrail", message, META)
    assert not result.events and reasons(result) == ["duplicate_key"]
    assert "Records" in result.failures[0].detail


def test_colons_and_escapes_inside_values_are_not_duplicates() -> None:
    record = {**CLOUDTRAIL, "requestParameters": {"a:b": "x:y", "quote": 'say "a": b', "esc": "\\u003a"}}
    for text in (orjson.dumps(record), json.dumps(record, indent=2).encode(),
                 json.dumps(record, separators=(" , ", " : ")).encode()):
        result = normalize_message("cloudtrail", text, META)
        assert len(result.events) == 1 and not result.failures, reasons(result)


def test_a_duplicate_key_inside_embedded_json_is_a_dead_letter() -> None:
    aks = (SAMPLES / "audit" / "k8s_audit.jsonl").read_text().splitlines()[3]
    assert '\\"verb\\":\\"get\\"' in aks
    result = normalize_message("audit", aks.encode(), META)
    assert len(result.events) == 1 and result.events[0]["action"] == "get"
    forged = aks.replace('\\"verb\\":\\"get\\"', '\\"verb\\":\\"get\\",\\"verb\\":\\"delete\\"')
    result = normalize_message("audit", forged.encode(), META)
    assert reasons(result) == ["duplicate_key"]
    assert "properties.log.verb" in result.failures[0].detail


@pytest.mark.parametrize("family", ["cloudtrail", "gateway", "audit"])
def test_a_single_record_too_deep_to_write_is_a_dead_letter_like_one_in_an_array(family: str) -> None:
    deep = with_deep_value(GOOD_RECORD[family], "extra", 600)
    result = normalize_message(family, deep.encode(), META)
    assert reasons(result) == ["too_deep"] and result.failures[0].raw == deep.encode()
    line = json.dumps(GOOD_RECORD[family])
    result = normalize_message(family, f"{line}\n{deep}\n{line}".encode(), META)
    assert len(result.events) == 2 and reasons(result) == ["too_deep"]


# --- numbers past a double -------------------------------------------------------------------------
# orjson reads a number too large for a double (1e400) as an error in the whole document; Python's json
# reads it as infinity. One such number in one record must cost that record, not the message of
# thousands of other principals' records it came in (which would hide them all from the detections).

def with_number(record: dict, number: str) -> str:
    return orjson.dumps({**record, "requestParameters": {"maxResults": "__N__"}}).decode().replace('"__N__"', number)


@pytest.mark.parametrize("number", ["1e400", "-1.5E+999", "123456789012345678901234567890e300"])
@pytest.mark.parametrize("indent", [None, 2])
def test_a_number_past_a_double_costs_only_its_record(number: str, indent: int | None) -> None:
    good = [{**CLOUDTRAIL, "eventID": f"e-{index}"} for index in range(3)]
    bad = with_number({**CLOUDTRAIL, "eventID": "bad"}, number)
    text = json.dumps({"Records": [good[0], "__BAD__", good[1], good[2]]}, indent=indent).replace('"__BAD__"', bad)
    result = normalize_message("cloudtrail", text.encode(), META)
    assert [event["event_id"] for event in result.events] == ["e-0", "e-1", "e-2"]
    assert reasons(result) == ["malformed_json"] and "double" in result.failures[0].detail
    assert result.failures[0].raw.decode() == bad  # the record as it came, its number as written


def test_numbers_past_a_double_in_several_records_and_arrays() -> None:
    zeek = orjson.dumps(ZEEK_SSL).decode()
    bad = orjson.dumps({**ZEEK_SSL, "id.orig_p": "__N__"}).decode().replace('"__N__"', "9e999")
    result = normalize_message("gateway", f"[{zeek},{bad},{zeek},{bad}]".encode(), META)
    assert len(result.events) == 2 and reasons(result) == ["malformed_json", "malformed_json"]
    assert [failure.raw.decode() for failure in result.failures] == [bad, bad]


def test_a_number_past_a_double_in_a_single_record_or_an_envelope() -> None:
    result = normalize_message("cloudtrail", with_number(CLOUDTRAIL, "1e400").encode(), META)
    assert not result.events and reasons(result) == ["malformed_json"]
    records = orjson.dumps([CLOUDTRAIL]).decode()
    result = normalize_message("cloudtrail", f'{{"Records":{records},"nextToken":1e400}}'.encode(), META)
    assert [event["event_id"] for event in result.events] == ["e-1"] and not result.failures


# A lone UTF-16 surrogate escape ("\ud800") is valid JSON syntax that orjson refuses (the text it stands
# for is not Unicode), again for the whole document; Python's json reads it. A Java service writes one
# back from a request parameter that held it, so a caller can put it in a CloudTrail record.
@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff tail", "x\\uDC00", "\\ud800\\ud800"])
def test_a_lone_surrogate_costs_only_its_record(escape: str) -> None:
    good = [orjson.dumps({**CLOUDTRAIL, "eventID": f"e-{index}"}).decode() for index in range(2)]
    bad = orjson.dumps({**CLOUDTRAIL, "eventID": "bad", "userAgent": "__S__"}).decode().replace("__S__", escape)
    result = normalize_message("cloudtrail", f'{{"Records":[{good[0]},{bad},{good[1]}]}}'.encode(), META)
    assert [event["event_id"] for event in result.events] == ["e-0", "e-1"]
    assert reasons(result) == ["malformed_json"] and "surrogate" in result.failures[0].detail
    assert result.failures[0].raw.decode() == bad


def test_reading_past_a_refused_value_takes_an_unterminated_string_in_one_step() -> None:
    """After a refused value, the text is read token by token; a string that never ends must be one token
    to its end, not tried again from each escaped quote inside it (that made 16 KB cost 0.8 s, growing
    with the square of the length: a 1 MiB message would have held a normalizer for about an hour)."""
    from streams.normalize.base import StandIns

    text = '[1e400, "' + '\\"' * 2000
    stand_ins = StandIns.of(text)
    assert stand_ins.text.endswith('\\"' * 2000) and len(stand_ins.values) == 1
    from streams.normalize.base import _STRING_OR_NUMBER

    assert [token.group()[:3] for token in _STRING_OR_NUMBER.finditer(text)] == ["1e4", '"\\"']
    result = normalize_message("cloudtrail", text.encode(), META)
    assert not result.events and reasons(result) == ["malformed_json"]

"""CloudTrail family: the three delivery shapes, real recordings, and records it must refuse.

Real records: Stratus Red Team detonation logs (anonymised: regions such as ``megov-northeast-1r``,
IPs with leading zeros), the OTRF EC2-proxy exfiltration recording, panther-analysis rule tests, and
the golden samples in tests/samples/cloudtrail.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.event import (
    API_CREATE,
    API_DELETE,
    API_OTHER,
    API_READ,
    API_UPDATE,
    AUTH_LOGON,
    OCSF_API_ACTIVITY,
    OCSF_AUTHENTICATION,
    validate_event,
)
from streams.normalize import normalize_message
from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.cloudtrail import normalize, split

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"
SAMPLES = REPO / "tests" / "samples" / "cloudtrail"
STRATUS = DATASETS / "stratus-red-team-detonation-logs"
META = RecordMeta(topic="cloudtrail-raw", partition=0, offset=9)


def dataset(relative: str) -> Path:
    path = DATASETS / relative
    if not path.exists():
        pytest.fail(f"shared dataset missing: expected {path} (../shared/datasets next to the repo)")
    return path


def events_of(message: bytes | dict | list) -> list[dict]:
    payload = message if isinstance(message, bytes) else orjson.dumps(message)
    result = normalize_message("cloudtrail", payload, META)
    assert not result.failures, [(f.reason, f.detail) for f in result.failures]
    for event in result.events:
        validate_event(event)
    return result.events


def only_event(message: Any) -> dict:
    events = events_of(message)
    assert len(events) == 1
    return events[0]


def failure_of(message: bytes | dict | list) -> str:
    payload = message if isinstance(message, bytes) else orjson.dumps(message)
    result = normalize_message("cloudtrail", payload, META)
    assert not result.events
    assert len(result.failures) == 1
    return result.failures[0].reason


def fields(event: dict, *names: str) -> dict:
    return {name: event[name] for name in names}


@cache
def stratus_files() -> tuple[Path, ...]:
    dataset("stratus-red-team-detonation-logs")
    files = tuple(sorted(STRATUS.glob("aws.*.json")))
    assert len(files) == 35
    return files


def stratus(name: str) -> list[dict]:
    return json.loads(dataset(f"stratus-red-team-detonation-logs/{name}").read_text())


# --- the three shapes -----------------------------------------------------------------------------------

def test_records_file_sample():
    document = json.loads((SAMPLES / "records_stratus.json").read_text())
    records = document["Records"]
    assert len(records) == 20
    events = events_of((SAMPLES / "records_stratus.json").read_bytes())
    assert [event["event_id"] for event in events] == [record["eventID"] for record in records]
    assert [json.loads(event["raw"]) for event in events] == records  # each record is its own raw
    for event in events:
        assert (event["source_family"], event["source_format"]) == ("cloudtrail", "cloudtrail")
        assert (event["kafka_topic"], event["kafka_partition"], event["kafka_offset"]) == ("cloudtrail-raw", 0, 9)
    assert [event["action"] for event in events].count("InvokeModel") == 1


def test_eventbridge_envelope_sample():
    envelope = json.loads((SAMPLES / "eventbridge_stop_logging.json").read_text())
    event = only_event((SAMPLES / "eventbridge_stop_logging.json").read_bytes())
    assert json.loads(event["raw"]) == envelope["detail"]
    assert fields(event, "event_id", "time", "class_uid", "activity_id", "actor", "actor_type", "src_ip", "action",
                  "service", "target_host", "target_resource", "outcome", "cloud_account", "cloud_region") == {
        "event_id": "10163ed2-2253-469d-a5ee-cbc6651f8934",
        "time": 1722431184000,
        "class_uid": OCSF_API_ACTIVITY,
        "activity_id": API_UPDATE,  # "Stop"
        "actor": "arn:aws:iam::143434273843:user/christophe",
        "actor_type": "IAMUser",
        "src_ip": "86.245.153.234",
        "action": "StopLogging",
        "service": "cloudtrail.amazonaws.com",
        "target_host": "cloudtrail.apiso-centralnorth-2r.amazonaws.com",
        "target_resource": "stratus-red-team-ct-stop-trail-buykxbqejv",
        "outcome": "success",
        "cloud_account": "143434273843",
        "cloud_region": "apiso-centralnorth-2r",  # anonymised region, kept as written
    }


def test_single_event_message_keeps_its_raw_text():
    record = stratus("aws.persistence.iam-backdoor-user.json")[0]
    message = json.dumps(record, indent=3).encode()  # pretty-printed, as some shippers send
    event = only_event(message)
    assert event["raw"] == message.decode().strip()
    assert fields(event, "action", "activity_id", "target_resource") == {
        "action": "CreateAccessKey", "activity_id": API_CREATE, "target_resource": record["requestParameters"]["userName"]}


def test_json_array_and_json_lines_are_batches():
    records = stratus("aws.persistence.iam-create-admin-user.json")
    assert len(events_of(records)) == len(records)
    lines = b"\n".join(orjson.dumps(record) for record in records)
    assert [e["event_id"] for e in events_of(lines)] == [r["eventID"] for r in records]


def test_split_shapes():
    record = {"eventName": "GetObject"}
    assert split(record) == [record]
    assert split({"Records": [record, record]}) == [record, record]
    assert split({"detail-type": "AWS API Call via CloudTrail", "detail": record}) == [record]
    assert split([record]) == [record]
    with pytest.raises(NormalizeError) as error:
        split({"Records": {"eventName": "GetObject"}})
    assert error.value.reason == "wrong_type"


# --- real recordings -----------------------------------------------------------------------------------

def test_every_stratus_recording_normalizes_without_failures():
    total = 0
    for path in stratus_files():
        records = json.loads(path.read_text())
        events = events_of(path.read_bytes())
        assert len(events) == len(records), path.name
        for event in events:
            # Anonymised IPs such as 035.249.253.232 come out without the leading zeros.
            octets = event["src_ip"].split(".")
            if len(octets) == 4 and all(octet.isdigit() for octet in octets):
                assert all(octet == str(int(octet)) for octet in octets), (path.name, event["src_ip"])
            assert event["cloud_region"], path.name
        total += len(events)
    assert total == 310


def test_stratus_bedrock_invoke_model():
    events = events_of(dataset("stratus-red-team-detonation-logs/aws.impact.bedrock-invoke-model.json").read_bytes())
    invoke = [event for event in events if event["action"] == "InvokeModel"]
    assert len(invoke) == 1
    assert fields(invoke[0], "event_id", "time", "activity_id", "actor", "actor_type", "src_ip", "service",
                  "target_host", "target_resource", "cloud_account", "cloud_region", "outcome") == {
        "event_id": "51d580ea-04f5-421c-b733-b5e4ec485a6e",
        "time": 1729195884000,
        "activity_id": API_READ,
        "actor": "arn:aws:sts::494659789341:assumed-role/test-role/cli",
        "actor_type": "AssumedRole",
        "src_ip": "35.249.253.232",  # written 035.249.253.232
        "service": "bedrock.amazonaws.com",
        "target_host": "bedrock-runtime.megov-northeast-1r.amazonaws.com",
        "target_resource": "anthropic.claude-3-sonnet-20240229-v1:0",
        "cloud_account": "494659789341",
        "cloud_region": "megov-northeast-1r",
        "outcome": "success",
    }


def test_stratus_console_login_is_authentication():
    event = only_event(dataset("stratus-red-team-detonation-logs/aws.initial-access.console-login-without-mfa.json")
                       .read_bytes())
    assert fields(event, "class_uid", "activity_id", "actor", "src_ip", "target_host", "outcome") == {
        "class_uid": OCSF_AUTHENTICATION,
        "activity_id": AUTH_LOGON,
        "actor": "arn:aws:iam::562283505220:user/stratus-red-team-nmfalu-jfzdtsvchl",
        "src_ip": "225.1.0.16",  # written 225.01.00.16
        "target_host": "signin.aws.amazon.com",
        "outcome": "success",
    }


def test_otrf_ec2_proxy_recording():
    events = events_of(dataset("otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json").read_bytes())
    assert len(events) == 103
    assert len({event["event_id"] for event in events}) == 103
    # The dataset labels the stolen-role calls: an AssumedRole using the AWS CLI.
    stolen = [e for e in events if e["actor_type"] == "AssumedRole" and "aws-cli" in e["user_agent"]]
    assert len(stolen) == 11
    assert {event["action"] for event in stolen} == {"ListBuckets", "ListObjects", "GetObject"}
    assert {event["actor"] for event in stolen} == {
        "arn:aws:sts::123456789123:assumed-role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/i-0317f6c6b66ae9c40"}
    listing = next(event for event in stolen if event["action"] == "ListObjects")
    assert fields(listing, "service", "target_resource", "bytes_in", "bytes_out", "cloud_region") == {
        "service": "s3.amazonaws.com",
        "target_resource": "mordors3stack-s3bucket-llp2yingx64a",
        "bytes_in": 0,
        "bytes_out": 500,
        "cloud_region": "us-east-1",
    }


def test_panther_cloudtrail_floor_and_every_failure_is_explained():
    rows = [json.loads(line) for line in dataset("panther-analysis-tests/AWS_CloudTrail.jsonl").read_text()
            .splitlines() if line.strip()]
    normalized = 0
    for row in rows:
        log = row["log"]
        result = normalize_message("cloudtrail", orjson.dumps(log), META)
        normalized += len(result.events)
        for failure in result.failures:
            where = f"{row['test_name']!r}: {failure.reason} {failure.detail}"
            if failure.reason == "not_cloudtrail":
                assert not (log.get("eventName") and log.get("eventSource")
                            and (log.get("eventTime") or log.get("@timestamp"))), where
            elif failure.reason == "bad_time":
                assert log.get("eventTime") in ("redacted", "..."), where
            else:
                pytest.fail(where)
    assert len(rows) == 472
    assert normalized >= 437


# --- mappings ----------------------------------------------------------------------------------------------

BASE = {"eventVersion": "1.08", "eventTime": "2025-03-01T12:00:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/dana", "accountId": "111122223333"}}


@pytest.mark.parametrize(("event_name", "activity"), [
    ("CreateBucket", API_CREATE), ("RunInstances", API_CREATE), ("GetObject", API_READ),
    ("BatchGetSecretValue", API_READ), ("InvokeModel", API_READ), ("AssumeRole", API_READ),
    ("PutBucketPolicy", API_UPDATE), ("StopLogging", API_UPDATE), ("DeleteTrail", API_DELETE),
    ("LeaveOrganization", API_DELETE), ("UpdateFunctionCode20150331v2", API_UPDATE), ("SendSSHPublicKey", API_CREATE),
    ("ExecuteStatement", API_OTHER),
])
def test_activity_from_the_event_name(event_name: str, activity: int):
    assert only_event({**BASE, "eventName": event_name})["activity_id"] == activity


def test_error_code_is_a_failure_with_detail():
    event = only_event({**BASE, "errorCode": "AccessDenied", "errorMessage": "Access Denied"})
    assert fields(event, "outcome", "status_detail", "status_code") == {
        "outcome": "failure", "status_detail": "AccessDenied: Access Denied", "status_code": None}


def test_failed_console_login():
    event = only_event({**BASE, "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
                        "responseElements": {"ConsoleLogin": "Failure"}, "errorMessage": "Failed authentication"})
    assert fields(event, "class_uid", "activity_id", "outcome", "status_detail") == {
        "class_uid": OCSF_AUTHENTICATION, "activity_id": AUTH_LOGON, "outcome": "failure",
        "status_detail": "Failed authentication"}


def test_event_without_id_gets_a_stable_content_id():
    first, second = only_event(BASE), only_event(BASE)
    assert first["event_id"] == second["event_id"]
    assert first["event_id"] != only_event({**BASE, "eventName": "PutObject"})["event_id"]


def test_an_event_id_too_long_to_store_is_replaced_by_a_stable_hash_of_itself():
    # Real ids are UUIDs; a 300-character one (forged or broken) must not cost the event.
    long_id = "x" * 300
    first, second = only_event({**BASE, "eventID": long_id}), only_event({**BASE, "eventID": long_id})
    assert len(first["event_id"]) <= 256 and first["event_id"] == second["event_id"]
    assert first["event_id"] != only_event({**BASE, "eventID": "y" * 300})["event_id"]
    assert only_event({**BASE, "eventID": "e" * 256})["event_id"] == "e" * 256


def test_logstash_timestamp_is_accepted():
    record = {key: value for key, value in BASE.items() if key != "eventTime"}
    assert only_event({**record, "@timestamp": "2025-03-01T12:00:01.250Z"})["time"] == 1740830401250


# --- records it refuses --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("message", "reason"), [
    (b"", "empty"),
    (b"[]", "empty"),
    (b'{"Records": []}', "empty"),
    (b"not json at all", "malformed_json"),
    (b'{"eventName": "GetObject", ', "malformed_json"),
    (b'{"Records": {"eventName": "GetObject"}}', "wrong_type"),
    (b'{"Records": [1]}', "not_cloudtrail"),
    (b'{"detail-type": "EC2 Instance State-change Notification", "detail": "running"}', "not_cloudtrail"),
    (b'{"eventName": "GetObject", "eventSource": "s3.amazonaws.com"}', "not_cloudtrail"),
    (b'{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "get"}', "not_cloudtrail"),
])
def test_messages_that_are_not_cloudtrail(message: bytes, reason: str):
    assert failure_of(message) == reason


@pytest.mark.parametrize(("change", "reason"), [
    ({"userIdentity": "dana"}, "wrong_type"),
    ({"eventName": ["GetObject"]}, "wrong_type"),
    ({"sourceIPAddress": {"ip": "203.0.113.9"}}, "wrong_type"),
    ({"eventTime": "yesterday"}, "bad_time"),
    ({"eventTime": "2125-03-01T12:00:00Z"}, "bad_time"),
    ({"additionalEventData": {"bytesTransferredOut": "lots"}}, "wrong_type"),
])
def test_bad_fields_fail_with_a_reason(change: dict, reason: str):
    assert failure_of({**BASE, **change}) == reason


def test_normalize_raises_normalize_error_for_non_objects():
    with pytest.raises(NormalizeError) as error:
        normalize("GetObject", '"GetObject"', META)
    assert error.value.reason == "not_cloudtrail"


def test_s3_event_notification_is_not_cloudtrail():
    notification = {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2025-03-01T12:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEID"},
        "requestParameters": {"sourceIPAddress": "203.0.113.5"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "trail-delivery",
               "bucket": {"name": "org-trail-logs", "arn": "arn:aws:s3:::org-trail-logs"},
               "object": {"key": "AWSLogs/111122223333/CloudTrail/us-east-1/2025/03/01/file.json.gz", "size": 1024}},
    }]}
    assert failure_of(notification) == "not_cloudtrail"

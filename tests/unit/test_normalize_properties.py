"""Property tests: whatever bytes arrive, ``normalize_message`` never raises, accounts for the input as
events or failures, and only emits events that pass the schema. Run for every source family.

Inputs: arbitrary bytes, arbitrary text lines, arbitrary JSON values (with the field names the
normalizers look for, so detection paths are reached), and real records mutated (a field replaced,
deleted or retyped; the bytes truncated or spliced). Real records come from ../shared/datasets and
tests/samples.
"""

from __future__ import annotations

import gzip
import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.event import validate_event
from schemas.families import SOURCE_FAMILIES
from streams.normalize import FAMILIES, normalize_message
from streams.normalize.base import NormalizeError, RecordMeta

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"
GATEWAY_SAMPLES = REPO / "tests" / "samples" / "gateway"
FAMILY_NAMES = SOURCE_FAMILIES
META = RecordMeta(topic="raw", partition=0, offset=7)

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# Field names the normalizers of all families test for: random objects built from them reach the
# format-specific code instead of stopping at "unknown format".
KNOWN_KEYS = (
    # CloudTrail
    "eventName", "eventSource", "eventTime", "eventID", "userIdentity", "Records", "detail", "detail-type",
    "requestParameters", "responseElements", "sourceIPAddress", "errorCode", "awsRegion",
    # gateway
    "uid", "id.orig_h", "id.resp_h", "id.resp_p", "_path", "ts", "query", "answers", "rcode_name", "trans_id",
    "server_name", "established", "request", "response", "started_at", "client_ip", "service", "consumer",
    "headers", "start_time", "response_code", "response_flags", "bytes_sent", "authority", "path", "method",
    "requestId", "httpMethod", "requestTime", "requestTimeEpoch", "routeKey", "status", "domainName", "size",
    # audit (Kubernetes, GCP, Okta, Azure, AI providers)
    "kind", "apiVersion", "auditID", "verb", "user", "username", "objectRef", "requestReceivedTimestamp",
    "stageTimestamp", "responseStatus", "sourceIPs", "protoPayload", "logName", "timestamp", "methodName",
    "serviceName", "authenticationInfo", "principalEmail", "eventType", "published", "uuid", "actor", "outcome",
    "client", "ipAddress", "time", "operationName", "callerIpAddress", "resultType", "type", "created_at", "id",
)

json_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats()
    | st.text(max_size=40) | st.sampled_from(("", "-", "0", "200", "2024-05-01T12:00:00Z", "1700000000.5",
                                              "09/Mar/2025:10:15:32 +0000", "api.openai.com:443", "NOERROR"))
)
json_keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_keys, children, max_size=6),
    max_leaves=24,
)


def as_bytes(value: Any) -> bytes:
    # The stdlib encoder writes what orjson refuses (ints beyond 64 bits, NaN): more odd input.
    return json.dumps(value, allow_nan=True).encode()


# --- real records ------------------------------------------------------------------------------------

def dataset(relative: str) -> Path:
    path = DATASETS / relative
    if not path.exists():
        pytest.fail(f"shared dataset missing: expected {path} (../shared/datasets next to the repo)")
    return path


def json_lines(path: Path, limit: int) -> list[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        return [line.strip() for line in itertools.islice(stream, limit) if line.strip()]


@cache
def real_messages(family: str) -> tuple[bytes, ...]:
    """Real messages for one family, each a valid input for it."""
    if family == "cloudtrail":
        messages: list[bytes] = []
        for name in ("aws.impact.bedrock-invoke-model.json", "aws.persistence.iam-backdoor-user.json",
                     "aws.initial-access.console-login-without-mfa.json"):
            events = json.loads(dataset(f"stratus-red-team-detonation-logs/{name}").read_text())
            messages.extend(orjson.dumps(event) for event in events[:5])
            messages.append(orjson.dumps({"Records": events[:3]}))
        messages.extend(json_lines(dataset("otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json"),
                                   15))
        return tuple(messages)
    if family == "gateway":
        messages = [line.encode() for path in sorted(GATEWAY_SAMPLES.iterdir())
                    for line in path.read_text().splitlines() if line.strip()]
        for log in ("ssl", "dns"):
            messages.extend(json_lines(dataset(f"zed-sample-data-zeek/{log}.json.gz"), 30))
        return tuple(messages)
    if family == "audit":
        messages = []
        for log_type in ("Amazon_EKS_Audit", "GCP_AuditLog", "Okta_SystemLog", "Azure_Audit",
                         "Azure_MonitorActivity", "Anthropic_Activity", "OpenAI_Audit"):
            for line in json_lines(dataset(f"panther-analysis-tests/{log_type}.jsonl"), 8):
                messages.append(orjson.dumps(orjson.loads(line)["log"]))
        for name in ("AADAuditEvents.json", "OfficeActivityEvents.json"):
            messages.extend(json_lines(dataset(f"otrf-security-datasets/{name}"), 4))
        return tuple(messages)
    raise AssertionError(family)


def mutated(data: st.DataObject, node: Any, depth: int = 0) -> Any:
    """A copy of a JSON value with one field replaced, deleted or mutated further down."""
    if isinstance(node, (dict, list)) and node and depth < 6:
        keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys), label="key")
        action = data.draw(st.sampled_from(("descend", "replace", "delete")), label="action")
        copy: Any = dict(node) if isinstance(node, dict) else list(node)
        if action == "delete":
            del copy[key]
        elif action == "replace":
            copy[key] = data.draw(json_values, label="value")
        else:
            copy[key] = mutated(data, node[key], depth + 1)
        return copy
    return data.draw(json_values, label="leaf")


def mutated_line(data: st.DataObject, line: bytes) -> bytes:
    """A text log line with one space-separated token replaced, deleted or doubled."""
    tokens = line.split(b" ")
    at = data.draw(st.integers(min_value=0, max_value=len(tokens) - 1), label="token")
    action = data.draw(st.sampled_from(("replace", "delete", "double")), label="action")
    if action == "delete":
        del tokens[at]
    elif action == "double":
        tokens.insert(at, tokens[at])
    else:
        tokens[at] = data.draw(
            st.text(max_size=20).map(str.encode)
            | st.sampled_from((b'"', b"-", b"[", b"]", b"0", b"000", b"99999999999999999999999", b"a/b", b"")),
            label="token value",
        )
    return b" ".join(tokens)


def spliced(data: st.DataObject, message: bytes) -> bytes:
    """The bytes truncated, or with random bytes inserted or overwritten at a random place."""
    at = data.draw(st.integers(min_value=0, max_value=len(message)), label="at")
    how = data.draw(st.sampled_from(("truncate", "insert", "overwrite")), label="how")
    if how == "truncate":
        return message[:at]
    noise = data.draw(st.binary(min_size=1, max_size=8) | st.sampled_from((b'"', b" ", b"\n", b"\\", b"{", b"]")),
                      label="noise")
    return message[:at] + noise + message[at + (len(noise) if how == "overwrite" else 0):]


# --- the property ------------------------------------------------------------------------------------

def records_split_from(family: str, payload: bytes) -> int | None:
    """How many records the family's own ``split`` finds in a JSON payload (None: not one JSON document)."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    try:
        return len(FAMILIES[family].split(document))
    except NormalizeError:
        return None  # split rejects it: a failure is expected


def assert_accounted_for(family: str, payload: bytes) -> None:
    result = normalize_message(family, payload, META)  # must not raise
    if payload.strip() and records_split_from(family, payload) != 0:
        assert result.events or result.failures, f"{family}: {payload[:200]!r} left no event and no failure"
    for event in result.events:
        validate_event(event)
        assert event["source_family"] == family
    for failure in result.failures:
        assert failure.reason and isinstance(failure.raw, bytes)
    if family == "gateway":  # ours: a parser bug or an invalid event is a test failure, not a dead letter
        bugs = [(f.reason, f.detail) for f in result.failures if f.reason in ("normalizer_error", "schema_violation")]
        assert not bugs, f"{payload[:300]!r}: {bugs}"


@pytest.mark.parametrize("family", FAMILY_NAMES)
@PROPERTY_SETTINGS
@given(payload=st.binary(max_size=600))
def test_arbitrary_bytes(family: str, payload: bytes):
    assert_accounted_for(family, payload)


@pytest.mark.parametrize("family", FAMILY_NAMES)
@PROPERTY_SETTINGS
@given(lines=st.lists(st.text(max_size=200), min_size=1, max_size=4))
def test_arbitrary_text_lines(family: str, lines: list[str]):
    assert_accounted_for(family, "\n".join(lines).encode())


@pytest.mark.parametrize("family", FAMILY_NAMES)
@PROPERTY_SETTINGS
@given(value=json_values)
def test_arbitrary_json_values(family: str, value: Any):
    assert_accounted_for(family, as_bytes(value))


@pytest.mark.parametrize("family", FAMILY_NAMES)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_real_records_with_a_field_mutated(family: str, data: st.DataObject):
    message = data.draw(st.sampled_from(real_messages(family)), label="message")
    if message[:1] in (b"{", b"["):
        assert_accounted_for(family, as_bytes(mutated(data, orjson.loads(message))))
    else:  # nginx and Squid lines
        assert_accounted_for(family, mutated_line(data, message))


@pytest.mark.parametrize("family", FAMILY_NAMES)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_real_records_with_bytes_spliced(family: str, data: st.DataObject):
    message = data.draw(st.sampled_from(real_messages(family)), label="message")
    assert_accounted_for(family, spliced(data, message))


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_real_records_are_valid_input(family: str):
    """The unmutated seeds are what the family reads (the audit family may still be a placeholder)."""
    messages = real_messages(family)
    assert len(messages) >= 20
    for message in messages:
        assert_accounted_for(family, message)
    if family != "audit":
        for message in messages:
            result = normalize_message(family, message, META)
            assert result.events and not result.failures, (message[:200], result.failures[:1])


def test_the_schema_refuses_keys_it_does_not_know_and_wrong_types() -> None:
    from pydantic import ValidationError

    from schemas.event import validate_event
    from streams.detect.examples import cloudtrail

    event = cloudtrail("DeleteTrail", "cloudtrail.amazonaws.com")
    validate_event(event)
    for broken in ({**event, "prompt": "hello"}, {**event, "time": "2026-11-20"}, {**event, "outcome": "maybe"}):
        with pytest.raises(ValidationError):
            validate_event(broken)

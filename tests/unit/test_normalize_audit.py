"""Audit family: Kubernetes, GCP, Azure Activity, Entra ID and Okta records into normalized events.

Real records come from ../shared/datasets (panther-analysis rule tests, OTRF) and from the golden
samples in tests/samples/audit (copied real events plus hand-written ones, one message per line).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.event import (
    API_CREATE,
    API_DELETE,
    API_OTHER,
    API_READ,
    API_UNKNOWN,
    API_UPDATE,
    AUTH_LOGOFF,
    AUTH_LOGON,
    OCSF_API_ACTIVITY,
    OCSF_AUTHENTICATION,
    validate_event,
)
from streams.normalize import audit, normalize_message
from streams.normalize.audit import azure, entra, gcp, k8s, okta
from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.redact import default_redactor

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"
SAMPLES = REPO / "tests" / "samples" / "audit"
META = RecordMeta(topic="audit-raw", partition=2, offset=41)
FORMATS = ("k8s_audit", "gcp_audit", "azure_activity", "azure_entra", "okta")


def dataset(relative: str) -> Path:
    path = DATASETS / relative
    if not path.exists():
        pytest.fail(f"shared dataset missing: expected {path} (../shared/datasets next to the repo)")
    return path


def events_of(message: bytes | str | dict | list) -> list[dict]:
    """The events of one message, which must normalize without a single failure."""
    payload = message if isinstance(message, bytes) else (
        message.encode() if isinstance(message, str) else orjson.dumps(message))
    result = normalize_message("audit", payload, META)
    assert not result.failures, [(f.reason, f.detail) for f in result.failures]
    return result.events


def only_event(message: Any) -> dict:
    events = events_of(message)
    assert len(events) == 1
    return events[0]


def failure_of(message: Any) -> tuple[str, str]:
    payload = message if isinstance(message, bytes) else orjson.dumps(message)
    result = normalize_message("audit", payload, META)
    assert not result.events
    assert len(result.failures) == 1
    return result.failures[0].reason, result.failures[0].detail


def sample_lines(name: str) -> list[bytes]:
    return [line for line in (SAMPLES / f"{name}.jsonl").read_bytes().splitlines() if line.strip()]


def sample(name: str, needle: str) -> bytes:
    """The one line of a sample file that contains ``needle``."""
    lines = [line for line in sample_lines(name) if needle.encode() in line]
    assert len(lines) == 1, f"{needle!r} is in {len(lines)} lines of {name}.jsonl"
    return lines[0]


def fields(event: dict, *names: str) -> dict:
    return {name: event[name] for name in names}


@cache
def panther(log_type: str) -> tuple[dict, ...]:
    path = dataset(f"panther-analysis-tests/{log_type}.jsonl")
    return tuple(json.loads(line) for line in path.read_text().splitlines() if line.strip())


def panther_log(log_type: str, test_name: str) -> dict:
    matches = [row["log"] for row in panther(log_type) if row["test_name"] == test_name]
    assert matches, f"no test {test_name!r} in {log_type}"
    return matches[0]


# --- golden samples ------------------------------------------------------------------------------------

@pytest.mark.parametrize("source_format", FORMATS)
def test_every_sample_line_normalizes_into_its_format(source_format: str):
    lines = sample_lines(source_format)
    assert len(lines) >= 5
    count = 0
    for line in lines:
        for event in events_of(line):
            validate_event(event)
            assert event["source_family"] == "audit"
            assert event["source_format"] == source_format
            assert (event["kafka_topic"], event["kafka_partition"], event["kafka_offset"]) == ("audit-raw", 2, 41)
            assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
            count += 1
    assert count >= len(lines)


def test_sample_event_ids_are_unique_across_formats():
    ids = Counter(event["event_id"] for name in FORMATS for line in sample_lines(name) for event in events_of(line))
    # Two Okta copies (a successful and a failed login) share one uuid in the upstream test data.
    repeated = {event_id for event_id, count in ids.items() if count > 1}
    assert repeated == {"aac560bd-f125-11ee-9caa-cd5d09945def"}


# --- real records: how many normalize, and why the others do not ---------------------------------------

_TIME_KEYS = ("requestReceivedTimestamp", "stageTimestamp", "timestamp", "receiveTimestamp", "receivetimestamp",
              "time", "published", "p_event_time")


def _has_time(record: dict) -> bool:
    """Whether a record has a time where its format keeps one (top level, or inside an AKS envelope)."""
    if any(record.get(key) for key in _TIME_KEYS):
        return True
    properties = record.get("properties")
    if isinstance(properties, dict):
        if properties.get("createdDateTime") or properties.get("activityDateTime"):
            return True
        if isinstance(properties.get("log"), str):
            return _has_time(json.loads(properties["log"]))
    request_metadata = (record.get("protoPayload") or {}).get("requestMetadata")
    return isinstance(request_metadata, dict) and bool((request_metadata.get("requestAttributes") or {}).get("time"))


# file -> (events at least, formats its events may have)
PANTHER_FLOORS = {
    "Amazon_EKS_Audit": (23, {"k8s_audit", "gcp_audit"}),
    "GCP_AuditLog": (147, {"gcp_audit"}),
    "Azure_MonitorActivity": (214, {"azure_activity"}),
    "Azure_Audit": (47, {"azure_entra"}),
    "Okta_SystemLog": (58, {"okta"}),
}


@pytest.mark.parametrize("log_type", sorted(PANTHER_FLOORS))
def test_panther_records_normalize_and_every_failure_is_explained(log_type: str):
    floor, formats = PANTHER_FLOORS[log_type]
    normalized = 0
    for row in panther(log_type):
        result = normalize_message("audit", orjson.dumps(row["log"]), META)
        normalized += len(result.events)
        for event in result.events:
            assert event["source_format"] in formats, row["test_name"]
        for failure in result.failures:
            # The test data is hand-written and often partial: a record fails only for what it lacks.
            where = f"{log_type} {row['test_name']!r}: {failure.reason} {failure.detail}"
            if failure.reason in ("missing_time", "unknown_format"):
                assert not _has_time(row["log"]), where
            elif failure.reason == "bad_time":
                assert "redacted" in json.dumps(row["log"]), where
            elif failure.reason == "wrong_type":
                assert '"..."' in json.dumps(row["log"]), where  # values elided upstream
            else:
                pytest.fail(where)
    assert normalized >= floor, f"{log_type}: {normalized} events, expected at least {floor}"


def test_every_eks_record_that_carries_a_time_normalizes():
    """Most EKS rule tests omit every timestamp; each one that has a time must come through."""
    with_time = [row for row in panther("Amazon_EKS_Audit") if _has_time(row["log"])]
    assert len(with_time) >= 20
    for row in with_time:
        events_of(row["log"])


# --- exact mappings on hand-picked real records ---------------------------------------------------------

def test_eks_forbidden_watch_from_a_public_ip():
    event = only_event(panther_log("Amazon_EKS_Audit", "403 and Public IP"))
    assert fields(event, "event_id", "time", "class_uid", "activity_id", "actor", "actor_type", "src_ip",
                  "user_agent", "action", "service", "target_resource", "outcome", "status_code") == {
        "event_id": "e2626946-90e1-4d0c-829e-ad5a78572926:ResponseComplete",
        "time": 1669761246892,  # requestReceivedTimestamp 2022-11-29 22:34:06.892, not the later stage time
        "class_uid": OCSF_API_ACTIVITY,
        "activity_id": API_READ,
        "actor": "system:serviceaccount:kube-system:coredns",
        "actor_type": "ServiceAccount",
        "src_ip": "5.5.5.5",
        "user_agent": "Go-http-client/2.0",
        "action": "watch",
        "service": "discovery.k8s.io",
        "target_resource": "discovery.k8s.io/v1/endpointslices",
        "outcome": "failure",
        "status_code": 403,
    }
    assert event["target_url"].startswith("/apis/discovery.k8s.io/v1/endpointslices?allowWatchBookmarks=true")


def test_aks_record_is_read_through_its_envelope():
    event = only_event(panther_log("Amazon_EKS_Audit", "AKS Anonymous API Access"))
    assert fields(event, "source_format", "event_id", "time", "actor", "actor_type", "src_ip", "action",
                  "target_resource", "outcome", "status_code", "cloud_account") == {
        "source_format": "k8s_audit",
        "event_id": "abc-123:ResponseComplete",
        "time": 1710928800000,  # neither the event nor the envelope has a time: the data lake's p_event_time
        "actor": "system:anonymous",
        "actor_type": "Anonymous",
        "src_ip": "10.0.0.1",
        "action": "get",
        "target_resource": "core/v1/namespaces/default/pods/test-pod",
        "outcome": "success",
        "status_code": 200,
        "cloud_account": "xxx",  # the subscription segment of the (anonymised) resourceId
    }


def test_gcp_permission_denied_keeps_the_rpc_code_name():
    event = only_event(panther_log("GCP_AuditLog", "service-account.access-denied-should-alert"))
    assert fields(event, "event_id", "actor", "actor_type", "src_ip", "action", "service", "target_resource",
                  "outcome", "status_code", "status_detail", "cloud_account", "activity_id") == {
        "event_id": "xxxxxxxxxxxx",
        "actor": "test-no-perms@test-project-123456.iam.gserviceaccount.com",
        "actor_type": "ServiceAccount",
        "src_ip": "12.12.12.12",
        "action": "google.iam.admin.v1.CreateServiceAccount",
        "service": "iam.googleapis.com",
        "target_resource": "projects/test-project-123456",
        "outcome": "failure",
        "status_code": 403,
        "status_detail": "PERMISSION_DENIED: Permission 'iam.serviceAccounts.create' denied on resource "
                         "(or it may not exist).",
        "cloud_account": "test-project-123456",
        "activity_id": API_CREATE,
    }
    assert not event["user_agent"].endswith("gzip(gfe)")


def test_gke_audit_is_a_gcp_audit_event_with_the_kubernetes_object_path():
    event = only_event(panther_log("GCP_AuditLog", "Error Creating Pod"))
    assert fields(event, "source_format", "time", "action", "service", "target_resource", "outcome",
                  "status_code", "status_detail", "cloud_account", "cloud_region", "src_ip") == {
        "source_format": "gcp_audit",
        "time": 1707830004079,
        "action": "io.k8s.core.v1.pods.create",
        "service": "k8s.io",
        "target_resource": "core/v1/namespaces/default/pods/test-privileged-pod",
        "outcome": "failure",
        "status_code": 409,
        "status_detail": 'ABORTED: pods "test-privileged-pod" already exists',
        "cloud_account": "some-project",
        "cloud_region": "us-west1",
        "src_ip": "1.2.3.4",  # written "callerIP" by this exporter, "callerIp" by Google
    }


def test_azure_activity_identity_claims_and_rest_style_operation_name():
    event = only_event(panther_log("Azure_MonitorActivity", "Elevate Access to All Azure Subscriptions"))
    assert fields(event, "event_id", "time", "actor", "actor_type", "src_ip", "action", "service",
                  "target_resource", "outcome", "activity_id") == {
        "event_id": "a1b2c3d4-e5f6-7890-1234-567890abcdef:Microsoft.Authorization/elevateAccess/action:Success:"
                    "1735055100000",
        "time": 1735055100000,
        "actor": "attacker@example.com",
        "actor_type": "User",
        "src_ip": "203.0.113.42",
        "action": "Microsoft.Authorization/elevateAccess/action",
        "service": "Microsoft.Authorization",
        "target_resource": "/providers/Microsoft.Authorization",
        "outcome": "success",
        "activity_id": API_OTHER,
    }


def test_azure_storage_resource_log_failure():
    event = only_event(panther_log("Azure_MonitorActivity", "CPK Encrypted Blob Access Denied"))
    assert fields(event, "actor_type", "src_ip", "user_agent", "action", "service", "activity_id", "outcome",
                  "status_code", "status_detail", "cloud_account", "cloud_region") == {
        "actor_type": "SAS",
        "src_ip": "1.1.1.1",  # callerIpAddress "1.1.1.1:57485": the port is dropped
        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/7.7.7.7 Safari/537.36",
        "action": "GetBlobMetadata",
        "service": "Microsoft.Storage",
        "activity_id": API_READ,
        "outcome": "failure",
        "status_code": 409,
        "status_detail": "BlobUsesCustomerSpecifiedEncryption",
        "cloud_account": "12345678-1234-1234-1234-123456789abc",
        "cloud_region": "westus2",
    }


def test_entra_sign_in_lockout():
    event = only_event(panther_log("Azure_Audit", "Account Lockout Error 50053"))
    assert fields(event, "source_format", "class_uid", "activity_id", "actor", "actor_type", "src_ip",
                  "user_agent", "service", "target_resource", "outcome", "status_code") == {
        "source_format": "azure_entra",
        "class_uid": OCSF_AUTHENTICATION,
        "activity_id": AUTH_LOGON,
        "actor": "boromir@lotr.com",
        "actor_type": "User",
        "src_ip": "4.4.4.4",
        "user_agent": "python-requests/2.28.0",
        "service": "Microsoft Office",
        "target_resource": "Microsoft Graph",
        "outcome": "failure",
        "status_code": None,  # AADSTS codes are not HTTP statuses
    }
    assert event["status_detail"].startswith("50053: The account is locked")


def test_lower_cased_data_lake_columns_are_read():
    # Top-level columns lower-cased by the exporting data lake: calleripaddress, correlationid, ...
    event = only_event(panther_log("Azure_Audit", "Failed Sign-In with riskLevelAggregated"))
    assert fields(event, "event_id", "time", "actor", "actor_type", "src_ip", "action", "target_resource",
                  "outcome", "status_detail") == {
        "event_id": "36658c78-02d9-4d8f-84ee-5ca4a3fdefef",
        "time": 1690412310983,  # properties.createdDateTime, the sign-in itself
        "actor": "some-service-principal",
        "actor_type": "ServicePrincipal",
        "src_ip": "12.12.12.12",
        "action": "ServicePrincipalSignInLogs",
        "target_resource": "Azure Storage",
        "outcome": "failure",
        "status_detail": "7000215",
    }
    okta_event = only_event(panther_log("Okta_SystemLog", "Org2Org created"))  # "eventtype", "displaymessage"
    assert fields(okta_event, "source_format", "action", "activity_id", "outcome", "status_detail",
                  "target_resource") == {
        "source_format": "okta",
        "action": "application.lifecycle.create",
        "activity_id": API_CREATE,
        "outcome": "unknown",
        "status_detail": "CHALLENGE: Sign-on policy evaluation resulted in CHALLENGE",
        "target_resource": "Random Org2Org",
    }


def test_okta_threat_detected_from_an_unknown_actor():
    event = only_event(panther_log("Okta_SystemLog", "Threat Detected Event - Deny"))
    assert fields(event, "event_id", "time", "class_uid", "actor", "actor_type", "src_ip", "action", "service",
                  "outcome", "status_detail") == {
        "event_id": "asdfa-1234-asdfdas",
        "time": 1671045392015,
        "class_uid": OCSF_API_ACTIVITY,
        "actor": "1.2.3.4",  # alternateId "unknown" is skipped for the id
        "actor_type": "IP address",
        "src_ip": "1.2.3.4",
        "action": "security.threat.detected",
        "service": "okta",
        "outcome": "failure",
        "status_detail": "DENY: Password Spray, Login failures with high unknown users count, Login Failures",
    }


def test_okta_failed_login_is_an_authentication_event():
    event = only_event(panther_log("Okta_SystemLog", "Failed Login"))
    assert fields(event, "class_uid", "activity_id", "actor", "src_ip", "outcome", "status_detail") == {
        "class_uid": OCSF_AUTHENTICATION,
        "activity_id": AUTH_LOGON,
        "actor": "casey.hill@hey.com",
        "src_ip": "99.108.5.25",
        "outcome": "failure",
        "status_detail": "FAILURE",
    }


# --- OTRF: Entra ID audit rows from Log Analytics -------------------------------------------------------

def test_otrf_entra_audit_rows():
    events = events_of(dataset("otrf-security-datasets/AADAuditEvents.json").read_bytes())
    assert len(events) == 4
    assert {event["source_format"] for event in events} == {"azure_entra"}
    grant = [event for event in events if event["action"] == "Add delegated permission grant"]
    assert len(grant) == 1
    assert fields(grant[0], "event_id", "time", "class_uid", "activity_id", "actor", "actor_type", "user_agent",
                  "service", "target_resource", "outcome") == {
        "event_id": "Directory_630d7f0c-acc4-4596-85ab-7e5d839b4291_9VRQI_37762000",
        "time": 1627910840017,
        "class_uid": OCSF_API_ACTIVITY,
        "activity_id": API_CREATE,  # AADOperationType "Assign"
        "actor": "pgustavo@simulandlabs.com",  # from the InitiatedBy column, JSON text in Log Analytics
        "actor_type": "User",
        "user_agent": "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.17763.1971",
        "service": "Core Directory",
        "target_resource": "Microsoft Graph",
        "outcome": "success",
    }
    assert {event["action"] for event in events} == {
        "Update application – Certificates and secrets management",  # trailing blank trimmed
        "Update application",
        "Add delegated permission grant",
    }


def test_otrf_office_activity_is_not_an_audit_format():
    reason, _ = failure_of(dataset("otrf-security-datasets/OfficeActivityEvents.json").read_bytes())
    assert reason == "unknown_format"


# --- Kubernetes: behaviour of the hand-written samples --------------------------------------------------

def test_secret_values_are_masked_in_raw():
    line = sample("k8s_audit", "openai-credentials")
    secret_value = "c2stcHJvai1kZW1vLW5vdC1hLXJlYWwta2V5"
    assert base64.b64decode(secret_value) == b"sk-proj-demo-not-a-real-key"
    event = only_event(line)
    assert secret_value not in event["raw"]
    assert "last-applied-configuration" in event["raw"]
    assert '\\"data\\"' not in event["raw"]  # kubectl's copy of the whole Secret is masked too
    assert f"[REDACTED:k8s_secret:fp={default_redactor().fingerprint(secret_value)}]" in event["raw"]
    raw = json.loads(event["raw"])
    assert raw["requestObject"]["metadata"]["name"] == "openai-credentials"  # the rest stays
    assert raw["responseObject"]["metadata"]["uid"] == "0f5e9d6c-7b8a-4c3d-9e2f-1a0b9c8d7e6f"
    assert fields(event, "actor", "action", "target_resource", "status_code", "activity_id") == {
        "actor": "alice@example.com",
        "action": "create",
        "target_resource": "core/v1/namespaces/ml-serving/secrets/openai-credentials",
        "status_code": 201,
        "activity_id": API_CREATE,
    }


def test_the_authenticated_user_is_the_actor_when_impersonating():
    event = only_event(sample("k8s_audit", "impersonatedUser"))
    assert fields(event, "actor", "actor_type", "target_resource", "status_code", "outcome") == {
        "actor": "system:serviceaccount:ci:deployer",
        "actor_type": "ServiceAccount",
        "target_resource": "core/v1/namespaces/ml-serving/pods/vllm-0/exec",
        "status_code": 101,
        "outcome": "success",
    }
    assert "bob@example.com" in event["raw"]


def test_forbidden_request_detail():
    event = only_event(sample("k8s_audit", "clusterrolebindings"))
    assert event["outcome"] == "failure"
    assert event["status_code"] == 403
    assert event["status_detail"].startswith("Forbidden: clusterrolebindings.rbac.authorization.k8s.io is forbidden")
    assert event["service"] == "rbac.authorization.k8s.io"


def test_event_list_stages_are_separate_events():
    received, complete = events_of(sample("k8s_audit", "EventList"))
    assert received["event_id"] == "7e0d3b2a-1c9f-4a8e-b6d5-4f3e2d1c0b9a:RequestReceived"
    assert complete["event_id"] == "7e0d3b2a-1c9f-4a8e-b6d5-4f3e2d1c0b9a:ResponseComplete"
    assert (received["outcome"], received["status_code"]) == ("unknown", None)
    assert (complete["outcome"], complete["status_code"]) == ("success", 200)
    assert received["activity_id"] == complete["activity_id"] == API_UPDATE  # patch
    assert complete["target_resource"] == "apps/v1/namespaces/ml-serving/deployments/vllm"


def test_cloudwatch_subscription_message_carries_the_account():
    events = events_of(sample("k8s_audit", "DATA_MESSAGE"))
    assert [(event["action"], event["cloud_account"], event["time"]) for event in events] == [
        ("list", "111122223333", 1741142469814),
        ("watch", "111122223333", 1741142470002),
    ]
    assert events[0]["actor"] == "arn:aws:sts::111122223333:assumed-role/ml-ops/i-0abc123def4567890"
    assert json.loads(events[0]["raw"])["logStream"].startswith("kube-apiserver-audit-")


def test_cloudwatch_control_message_holds_no_events():
    reason, _ = failure_of({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
                            "logStream": "", "subscriptionFilters": [], "logEvents": [
                                {"id": "", "timestamp": 1741142469820, "message": "CWL CONTROL MESSAGE: Checking"}]})
    assert reason == "empty"


def test_cloudwatch_events_of_other_streams_are_not_kubernetes():
    message = {"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "/aws/eks/ml-prod/cluster",
               "logStream": "authenticator-4f8c2a9d", "logEvents": [
                   {"id": "1", "timestamp": 1741142469820, "message": "time=\"2025-03-05T02:41:09Z\" level=info"}]}
    assert failure_of(message)[0] == "unknown_format"


def test_aks_envelope_hand_written():
    event = only_event(sample("k8s_audit", "kube-audit"))
    assert fields(event, "cloud_account", "time", "actor", "target_resource", "src_ip") == {
        "cloud_account": "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",  # from the upper-case resourceId, lower-cased
        "time": 1741525665318,  # the event's own requestReceivedTimestamp, not the envelope's rounded time
        "actor": "masterclient",
        "target_resource": "core/v1/namespaces/inference/secrets/azure-openai-key",
        "src_ip": "20.81.44.12",
    }


def test_aks_envelope_with_broken_log_text():
    record = json.loads(sample("k8s_audit", "kube-audit"))
    record["properties"]["log"] = '{"kind":"Event","verb":'
    assert failure_of(record)[0] == "malformed_json"
    record["properties"]["log"] = '{"level":"info","msg":"not an audit event"}'
    assert failure_of(record)[0] == "unknown_format"


@pytest.mark.parametrize(("verb", "activity"), [
    ("create", API_CREATE), ("get", API_READ), ("list", API_READ), ("watch", API_READ), ("update", API_UPDATE),
    ("patch", API_UPDATE), ("delete", API_DELETE), ("deletecollection", API_DELETE), ("impersonate", API_OTHER),
    ("", API_UNKNOWN),
])
def test_kubernetes_verbs(verb: str, activity: int):
    record = json.loads(sample("k8s_audit", "EventList"))["items"][1]
    record["verb"] = verb
    assert only_event(record)["activity_id"] == activity


# --- GCP ---------------------------------------------------------------------------------------------------

def test_vertex_ai_generate_content_reads_the_model():
    event = only_event(sample("gcp_audit", "GenerateContent"))
    assert fields(event, "event_id", "time", "activity_id", "actor", "actor_type", "src_ip", "user_agent", "action",
                  "service", "target_resource", "outcome", "status_code", "cloud_account", "cloud_region") == {
        "event_id": "1x7k2mfe3c9wq",
        "time": 1741270831760,
        "activity_id": API_READ,
        "actor": "rag-worker@ml-prod-4821.iam.gserviceaccount.com",
        "actor_type": "ServiceAccount",
        "src_ip": "34.118.42.9",
        "user_agent": "google-cloud-aiplatform/1.71.1 vertexai/1.71.1 gl-python/3.11.9 grpc/1.66.2 gax/2.21.0",
        "action": "google.cloud.aiplatform.v1.PredictionService.GenerateContent",
        "service": "aiplatform.googleapis.com",
        "target_resource": "projects/ml-prod-4821/locations/us-central1/publishers/google/models/gemini-1.5-pro-002",
        "outcome": "success",
        "status_code": None,
        "cloud_account": "ml-prod-4821",
        "cloud_region": "us-central1",  # resourceLocation: the labels of "audited_resource" have none
    }


@pytest.mark.parametrize(("method", "activity"), [
    ("v1.compute.instances.insert", API_CREATE),
    ("google.iam.admin.v1.CreateServiceAccountKey", API_CREATE),
    ("storage.objects.get", API_READ),
    ("v1.compute.instances.aggregatedList", API_READ),
    ("google.cloud.aiplatform.v1.PredictionService.Predict", API_READ),
    ("google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion", API_READ),
    ("SetIamPolicy", API_UPDATE),
    ("beta.compute.instances.setMetadata", API_UPDATE),
    ("io.k8s.core.v1.pods.delete", API_DELETE),
    ("google.cloud.kms.v1.KeyManagementService.Encrypt", API_OTHER),
])
def test_gcp_method_verbs(method: str, activity: int):
    record = json.loads(sample("gcp_audit", "GenerateContent"))
    record["protoPayload"]["methodName"] = method
    assert only_event(record)["activity_id"] == activity


def test_gcp_zone_label_becomes_a_region():
    event = only_event(sample("gcp_audit", "v1.compute.instances.insert"))
    assert (event["cloud_region"], event["target_resource"]) == (
        "us-central1", "projects/some-project/zones/us-central1-f/instances/abc")


def test_gcp_project_from_log_name_when_the_resource_has_no_labels():
    record = json.loads(sample("gcp_audit", "SetIamPolicy"))
    del record["resource"]
    assert only_event(record)["cloud_account"] == "ml-prod-4821"


def test_gcp_payload_of_another_type_is_not_audit():
    record = json.loads(sample("gcp_audit", "GenerateContent"))
    record["protoPayload"]["@type"] = "type.googleapis.com/google.appengine.logging.v1.RequestLog"
    assert failure_of(record)[0] == "unknown_format"


# --- Azure Activity ----------------------------------------------------------------------------------------

def test_azure_rest_shape():
    event = only_event(sample("azure_activity", "eventDataId"))
    assert fields(event, "event_id", "time", "actor", "actor_type", "src_ip", "action", "service", "activity_id",
                  "outcome", "status_code", "cloud_account", "target_resource") == {
        "event_id": "a3b4c5d6-e7f8-4a9b-8c0d-1e2f3a4b5c6d",
        "time": 1741335164552,  # eventTimestamp, not the later submissionTimestamp
        "actor": "dana@contoso.com",
        "actor_type": "User",
        "src_ip": "203.0.113.77",
        "action": "Microsoft.CognitiveServices/accounts/listKeys/action",
        "service": "Microsoft.CognitiveServices",
        "activity_id": API_OTHER,
        "outcome": "success",
        "status_code": 200,  # subStatus "OK"
        "cloud_account": "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "target_resource": "/subscriptions/5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f/resourceGroups/ai-rg/providers/"
                           "Microsoft.CognitiveServices/accounts/contoso-openai",
    }


def test_azure_event_hub_records_wrapper():
    start, success, failed = events_of(sample("azure_activity", '"records"'))
    assert start["event_id"] != success["event_id"]  # one correlation id, two records
    assert [(e["outcome"], e["status_code"]) for e in (start, success, failed)] == [
        ("unknown", None), ("success", 201), ("failure", 403)]
    assert start["activity_id"] == success["activity_id"] == API_UPDATE  # ARM ".../write"
    assert success["cloud_account"] == "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
    assert success["cloud_region"] == ""  # "global" is not a region
    assert json.loads(success["raw"])["resultSignature"] == "Succeeded.Created"  # each record is its own raw
    assert fields(failed, "actor", "actor_type", "status_detail") == {
        "actor": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",  # an app: its object id
        "actor_type": "ServicePrincipal",
        "status_detail": "Failed.Forbidden: AuthorizationFailed: The client '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d' "
                         "does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/"
                         "write'.",
    }


def test_azure_records_wrapper_must_hold_a_list():
    assert failure_of({"records": {"time": "2025-03-07T08:20:03Z"}})[0] == "wrong_type"


# --- Entra ID ----------------------------------------------------------------------------------------------

def test_graph_sign_in_failure():
    event = only_event(sample("azure_entra", "66ea54eb-6301-4ee5-be62-ff5a759b0100"))
    assert fields(event, "event_id", "time", "class_uid", "actor", "src_ip", "service", "target_resource",
                  "outcome", "status_detail") == {
        "event_id": "66ea54eb-6301-4ee5-be62-ff5a759b0100",
        "time": 1741419102000,
        "class_uid": OCSF_AUTHENTICATION,
        "actor": "dana@contoso.com",
        "src_ip": "192.0.2.14",
        "service": "Graph Explorer",
        "target_resource": "Microsoft Graph",
        "outcome": "failure",
        "status_detail": "50126: Error validating credentials due to invalid username or password.",
    }


def test_graph_directory_audit_consent_blocked():
    event = only_event(sample("azure_entra", "Consent to application"))
    assert fields(event, "class_uid", "activity_id", "actor", "src_ip", "user_agent", "target_resource",
                  "outcome", "status_detail") == {
        "class_uid": OCSF_API_ACTIVITY,
        "activity_id": API_CREATE,
        "actor": "dana@contoso.com",
        "src_ip": "192.0.2.14",
        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                      "Version/18.2 Safari/605.1.15",
        "target_resource": "ChatGPT Enterprise Connector",
        "outcome": "failure",
        "status_detail": "failure: Microsoft.Online.Security.UserConsentBlockedForRiskyAppsException",
    }


def test_service_principal_sign_in_to_azure_openai():
    event = only_event(sample("azure_entra", "rag-indexer"))
    assert fields(event, "actor", "actor_type", "target_resource", "outcome", "time") == {
        "actor": "rag-indexer",
        "actor_type": "ServicePrincipal",
        "target_resource": "Azure OpenAI",
        "outcome": "success",
        "time": 1741428831641,  # createdDateTime with a +00:00 offset
    }


# --- Okta --------------------------------------------------------------------------------------------------

def test_okta_eventbridge_envelope_and_unknown_target_id():
    event = only_event(sample("okta", "aws.partner/okta.com"))
    assert fields(event, "event_id", "class_uid", "activity_id", "actor", "src_ip", "target_resource",
                  "outcome") == {
        "event_id": "4f6a2b1c-fc39-11ef-9a2e-8b1d2c3e4f50",
        "class_uid": OCSF_AUTHENTICATION,
        "activity_id": AUTH_LOGON,
        "actor": "dana@contoso.com",
        "src_ip": "192.0.2.14",
        "target_resource": "Password",  # alternateId "unknown": the display name instead
        "outcome": "success",
    }
    assert "detail-type" not in event["raw"]


def test_okta_api_page_array():
    created, mfa = events_of(sample("okta", "user.lifecycle.create"))
    assert fields(created, "class_uid", "activity_id", "actor", "target_resource", "user_agent") == {
        "class_uid": OCSF_API_ACTIVITY,
        "activity_id": API_CREATE,
        "actor": "it-admin@contoso.com",
        "target_resource": "new.hire@contoso.com",
        "user_agent": "okta-sdk-python/2.9.2 python/3.11.9 Linux/6.1.0",
    }
    assert fields(mfa, "class_uid", "outcome", "status_detail") == {
        "class_uid": OCSF_AUTHENTICATION, "outcome": "failure", "status_detail": "FAILURE: INVALID_CREDENTIALS"}


@pytest.mark.parametrize(("event_type", "class_uid", "activity"), [
    ("user.session.start", OCSF_AUTHENTICATION, AUTH_LOGON),
    ("user.session.end", OCSF_AUTHENTICATION, AUTH_LOGOFF),
    ("user.authentication.sso", OCSF_AUTHENTICATION, AUTH_LOGON),
    ("user.session.impersonation.grant", OCSF_API_ACTIVITY, API_UPDATE),
    ("user.session.clear", OCSF_API_ACTIVITY, API_DELETE),
    ("group.user_membership.add", OCSF_API_ACTIVITY, API_CREATE),
    ("user.lifecycle.delete.initiated", OCSF_API_ACTIVITY, API_OTHER),
    ("system.api_token.revoke", OCSF_API_ACTIVITY, API_UPDATE),
])
def test_okta_event_types(event_type: str, class_uid: int, activity: int):
    record = json.loads(sample("okta", "aws.partner/okta.com"))["detail"]
    record["eventType"] = event_type
    event = only_event(record)
    assert (event["class_uid"], event["activity_id"]) == (class_uid, activity)


# --- negative cases ----------------------------------------------------------------------------------------

CLOUDTRAIL_EVENT = {"eventVersion": "1.08", "eventTime": "2024-07-31T13:06:24Z", "eventSource": "s3.amazonaws.com",
                    "eventName": "GetObject", "eventID": "10163ed2-2253-469d-a5ee-cbc6651f8934"}
CORE_V1_EVENT = {"kind": "Event", "apiVersion": "v1", "metadata": {"name": "vllm-0.17f", "namespace": "ml-serving"},
                 "involvedObject": {"kind": "Pod", "name": "vllm-0"}, "reason": "BackOff",
                 "message": "Back-off restarting failed container", "lastTimestamp": "2025-03-04T09:15:22Z"}


@pytest.mark.parametrize(("message", "reason"), [
    (b"[42]", "unknown_format"),
    (b'[["kind", "Event"]]', "unknown_format"),
    (b"42", "malformed_json"),  # the family reads JSON objects only
    (b"{}", "unknown_format"),
    (b'{"foo": 1, "bar": [2]}', "unknown_format"),
    (orjson.dumps(CLOUDTRAIL_EVENT), "unknown_format"),
    (orjson.dumps(CORE_V1_EVENT), "unknown_format"),
    (b"2025-03-04T09:15:22Z INFO audit: verb=get user=alice", "malformed_json"),
    (b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get"', "malformed_json"),
    (b'{"records": "none"}', "wrong_type"),
    (b'{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": {}}', "wrong_type"),
    (b"", "empty"),
    (b"[]", "empty"),
])
def test_messages_that_are_not_audit_records(message: bytes, reason: str):
    assert failure_of(message)[0] == reason


def _broken(name: str, needle: str, path: tuple[str | int, ...], value: Any) -> dict:
    record = json.loads(sample(name, needle))
    node = record
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return record


_DELETE = object()


@pytest.mark.parametrize(("name", "needle", "path", "value", "reason"), [
    ("k8s_audit", "clusterrolebindings", ("user",), "alice", "wrong_type"),
    ("k8s_audit", "clusterrolebindings", ("objectRef",), ["pods"], "wrong_type"),
    ("k8s_audit", "clusterrolebindings", ("requestReceivedTimestamp",), "yesterday", "bad_time"),
    ("k8s_audit", "clusterrolebindings", ("verb",), {"name": "get"}, "wrong_type"),
    ("gcp_audit", "SetIamPolicy", ("protoPayload", "status"), "denied", "wrong_type"),
    ("gcp_audit", "SetIamPolicy", ("protoPayload", "status", "code"), "seven", "wrong_type"),
    ("gcp_audit", "SetIamPolicy", ("timestamp",), _DELETE, None),  # receiveTimestamp still there
    ("azure_activity", "eventDataId", ("eventTimestamp",), _DELETE, "missing_time"),
    ("azure_activity", "eventDataId", ("claims",), "dana", "wrong_type"),
    ("azure_entra", "Consent to application", ("targetResources",), 42, "wrong_type"),
    ("azure_entra", "Consent to application", ("targetResources",), "ChatGPT", "malformed_json"),  # JSON text?
    ("azure_entra", "Consent to application", ("initiatedBy",), "{not json", "malformed_json"),
    ("okta", "aws.partner/okta.com", ("detail", "target"), "Password", "wrong_type"),
    ("okta", "aws.partner/okta.com", ("detail", "published"), "3 minutes ago", "bad_time"),
    ("okta", "aws.partner/okta.com", ("detail", "published"), "2125-01-01T00:00:00Z", "bad_time"),
])
def test_bad_fields_fail_with_a_reason(name, needle, path, value, reason):
    record = _broken(name, needle, path, value)
    if name == "azure_activity" and path == ("eventTimestamp",):
        del record["submissionTimestamp"]
    if reason is None:
        only_event(record)
        return
    assert failure_of(record)[0] == reason


def test_family_normalize_raises_normalize_error_only():
    with pytest.raises(NormalizeError) as error:
        audit.normalize(["not", "an", "object"], "[]", META)
    assert error.value.reason == "unknown_format"
    with pytest.raises(NormalizeError) as error:
        audit.normalize({"eventType": "user.session.start", "published": None, "uuid": "x"}, "{}", META)
    assert error.value.reason == "missing_time"


def test_format_modules_share_one_contract():
    assert audit.FORMATS == ("k8s_audit", "gcp_audit", "azure_entra", "azure_activity", "okta")
    assert audit.ACCEPTS_TEXT is False
    for module, name in ((k8s, "k8s_audit"), (gcp, "gcp_audit"), (azure, "azure_activity"),
                         (entra, "azure_entra"), (okta, "okta")):
        assert module.FORMAT == name
        assert callable(module.detect) and callable(module.normalize)


def test_each_sample_is_claimed_first_by_its_own_format():
    for name in FORMATS:
        for line in sample_lines(name):
            for record in audit.split(orjson.loads(line)):
                record = {audit._CANONICAL_BY_LOWER.get(k, k): v for k, v in record.items()}
                claims = [m.FORMAT for m in (k8s, gcp, entra, azure, okta) if m.detect(record)]
                # AKS and Entra records use the Azure envelope too; the family asks k8s and entra first.
                assert claims[0] == name and set(claims[1:]) <= {"azure_activity"}, (name, claims)


# --- robustness: mutated real records never crash a parser ---------------------------------------------

_ALL_SAMPLES = tuple(orjson.loads(line) for name in FORMATS for line in sample_lines(name))
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**66), max_value=2**66) | st.text(max_size=12)
    | st.sampled_from(("", "-", "0", "1e400", "NaN", "2024-05-01T12:00:00Z", "{", "[1]", "unknown")),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _mutate(data: st.DataObject, node: Any, depth: int = 0) -> Any:
    if isinstance(node, (dict, list)) and node and depth < 5:
        keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        action = data.draw(st.sampled_from(("descend", "replace", "delete")))
        copy: Any = dict(node) if isinstance(node, dict) else list(node)
        if action == "delete":
            del copy[key]
        elif action == "replace":
            copy[key] = data.draw(_json_values)
        else:
            copy[key] = _mutate(data, node[key], depth + 1)
        return copy
    return data.draw(_json_values)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_samples_become_events_or_reasoned_failures(data: st.DataObject):
    record = _mutate(data, data.draw(st.sampled_from(_ALL_SAMPLES)))
    result = normalize_message("audit", json.dumps(record).encode(), META)
    for event in result.events:
        validate_event(event)
    bugs = [(f.reason, f.detail) for f in result.failures if f.reason in ("normalizer_error", "schema_violation")]
    assert not bugs, (record, bugs)

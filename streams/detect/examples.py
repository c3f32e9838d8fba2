"""Build example events for rules: name only the fields that matter, the rest gets plausible defaults.

Each builder writes a raw record (a CloudTrail record, a GCP audit log entry, an Azure Activity log
record) and runs it through the real normalizer (``streams.normalize.normalize_message``), so examples
test rules on exactly what the stream would hand them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streams.normalize import normalize_message

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
GCP_PROJECT = "acme-ml-prod"
GCP_PROJECT_NUMBER = "731402987654"
AZURE_SUBSCRIPTION = "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
BASE_TIME = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)

__all__ = [
    "ACCOUNT", "AZURE_SUBSCRIPTION", "GCP_PROJECT", "GCP_PROJECT_NUMBER", "OTHER_ACCOUNT", "assumed_role",
    "aws_service", "azure_activity", "cloudtrail", "gcp_audit", "iam_user", "normalize_audit_record",
    "normalize_record", "root",
]


def iam_user(name: str = "alice", key: str = "AKIAEXAMPLEALICE0001", account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "type": "IAMUser", "principalId": "AIDAEXAMPLE" + name.upper()[:8], "userName": name,
        "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account, "accessKeyId": key,
    }


def assumed_role(role: str = "ml-platform", session: str = "worker", key: str = "ASIAEXAMPLESESSION01",
                 account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "type": "AssumedRole", "principalId": f"AROAEXAMPLE{role.upper()[:6]}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}", "accountId": account,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": f"AROAEXAMPLE{role.upper()[:6]}",
                              "arn": f"arn:aws:iam::{account}:role/{role}", "accountId": account,
                              "userName": role},
            "attributes": {"creationDate": "2025-03-04T09:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def root(account: str = ACCOUNT, key: str = "AKIAEXAMPLEROOTKEY01") -> dict[str, Any]:
    return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
            "accountId": account, "accessKeyId": key}


def aws_service(service: str = "bedrock.amazonaws.com") -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": service}


def cloudtrail(
    event_name: str,
    source: str = "bedrock.amazonaws.com",
    *,
    identity: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error: str = "",
    at: float = 0,
    region: str = "us-east-1",
    source_ip: str = "203.0.113.10",
    additional: dict[str, Any] | None = None,
    **fields: Any,
) -> dict:
    """A normalized event from a CloudTrail record with these fields; ``at`` is seconds after BASE_TIME.

    ``fields`` adds or overrides top-level record keys (e.g. ``sessionCredentialFromConsole="true"``).
    """
    identity = identity if identity is not None else assumed_role()
    record: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": identity,
        "eventTime": (BASE_TIME + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
        "requestParameters": params,
        "responseElements": response,
        "requestID": "00000000-0000-4000-8000-000000000000",
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "readOnly": event_name.startswith(("Get", "List", "Describe")),
        "recipientAccountId": identity.get("accountId") or ACCOUNT,
        "eventCategory": "Management",
    }
    if error:
        record["errorCode"] = error
        record["errorMessage"] = f"{error} (example)"
    if additional is not None:
        record["additionalEventData"] = additional
    record.update(fields)
    record["eventID"] = str(uuid.uuid5(uuid.NAMESPACE_URL, orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()))
    return normalize_record(record)


def normalize_record(record: dict[str, Any]) -> dict:
    """One raw CloudTrail record -> its normalized event; raises ValueError if it does not normalize."""
    result = normalize_message("cloudtrail", orjson.dumps(record))
    if result.failures or len(result.events) != 1:
        reasons = [f"{failure.reason}: {failure.detail}" for failure in result.failures]
        raise ValueError(f"record did not normalize to one event: {reasons}")
    return result.events[0]


def gcp_audit(
    method: str,
    *,
    service: str = "aiplatform.googleapis.com",
    resource_name: str = "",
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    principal: str = "ml-eng@acme.example",
    error_code: int = 0,
    at: float = 0,
    project: str = GCP_PROJECT,
) -> dict:
    """A normalized event from a GCP Admin Activity audit log entry; ``at`` is seconds after BASE_TIME.

    Shaped as Cloud Logging writes it: the ``AuditLog`` in ``protoPayload`` with the call's ``request``
    and ``response`` (for a long-running operation, the ``google.longrunning.Operation``), the
    ``audited_resource`` it names, ``status`` only when the call failed (a ``google.rpc.Code``).
    """
    stamp = (BASE_TIME + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
    payload: dict[str, Any] = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "status": {"code": error_code, "message": "PERMISSION_DENIED"} if error_code else {},
        "authenticationInfo": {"principalEmail": principal},
        "requestMetadata": {"callerIp": "198.51.100.24",
                            "callerSuppliedUserAgent": "google-cloud-sdk gcloud/502.0.0 command/gcloud.ai,gzip(gfe)",
                            "requestAttributes": {"time": stamp, "auth": {}}, "destinationAttributes": {}},
        "serviceName": service,
        "methodName": method,
        "authorizationInfo": [{"resource": resource_name, "permission": "aiplatform.example.permission",
                               "granted": not error_code, "resourceAttributes": {}}],
        "resourceName": resource_name,
    }
    if request is not None:
        payload["request"] = request
    if response is not None:
        payload["response"] = response
    entry = {
        "protoPayload": payload,
        "resource": {"type": "audited_resource",
                     "labels": {"service": service, "method": method, "project_id": project}},
        "timestamp": stamp,
        "severity": "ERROR" if error_code else "NOTICE",
        "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity",
        "receiveTimestamp": stamp,
    }
    entry["insertId"] = uuid.uuid5(uuid.NAMESPACE_URL, orjson.dumps(entry, option=orjson.OPT_SORT_KEYS).decode()).hex[:12]
    return normalize_audit_record(entry)


# resultType -> the word that opens its resultSignature ("Succeeded.Created", "Accepted.Created").
_SIGNATURES = {"Success": "Succeeded", "Failure": "Failed", "Accept": "Accepted"}


def azure_activity(
    operation: str,
    *,
    resource_id: str,
    result: str = "Success",
    status: str = "Created",
    request_body: dict[str, Any] | None = None,
    response_body: dict[str, Any] | None = None,
    caller: str = "platform-admin@acme.example",
    at: float = 0,
    correlation_id: str = "7d1e0f3a-2b4c-4d5e-8f6a-1b2c3d4e5f60",
    location: str = "eastus",
    keep_bodies: bool = False,
) -> dict:
    """A normalized event from an Azure Activity log record as diagnostic settings export it.

    ARM logs an operation's ``Start`` (its ``properties.requestbody`` holds the request's JSON) and its
    end, ``Success`` or ``Failure`` (``properties.responseBody`` the resource as ARM answered, where the
    provider logs it); a long-running one may log ``Accept`` between them. ``status`` is the HTTP
    reason of the end (``Created``, ``OK``, ``Forbidden``). Ingest replaces both bodies by their size
    and fingerprint unless told to keep bodies (``ingest.redact_bodies``); ``keep_bodies`` is that.
    """
    time = (BASE_TIME + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    started = result == "Start"
    properties: dict[str, Any] = {"eventCategory": "Administrative", "entity": resource_id, "message": operation,
                                  "hierarchy": f"0c6b9a8e-1d2f-4e3a-9b8c-7d6e5f4a3b2c/{AZURE_SUBSCRIPTION}"}
    if not started:
        properties["statusCode"] = status
        properties["serviceRequestId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{correlation_id}{result}"))
    if request_body is not None:
        properties["requestbody"] = orjson.dumps(request_body).decode()
    if response_body is not None:
        properties["responseBody"] = orjson.dumps(response_body).decode()
    record = {
        "time": time,
        "resourceId": resource_id.upper(),
        "operationName": operation.upper(),
        "category": "Administrative",
        "resultType": result,
        "resultSignature": "Started." if started else f"{_SIGNATURES.get(result, result)}.{status}",
        "durationMs": 0 if started else 2140,
        "callerIpAddress": "203.0.113.45",
        "correlationId": correlation_id,
        "identity": {"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller,
                                "http://schemas.microsoft.com/identity/claims/objectidentifier":
                                    "3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d"}},
        "level": "Error" if result == "Failure" else "Informational",
        "location": location,
        "properties": properties,
    }
    return normalize_audit_record(record, keep_bodies=keep_bodies)


def normalize_audit_record(record: dict[str, Any], *, keep_bodies: bool = False) -> dict:
    """One raw audit record -> its normalized event (bodies redacted as ingest does by default, or kept);
    raises ValueError if it does not normalize."""
    result = normalize_message("audit", orjson.dumps(record), redact_body_content=not keep_bodies)
    if result.failures or len(result.events) != 1:
        reasons = [f"{failure.reason}: {failure.detail}" for failure in result.failures]
        raise ValueError(f"record did not normalize to one event: {reasons}")
    return result.events[0]

"""Build example events for rules: name only the fields that matter, the rest gets plausible defaults.

Each builder writes a raw CloudTrail record and runs it through the real normalizer
(``streams.normalize.normalize_message("cloudtrail", ...)``), so examples test rules on exactly
what the stream would hand them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streams.normalize import normalize_message

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
BASE_TIME = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)

__all__ = [
    "ACCOUNT", "OTHER_ACCOUNT", "assumed_role", "aws_service", "cloudtrail", "iam_user", "normalize_record",
    "root",
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

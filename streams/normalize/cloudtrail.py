"""AWS CloudTrail: single events, ``{"Records": [...]}`` files as delivered to S3, EventBridge envelopes."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from schemas.event import (
    API_CREATE,
    API_DELETE,
    API_OTHER,
    API_READ,
    API_UPDATE,
    AUTH_LOGON,
    OCSF_API_ACTIVITY,
    OCSF_AUTHENTICATION,
)
from streams.normalize.base import (
    NormalizeError,
    RecordMeta,
    as_int,
    as_str,
    epoch_ms_from_iso,
    new_event,
    normalize_ip,
    stable_id,
)
from streams.normalize.redact import Redactor

FAMILY = "cloudtrail"
FORMAT = "cloudtrail"
_MAX_EVENT_ID = 256  # schemas.event: event_id max_length

# First word of an eventName -> OCSF API activity. Order matters only for readability.
_ACTIVITY_BY_VERB = {
    **dict.fromkeys(("Create", "Add", "Register", "Run", "Import", "Copy", "Allocate", "Issue",
                     "Request", "Generate", "Associate", "Upload", "Publish", "Send"), API_CREATE),
    **dict.fromkeys(("Get", "List", "Describe", "Head", "Lookup", "Search", "Invoke", "Converse",
                     "Retrieve", "BatchGet", "Query", "Scan", "Select", "Decrypt", "Assume", "Filter",
                     "Download", "Check", "Validate"), API_READ),
    **dict.fromkeys(("Update", "Put", "Modify", "Set", "Change", "Attach", "Detach", "Enable", "Disable",
                     "Start", "Stop", "Tag", "Untag", "Reset", "Replace", "Apply", "Authorize", "Revoke",
                     "Disassociate", "Restore", "Reboot", "Accept", "Reject"), API_UPDATE),
    **dict.fromkeys(("Delete", "Remove", "Terminate", "Deregister", "Release", "Purge", "Cancel",
                     "Leave"), API_DELETE),
}

# requestParameters keys that name the resource acted on, most telling first.
_RESOURCE_KEYS = (
    "modelId", "modelIdentifier", "endpointName", "notebookInstanceName", "guardrailIdentifier",
    "agentId", "knowledgeBaseId", "bucketName", "roleName", "userName", "policyArn", "functionName",
    "name", "trailName", "instanceId", "secretId", "keyId",
)
_RESOURCE_KEY_SET = frozenset(_RESOURCE_KEYS)


@lru_cache(maxsize=4096)
def _activity(event_name: str) -> int:
    for end in range(len(event_name), 0, -1):
        if end < len(event_name) and not event_name[end].isupper():
            continue
        activity = _ACTIVITY_BY_VERB.get(event_name[:end])
        if activity is not None:
            return activity
    return API_OTHER


def _actor(identity: dict) -> str:
    for key in ("arn", "invokedBy", "principalId", "userName"):
        value = identity.get(key)
        if value:
            return as_str(value)
    return ""


def _resource(record: dict) -> str:
    resources = record.get("resources")
    if isinstance(resources, list) and resources and isinstance(resources[0], dict):
        arn = resources[0].get("ARN") or resources[0].get("arn")
        if arn:
            return as_str(arn)
    params = record.get("requestParameters")
    # Most calls name none of these keys: one set test says so instead of a lookup per key.
    if isinstance(params, dict) and not _RESOURCE_KEY_SET.isdisjoint(params):
        for key in _RESOURCE_KEYS:
            value = params.get(key)
            if isinstance(value, str) and value:
                return value
    return ""


def split(document: Any) -> list[Any]:
    """The CloudTrail records in one decoded message, whichever of the three shapes it has."""
    if isinstance(document, dict):
        if "Records" in document:
            records = document["Records"]
            if not isinstance(records, list):
                raise NormalizeError("wrong_type", "'Records' is not a list")
            return records
        if "detail" in document and "detail-type" in document:
            return [document["detail"]]
        return [document]
    if isinstance(document, list):
        return document
    raise NormalizeError("not_cloudtrail", f"expected a JSON object, got {type(document).__name__}")


def normalize(record: Any, raw: str, meta: RecordMeta, redactor: Redactor | None = None) -> dict:
    # Hot path: each field is read once, and each check or coercion happens in the order in which a
    # malformed field must fail (the first bad field names the dead letter).
    if not isinstance(record, dict):
        raise NormalizeError("not_cloudtrail", f"record is a {type(record).__name__}, not an object")
    event_name = record.get("eventName")
    # Shippers such as Logstash sometimes keep only their own "@timestamp".
    event_time = record.get("eventTime") or record.get("@timestamp")
    event_source = record.get("eventSource")
    if not event_name or not event_source or not event_time:
        raise NormalizeError("not_cloudtrail", "missing eventName, eventSource or eventTime")
    if isinstance(event_source, str) and event_source.startswith("aws:"):
        # S3/SQS event notifications share the Records shape but are not CloudTrail ("aws:s3").
        raise NormalizeError("not_cloudtrail", f"an {event_source} event notification, not CloudTrail")
    event_name = as_str(event_name)
    identity = record.get("userIdentity") or {}
    if not isinstance(identity, dict):
        raise NormalizeError("wrong_type", "userIdentity is not an object")
    actor_type = as_str(identity.get("type"))
    actor = _actor(identity)
    error_code = as_str(record.get("errorCode"))
    error_message = as_str(record.get("errorMessage"))
    responses = record.get("responseElements")
    console_result = as_str(responses.get("ConsoleLogin")) if isinstance(responses, dict) else ""
    failed = bool(error_code) or console_result == "Failure"
    extra = record.get("additionalEventData")

    if event_name == "ConsoleLogin":
        class_uid, activity_id = OCSF_AUTHENTICATION, AUTH_LOGON
    else:
        class_uid, activity_id = OCSF_API_ACTIVITY, _activity(event_name)
    event = new_event(
        event_id=_event_id(as_str(record.get("eventID")), raw),
        time=epoch_ms_from_iso(event_time),
        source_family=FAMILY,
        source_format=FORMAT,
        class_uid=class_uid,
        activity_id=activity_id,
        raw=raw,
        meta=meta,
    )
    # The rest assigned in place: cheaper than passing them to new_event (none of them is ever None).
    event["actor"] = actor
    event["actor_type"] = actor_type
    event["src_ip"] = normalize_ip(record.get("sourceIPAddress"))
    event["user_agent"] = as_str(record.get("userAgent"))
    event["action"] = event_name
    event["service"] = as_str(event_source)
    tls = record.get("tlsDetails")
    event["target_host"] = as_str(tls.get("clientProvidedHostHeader")) if isinstance(tls, dict) else ""
    event["target_resource"] = _resource(record)
    if failed:
        event["outcome"] = "failure"
        event["status_detail"] = f"{error_code}: {error_message}".strip(": ")
    else:
        event["outcome"] = "success"
    if isinstance(extra, dict):
        event["bytes_in"] = as_int(extra.get("bytesTransferredIn"))
        event["bytes_out"] = as_int(extra.get("bytesTransferredOut"))
    event["cloud_account"] = as_str(record.get("recipientAccountId") or identity.get("accountId"))
    event["cloud_region"] = as_str(record.get("awsRegion"))
    return event


def _event_id(event_id: str, raw: str) -> str:
    """CloudTrail's own id (a UUID); one too long to store is hashed, so that each delivery of the
    same event still gets the same id."""
    if not event_id:
        return _content_id(raw)
    if len(event_id) > _MAX_EVENT_ID:
        return stable_id(FAMILY, "eventID", event_id)
    return event_id


def _content_id(raw: str) -> str:
    return stable_id(FAMILY, FORMAT, raw)

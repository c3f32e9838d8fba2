"""Azure Activity log and Azure resource logs (storage and other ``category`` logs).

Two shapes carry the same activity:
- the export shape (diagnostic settings to Event Hub or a storage account, one record of
  ``{"records": [...]}``): ``time``, ``operationName`` text, ``resultType``/``resultSignature``,
  ``callerIpAddress``, ``identity.claims``; storage resource logs add ``statusCode``, ``uri`` and
  ``identity.requester``;
- the REST/Monitor shape (Activity Log API, ``az monitor activity-log list``): ``eventDataId``,
  ``caller``, ``operationName.value``, ``status.value``, ``eventTimestamp``, ``subscriptionId``.

Entra ID records use the export envelope too; ``entra`` claims them first. The export shape has no
per-record id, so its event id joins the correlation id, operation, result and time: the Start and
Success records of one operation share a correlation id and must stay two events.
"""

from __future__ import annotations

from functools import lru_cache

import orjson

from schemas.event import (
    API_CREATE,
    API_DELETE,
    API_OTHER,
    API_READ,
    API_UNKNOWN,
    API_UPDATE,
    OCSF_API_ACTIVITY,
)
from streams.normalize.audit._common import (
    audit_event,
    azure_subscription,
    content_id,
    detail,
    event_time,
    first_text,
    http_status,
    ip_without_port,
    leading_word,
    mapping,
    native_id,
    outcome_of_status,
    text,
)
from streams.normalize.base import NormalizeError, RecordMeta

FORMAT = "azure_activity"

_UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
_NAME_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
_EMAIL_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
_OBJECT_ID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
# Most specific identity first. The short "name" claim is usually a display name: the last resort.
_ACTOR_CLAIMS = (_UPN_CLAIM, "upn", "unique_name", _EMAIL_CLAIM, _NAME_CLAIM, _OBJECT_ID_CLAIM, "oid", "appid",
                 "name")
_USER_CLAIMS = frozenset({_UPN_CLAIM, "upn", "unique_name", _EMAIL_CLAIM, _NAME_CLAIM, "name"})

_SUCCESS_RESULTS = frozenset({"success", "succeeded"})
_FAILURE_RESULTS = frozenset({"failure", "failed"})
# Storage resource logs: every metricResponseType except Success* is an error class.
_STORAGE_SUCCESS_PREFIX = "success"

# The last segment of an ARM operation ("Microsoft.Storage/storageAccounts/write").
_ACTIVITY_BY_ARM_VERB = {"write": API_UPDATE, "read": API_READ, "delete": API_DELETE, "action": API_OTHER}
# Data-plane operations of resource logs ("GetBlob", "PutBlob", "DeleteBlob").
_ACTIVITY_BY_VERB = {
    **dict.fromkeys(("put", "create", "copy", "append", "upload", "add", "insert"), API_CREATE),
    **dict.fromkeys(("get", "list", "query", "head", "read", "download", "search", "find"), API_READ),
    **dict.fromkeys(("set", "update", "patch", "merge", "lease", "undelete", "restore", "start", "stop",
                     "abort", "acquire", "renew", "change", "break", "release"), API_UPDATE),
    **dict.fromkeys(("delete", "remove", "purge", "clear"), API_DELETE),
}

_TIME_KEYS = ("time", "eventTimestamp", "submissionTimestamp")
_USER_AGENT_KEYS = ("userAgentHeader", "userAgent")


def detect(record: dict) -> bool:
    if "eventDataId" in record:
        return True
    operation = record.get("operationName")
    if isinstance(operation, dict):
        return "value" in operation
    # Spelled out: a generator over a tuple of keys costs more than the rest of detection put together.
    return isinstance(operation, str) and (
        "resourceId" in record or "category" in record or "callerIpAddress" in record or "resultType" in record
        or "correlationId" in record)


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    operation = _value(record.get("operationName"), "operationName")
    properties = mapping(record.get("properties"), "properties")
    identity = record.get("identity")
    identity = identity if isinstance(identity, dict) else {}  # some exports write a display name here
    claims = mapping(record.get("claims") or identity.get("claims"), "claims")
    http_request = mapping(record.get("httpRequest"), "httpRequest")
    resource_id = text(record.get("resourceId"))
    result = _value(record.get("resultType"), "resultType") or _value(record.get("status"), "status")
    signature = _value(record.get("resultSignature"), "resultSignature") or _value(
        record.get("subStatus"), "subStatus")
    status_code = _status_code(record, signature, properties)
    outcome = _outcome(result, status_code, text(properties.get("metricResponseType")))
    actor, actor_type = _actor(record, identity, claims)
    time = event_time(record, _TIME_KEYS)
    correlation_id = text(record.get("correlationId"))
    if record.get("eventDataId"):
        event_id = native_id(text(record.get("eventDataId")))
    elif correlation_id:
        event_id = native_id(correlation_id, operation, result, str(time))
    else:
        event_id = content_id(FORMAT, raw)
    event = audit_event(
        event_id=event_id,
        time=time,
        source_format=FORMAT,
        class_uid=OCSF_API_ACTIVITY,
        activity_id=_activity(operation) if operation else API_UNKNOWN,
        raw=raw,
        meta=meta,
    )
    # Fields are read in this order so that, of several broken ones, the same one is reported each time.
    event["actor"] = actor
    event["actor_type"] = actor_type
    event["src_ip"] = ip_without_port(record.get("callerIpAddress") or http_request.get("clientIpAddress"))
    event["user_agent"] = first_text(properties, _USER_AGENT_KEYS)
    event["action"] = operation
    event["service"] = _provider(operation, record, resource_id)
    event["target_url"] = text(record.get("uri"))
    event["target_resource"] = resource_id
    event["outcome"] = outcome
    event["status_code"] = status_code
    if outcome == "failure":
        event["status_detail"] = _failure_detail(record, signature, properties)
    event["cloud_account"] = text(record.get("subscriptionId")).lower() or azure_subscription(resource_id)
    event["cloud_region"] = _region(record.get("location"))
    return event


def _value(field: object, name: str) -> str:
    """Text of a field that is plain in exports and ``{"value", "localizedValue"}`` in the REST shape."""
    if isinstance(field, dict):
        return text(field.get("value"))
    try:
        return text(field)
    except NormalizeError as error:
        raise NormalizeError("wrong_type", f"{name}: {error.detail}") from error


def _actor(record: dict, identity: dict, claims: dict) -> tuple[str, str]:
    caller = text(record.get("caller"))
    if caller:
        return caller, "User" if "@" in caller else ""
    for claim in _ACTOR_CLAIMS:
        value = claims.get(claim)
        if value is not None:
            value = text(value)
            if value:
                return value, "User" if claim in _USER_CLAIMS else "ServicePrincipal"
    requester = mapping(identity.get("requester"), "identity.requester")
    actor = first_text(requester, ("upn", "objectId", "appId"))
    return actor, text(identity.get("type"))


def _status_code(record: dict, signature: str, properties: dict) -> int | None:
    direct = http_status(record.get("statusCode"))  # resource logs: a number
    if direct is not None:
        return direct
    # resultSignature is "200", "Succeeded.Created", "Failed.Forbidden" or "Started."
    if signature:
        code = http_status(signature.rsplit(".", 1)[-1] if "." in signature else signature)
        if code is not None:
            return code
    return http_status(properties.get("statusCode"))


def _outcome(result: str, status_code: int | None, storage_response: str) -> str:
    folded = result.lower()
    if folded in _SUCCESS_RESULTS:
        return "success"
    if folded in _FAILURE_RESULTS:
        return "failure"
    if storage_response:
        return "success" if storage_response.lower().startswith(_STORAGE_SUCCESS_PREFIX) else "failure"
    if result and status_code is None:
        return "unknown"  # Start, Accept, Active: the operation has not finished
    return outcome_of_status(status_code)


def _failure_detail(record: dict, signature: str, properties: dict) -> str:
    return detail(signature, text(record.get("statusText")), _status_message(properties.get("statusMessage")),
                  text(record.get("resultDescription")))


def _status_message(value: object) -> str:
    """ARM's ``statusMessage`` is JSON text ``{"error": {"code", "message"}}``; keep its code and message."""
    if not isinstance(value, str):
        return ""
    if value.startswith("{"):
        try:
            error = orjson.loads(value).get("error")
        except (orjson.JSONDecodeError, AttributeError):
            return value
        if isinstance(error, dict):
            return detail(text(error.get("code")), text(error.get("message")))
    return value


@lru_cache(maxsize=4096)
def _activity(operation: str) -> int:
    if "/" in operation:
        return _ACTIVITY_BY_ARM_VERB.get(operation.rsplit("/", 1)[-1].lower(), API_OTHER)
    return _ACTIVITY_BY_VERB.get(leading_word(operation), API_OTHER)


def _provider(operation: str, record: dict, resource_id: str) -> str:
    """The resource provider (``Microsoft.Storage``): from the operation, the REST field or the resource id."""
    if "/" in operation:
        return operation.split("/", 1)[0]
    provider = _value(record.get("resourceProviderName"), "resourceProviderName")
    if provider:
        return provider
    start = resource_id.lower().rfind("/providers/")
    if start < 0:
        return ""
    start += len("/providers/")
    end = resource_id.find("/", start)
    return resource_id[start:end] if end > 0 else resource_id[start:]


def _region(location: object) -> str:
    region = text(location) if not isinstance(location, dict) else ""
    return "" if region.lower() == "global" else region  # "global": the resource has no region

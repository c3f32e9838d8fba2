"""Kubernetes API server audit events (``audit.k8s.io/v1`` ``Event``).

The same event arrives three ways: bare (a webhook or log-file backend, EKS audit as read from
CloudWatch), inside an AKS diagnostic record (``category: kube-audit``, the event as JSON text in
``properties.log``), and as one log event of a CloudWatch Logs subscription (``message`` text; the
family's ``split`` copies the account ``owner`` and ``logStream`` onto each log event).

One request can be logged at several stages (RequestReceived, ResponseStarted, ResponseComplete) with
the same ``auditID``, so the event id is ``auditID:stage``: deduplication must not fold the stages.
The actor is the authenticated user; an impersonated user stays in the raw record.
Secret values that a RequestResponse policy copied into ``requestObject``/``responseObject`` are
replaced by redaction markers in ``raw`` before the event is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    epoch_ms,
    event_time,
    http_status,
    mapping,
    native_id,
    outcome_of_status,
    parse_embedded_json,
    text,
)
from streams.normalize.base import NormalizeError, RecordMeta, normalize_ip
from streams.normalize.redact import Redactor

FORMAT = "k8s_audit"

ACTIVITY_BY_VERB = {
    "create": API_CREATE,
    "get": API_READ, "list": API_READ, "watch": API_READ,
    "update": API_UPDATE, "patch": API_UPDATE,
    "delete": API_DELETE, "deletecollection": API_DELETE,
}

AKS_AUDIT_CATEGORIES = frozenset({"kube-audit", "kube-audit-admin"})
EKS_AUDIT_STREAM_PREFIX = "kube-apiserver-audit"

_TIME_KEYS = ("requestReceivedTimestamp", "stageTimestamp", "timestamp")  # "timestamp": audit/v1beta1
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def detect(record: dict) -> bool:
    if record.get("kind") == "Event":
        # Core v1 Events (involvedObject, reason) share the kind; only audit events have a verb.
        return str(record.get("apiVersion", "")).startswith("audit.k8s.io/") or "verb" in record
    if "auditID" in record and ("verb" in record or "stage" in record):
        return True
    if "verb" in record and isinstance(record.get("user"), dict) and ("objectRef" in record or "requestURI" in record):
        return True  # exports that dropped kind/apiVersion/auditID
    return _is_aks_record(record) or _is_eks_log_event(record)


def normalize(record: dict, raw: str, meta: RecordMeta, redactor: Redactor) -> dict:
    if _is_aks_record(record):
        properties = record["properties"]
        event = _embedded_event(properties.get("log"), "properties.log")
        masked = _masked_event(event, redactor)
        if masked is not None:
            raw = _serialized(
                redactor, {**record, "properties": {**properties, "log": orjson.dumps(masked).decode()}})
        return _normalize_event(
            event, raw, meta,
            account=azure_subscription(text(record.get("resourceId"))),
            region=text(record.get("location")),
            fallback_time=lambda: event_time(record, ("time",)),
        )
    if _is_eks_log_event(record):
        event = _embedded_event(record.get("message"), "message")
        masked = _masked_event(event, redactor)
        if masked is not None:
            raw = _serialized(redactor, {**record, "message": orjson.dumps(masked).decode()})
        return _normalize_event(
            event, raw, meta,
            account=text(record.get("owner")),
            fallback_time=lambda: epoch_ms(record.get("timestamp")),
        )
    masked = _masked_event(record, redactor)
    if masked is not None:
        raw = _serialized(redactor, masked)
    return _normalize_event(record, raw, meta)


def _normalize_event(
    event: dict,
    raw: str,
    meta: RecordMeta,
    *,
    account: str = "",
    region: str = "",
    fallback_time: Callable[[], int] | None = None,
) -> dict:
    user = mapping(event.get("user"), "user")
    object_ref = mapping(event.get("objectRef"), "objectRef")
    response = mapping(event.get("responseStatus"), "responseStatus")
    annotations = mapping(event.get("annotations"), "annotations")
    verb = text(event.get("verb"))
    username = text(user.get("username"))
    status_code = http_status(response.get("code"))
    outcome = outcome_of_status(status_code)
    status_detail = detail(text(response.get("reason")), text(response.get("message")))
    if annotations and text(annotations.get("authorization.k8s.io/decision")) == "forbid":
        outcome = "failure"
        status_detail = status_detail or text(annotations.get("authorization.k8s.io/reason"))
    audit_id = text(event.get("auditID"))
    # Fields are read in this order so that, of several broken ones, the same one is reported each time.
    normalized = audit_event(
        event_id=native_id(audit_id, text(event.get("stage"))) if audit_id else content_id(FORMAT, raw),
        time=_time(event, fallback_time),
        source_format=FORMAT,
        class_uid=OCSF_API_ACTIVITY,
        activity_id=ACTIVITY_BY_VERB.get(verb, API_OTHER) if verb else API_UNKNOWN,
        raw=raw,
        meta=meta,
    )
    normalized["actor"] = username
    normalized["actor_type"] = _actor_type(username)
    normalized["src_ip"] = _client_ip(event.get("sourceIPs"))
    normalized["user_agent"] = text(event.get("userAgent"))
    normalized["action"] = verb
    if object_ref:
        api_group = text(object_ref.get("apiGroup")) or "core"
        normalized["service"] = api_group
        normalized["target_url"] = text(event.get("requestURI"))
        normalized["target_resource"] = _object_path(object_ref, api_group)
    else:
        normalized["target_url"] = text(event.get("requestURI"))
    normalized["outcome"] = outcome
    normalized["status_code"] = status_code
    normalized["status_detail"] = status_detail
    normalized["cloud_account"] = account
    normalized["cloud_region"] = region
    return normalized


def _is_aks_record(record: dict) -> bool:
    category = record.get("category")
    return isinstance(category, str) and category in AKS_AUDIT_CATEGORIES and isinstance(record.get("properties"), dict)


def _is_eks_log_event(record: dict) -> bool:
    stream = record.get("logStream")
    return isinstance(stream, str) and stream.startswith(EKS_AUDIT_STREAM_PREFIX) and "message" in record


def _embedded_event(value: Any, name: str) -> dict:
    event = parse_embedded_json(value, name)
    if not isinstance(event, dict):
        raise NormalizeError("wrong_type", f"{name} does not hold a JSON object")
    if not (event.get("kind") == "Event" or "auditID" in event or "verb" in event):
        raise NormalizeError("unknown_format", f"{name} is not a Kubernetes audit event")
    return event


def _time(event: dict, fallback_time: Callable[[], int] | None) -> int:
    """The event's own time; an envelope's time only when the event has none."""
    try:
        return event_time(event, _TIME_KEYS)
    except NormalizeError as error:
        if error.reason != "missing_time" or fallback_time is None:
            raise
        return fallback_time()


def _actor_type(username: str) -> str:
    if not username:
        return ""
    if username.startswith("system:serviceaccount:"):
        return "ServiceAccount"
    if username.startswith("system:node:"):
        return "Node"
    if username == "system:anonymous":
        return "Anonymous"
    if username.startswith("system:"):
        return "System"
    return "User"


def _client_ip(source_ips: Any) -> str:
    # The first entry is the original client (X-Forwarded-For order); the rest are proxies.
    if isinstance(source_ips, list):
        return normalize_ip(source_ips[0]) if source_ips else ""
    return normalize_ip(source_ips)


def _object_path(object_ref: dict, api_group: str) -> str:
    """``group/version/namespaces/ns/resource/name/subresource``, the form GKE audit uses for resourceName."""
    version = text(object_ref.get("apiVersion"))
    namespace = text(object_ref.get("namespace"))
    return "/".join(filter(None, (
        api_group, version, "namespaces" if namespace else "", namespace, text(object_ref.get("resource")),
        text(object_ref.get("name")), text(object_ref.get("subresource")))))


# --- secret values in request/response objects ------------------------------------------------------

def _masked_event(event: dict, redactor: Redactor) -> dict | None:
    """A copy of a Secret request's event with secret values masked; None when there is nothing to mask."""
    object_ref = event.get("objectRef")
    if not isinstance(object_ref, dict) or object_ref.get("resource") != "secrets":
        return None
    changed = False
    masked_event = dict(event)
    for key in ("requestObject", "responseObject"):
        if key in event:
            masked_event[key], key_changed = _mask_secret_values(event[key], redactor)
            changed = changed or key_changed
    return masked_event if changed else None


def _serialized(redactor: Redactor, record: dict) -> str:
    # The caller redacted credentials in the original text; this text is new, so redact it again.
    return redactor.redact_text(orjson.dumps(record).decode())


def _mask_secret_values(node: Any, redactor: Redactor) -> tuple[Any, bool]:
    if isinstance(node, list):
        items = [_mask_secret_values(item, redactor) for item in node]
        return [item for item, _ in items], any(changed for _, changed in items)
    if not isinstance(node, dict):
        return node, False
    changed = False
    out = {}
    for key, value in node.items():
        if key in ("data", "stringData") and isinstance(value, dict):
            out[key] = {name: redactor.marker("k8s_secret", str(secret)) for name, secret in value.items()}
            changed = changed or bool(value)
        elif key == _LAST_APPLIED and isinstance(value, str):
            out[key] = redactor.marker("k8s_secret", value)  # kubectl copies the whole Secret in here
            changed = True
        else:
            out[key], sub_changed = _mask_secret_values(value, redactor)
            changed = changed or sub_changed
    return out, changed

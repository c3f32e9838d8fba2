"""Audit logs of control planes and identity providers: Kubernetes, GCP, Azure, Entra ID, Okta.

A message is one JSON record, a JSON array of them, JSON lines, or one of the batch envelopes the
delivery paths add: Azure's ``{"records": [...]}``, a Kubernetes audit ``EventList`` (webhook
backend), a CloudWatch Logs subscription message (EKS audit), an EventBridge event (Okta log
streaming). Each record is matched to its format by the fields it has, so one topic can carry them all.
"""

from __future__ import annotations

from typing import Any

from streams.normalize.audit import azure, entra, gcp, k8s, okta
from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.redact import Redactor, default_redactor

ACCEPTS_TEXT = False

# Entra before Azure: both use the Azure diagnostic envelope. K8s first: AKS audit is in it too.
_FORMATS = (k8s, gcp, entra, azure, okta)
FORMATS: tuple[str, ...] = tuple(module.FORMAT for module in _FORMATS)

__all__ = ["ACCEPTS_TEXT", "FORMATS", "normalize", "split"]

# Top-level keys the formats read. Data-lake re-exports (Panther, Snowflake) lower-case column
# names, so a record with ``eventtype`` or ``protopayload`` gets these spellings back before matching.
_CANONICAL_KEYS = (
    # k8s
    "apiVersion", "auditID", "sourceIPs", "userAgent", "objectRef", "requestURI", "responseStatus",
    "requestReceivedTimestamp", "stageTimestamp", "impersonatedUser", "requestObject", "responseObject",
    # gcp
    "protoPayload", "insertId", "logName", "receiveTimestamp",
    # azure, entra
    "operationName", "operationVersion", "resourceId", "callerIpAddress", "correlationId", "resultType",
    "resultSignature", "resultDescription", "tenantId", "durationMs", "eventDataId", "eventTimestamp",
    "submissionTimestamp", "subscriptionId", "statusCode", "statusText",
    # okta
    "eventType", "displayMessage", "legacyEventType", "authenticationContext", "securityContext", "debugContext",
)
_CANONICAL_BY_LOWER = {key.lower(): key for key in _CANONICAL_KEYS}


def split(document: Any) -> list[Any]:
    """The audit records in one decoded JSON document, whichever envelope it came in."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise NormalizeError("unknown_format", f"expected a JSON object, got {type(document).__name__}")
    if "records" in document and len(document) == 1:  # Azure Event Hub / storage export
        return _list(document["records"], "records")
    kind = document.get("kind")
    if kind == "EventList" and str(document.get("apiVersion", "")).startswith("audit.k8s.io/"):
        return _list(document.get("items"), "items")
    message_type = document.get("messageType")
    if message_type == "DATA_MESSAGE" and "logEvents" in document:
        return _cloudwatch_log_events(document)
    if message_type == "CONTROL_MESSAGE":
        return []  # CloudWatch's delivery check carries no events
    if "detail" in document and "detail-type" in document:
        return [document["detail"]]
    return [document]


def normalize(record: Any, raw: str, meta: RecordMeta, redactor: Redactor | None = None) -> dict:
    if not isinstance(record, dict):
        raise NormalizeError("unknown_format", f"record is a JSON {type(record).__name__}, not an object")
    if not _CANONICAL_BY_LOWER.keys().isdisjoint(record):
        record = {_CANONICAL_BY_LOWER.get(key, key): value for key, value in record.items()}
    for module in _FORMATS:
        if module.detect(record):
            if module is k8s:  # the one format that copies secret values, which it masks with markers
                return k8s.normalize(record, raw, meta, redactor or default_redactor())
            return module.normalize(record, raw, meta)
    raise NormalizeError("unknown_format", "no audit format has these fields")


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise NormalizeError("wrong_type", f"'{name}' is not a list")
    return value


def _cloudwatch_log_events(document: dict) -> list[Any]:
    """Each log event with the subscription's account and stream, which the events themselves lack."""
    events = _list(document["logEvents"], "logEvents")
    context = {key: document.get(key) for key in ("owner", "logGroup", "logStream")}
    return [{**context, **event} if isinstance(event, dict) else event for event in events]

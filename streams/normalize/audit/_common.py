"""Helpers shared by the audit formats: lenient lookups, event time, ids, HTTP status, verbs."""

from __future__ import annotations

from typing import Any

import orjson

from streams.normalize.base import (
    NormalizeError,
    as_int,
    as_str,
    checked_ms,
    epoch_ms_from_iso,
    first_present,
    may_repeat_keys,
    normalize_ip,
    repeated_key_error,
    repeated_keys,
    rewritten,
    stable_id,
)

FAMILY = "audit"

_MAX_EVENT_ID = 256  # schemas.event: event_id max_length

# Records re-exported from a security data lake (Panther) keep the event time the lake extracted as
# ``p_event_time``; it is the last resort when the native time field was dropped.
DATA_LAKE_TIME_KEY = "p_event_time"


def text(value: Any) -> str:
    """``as_str`` with surrounding blanks removed."""
    if type(value) is str:  # the common case, a dozen times per event
        return value.strip()
    return as_str(value).strip()


def mapping(value: Any, name: str) -> dict:
    """``value`` when it is an object, {} when absent; a wrong type is the record's fault."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NormalizeError("wrong_type", f"{name} is a {type(value).__name__}, not an object")
    return value


def first_text(record: dict, keys: tuple[str, ...]) -> str:
    """The first of ``keys`` with a non-blank text value in ``record`` ('' if none)."""
    return first_present(record, keys, text)


def event_time(record: dict, keys: tuple[str, ...]) -> int:
    """Epoch ms from the first of ``keys`` that is set, else the data-lake time; never invented."""
    for key in keys:
        value = record.get(key)
        if value:
            return epoch_ms_from_iso(value)
    value = record.get(DATA_LAKE_TIME_KEY)
    if value:
        return epoch_ms_from_iso(value)
    raise NormalizeError("missing_time", f"none of {', '.join(keys)} is set")


def native_id(*parts: str) -> str:
    """An event id made of the source's own identifiers, hashed only when it would be too long."""
    joined = ":".join(part for part in parts if part)
    if len(joined) <= _MAX_EVENT_ID:
        return joined
    return stable_id(FAMILY, *parts)


def content_id(source_format: str, raw: str) -> str:
    """The event id of a record that carries no id of its own."""
    return stable_id(FAMILY, source_format, raw)


def parse_embedded_json(value: Any, name: str) -> Any:
    """A JSON document carried as text inside a record (AKS ``properties.log``, Log Analytics columns)."""
    if not isinstance(value, str):
        return value
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise NormalizeError("malformed_json", f"{name} is not valid JSON: {exc}") from exc
    # The embedded event is read as carefully as the record around it: a repeated key there ("verb")
    # would let the stored text and what detections saw disagree just the same.
    if may_repeat_keys(value, rewritten(document)):
        paths = repeated_keys(value).paths
        if paths:
            raise repeated_key_error((name, *paths[0]))
    return document


def ip_without_port(value: Any) -> str:
    """An IP from ``ip``, ``ip:port`` or ``[v6]:port`` (Azure storage logs append the client port)."""
    address = text(value)
    if address.startswith("["):
        end = address.find("]")
        address = address[1:end] if end > 0 else address[1:]
    elif address.count(":") == 1:
        address = address[: address.find(":")]
    return normalize_ip(address)


def http_status(value: Any) -> int | None:
    """An HTTP status from a number, a numeric string or a reason phrase (``Created``, ``Forbidden``)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and not value.strip().isdigit():
        return HTTP_STATUS_BY_REASON.get(value.strip().replace(" ", "").lower())
    status = as_int(value)
    if status is None or not 100 <= status <= 599:
        return None
    return status


def outcome_of_status(status: int | None) -> str:
    if status is None:
        return "unknown"
    return "success" if status < 400 else "failure"


def detail(*parts: str) -> str:
    """``a: b`` from the non-empty parts, each once (sources often repeat the code in the message)."""
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return ": ".join(seen)


def leading_word(name: str) -> str:
    """The first word, lower-case: ``CreateServiceAccountKey``, ``create_key``, ``Create key`` -> ``create``."""
    name = name.lstrip("_ ")
    for index in range(1, len(name)):
        char = name[index]
        if char.isupper() or char in "_-. ":
            return name[:index].lower()
    return name.lower()


# Reason phrases as ARM writes them in ``properties.statusCode`` and ``resultSignature``.
HTTP_STATUS_BY_REASON = {
    "ok": 200, "created": 201, "accepted": 202, "nocontent": 204, "partialcontent": 206,
    "movedpermanently": 301, "found": 302, "notmodified": 304,
    "badrequest": 400, "unauthorized": 401, "forbidden": 403, "notfound": 404, "methodnotallowed": 405,
    "conflict": 409, "gone": 410, "preconditionfailed": 412, "requestentitytoolarge": 413,
    "toomanyrequests": 429, "internalservererror": 500, "notimplemented": 501, "badgateway": 502,
    "serviceunavailable": 503, "gatewaytimeout": 504,
}


def azure_subscription(resource_id: str) -> str:
    """The subscription id in an ARM resource id (``/subscriptions/<id>/...``, any letter case).

    Lower-cased: it is a GUID, and exports write resource ids in upper case as often as not.
    """
    if resource_id[:15].lower() != "/subscriptions/":
        return ""
    end = resource_id.find("/", 15)
    return (resource_id[15:end] if end > 0 else resource_id[15:]).lower()


def epoch_ms(value: Any) -> int:
    """Epoch ms given as a number (a CloudWatch log event's ``timestamp``)."""
    ms = as_int(value)
    if ms is None:
        raise NormalizeError("missing_time", "no timestamp")
    return checked_ms(ms)

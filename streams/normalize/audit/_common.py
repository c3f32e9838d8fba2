"""Helpers shared by the audit formats: lenient lookups, event time, ids, HTTP status, verbs.

Several are faster variants of ``streams.normalize.base`` helpers for what audit records hold (tested to
give the base result on generated inputs: tests/unit/test_normalize_audit_common.py).
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.normalize.base import (
    NormalizeError,
    RecordMeta,
    as_int,
    as_str,
    checked_ms,
    epoch_ms_from_iso,
    may_repeat_keys,
    minute_seconds,
    new_event,
    normalize_ip,
    repeated_key_error,
    repeated_keys,
    rewritten,
    stable_id,
)

FAMILY = "audit"

# Every field at its default, in ``new_event``'s order (made by it, so the two cannot drift apart).
_BLANK_EVENT = new_event(event_id="", time=0, source_family=FAMILY, source_format="", class_uid=0, activity_id=0,
                         raw="", meta=RecordMeta())


def audit_event(*, event_id: str, time: int, source_format: str, class_uid: int, activity_id: int, raw: str,
                meta: RecordMeta) -> dict:
    """``new_event`` of the audit family with the fields every event has; the caller assigns the others it
    knows into the dict, by their names (never ``None`` where the default is not ``None``).

    Copying a finished dict and assigning a dozen keys costs a third of collecting them as keyword
    arguments and checking each name, and every audit record pays it.
    """
    event = _BLANK_EVENT.copy()
    event["event_id"] = event_id
    event["time"] = time
    event["source_format"] = source_format
    event["class_uid"] = class_uid
    event["activity_id"] = activity_id
    event["type_uid"] = class_uid * 100 + activity_id
    event["kafka_topic"] = meta.topic
    event["kafka_partition"] = meta.partition
    event["kafka_offset"] = meta.offset
    event["raw"] = raw  # already redacted by the caller (streams.normalize.normalize_message)
    return event

_MAX_EVENT_ID = 256  # schemas.event: event_id max_length

# Records re-exported from a security data lake (Panther) keep the event time the lake extracted as
# ``p_event_time``; it is the last resort when the native time field was dropped.
DATA_LAKE_TIME_KEY = "p_event_time"


def text(value: Any) -> str:
    """``as_str`` with surrounding blanks removed."""
    if value.__class__ is str:  # the common case, a dozen times per event
        return value.strip()
    return as_str(value).strip()


def mapping(value: Any, name: str) -> dict:
    """``value`` when it is an object, {} when absent; a wrong type is the record's fault."""
    if value.__class__ is dict:  # the common case, a few times per event
        return value
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NormalizeError("wrong_type", f"{name} is a {type(value).__name__}, not an object")
    return value


def first_text(record: dict, keys: tuple[str, ...]) -> str:
    """The first of ``keys`` with a non-blank text value in ``record`` ('' if none).

    ``base.first_present(record, keys, text)``, without a call through ``convert`` per key.
    """
    for key in keys:
        value = record.get(key)
        if value is not None:
            value = value.strip() if value.__class__ is str else text(value)
            if value:
                return value
    return ""


def event_time(record: dict, keys: tuple[str, ...]) -> int:
    """Epoch ms from the first of ``keys`` that is set, else the data-lake time; never invented."""
    for key in keys:
        value = record.get(key)
        if value:
            return iso_epoch_ms(value)
    value = record.get(DATA_LAKE_TIME_KEY)
    if value:
        return iso_epoch_ms(value)
    raise NormalizeError("missing_time", f"none of {', '.join(keys)} is set")


def iso_epoch_ms(value: Any) -> int:
    """``base.epoch_ms_from_iso``, fast for the time every audit source writes: ``YYYY-MM-DDTHH:MM:SS.f…Z``.

    Kubernetes, GCP, Azure and Okta give fractions (milli- to nanoseconds), which the base fast path
    leaves to the general parser. Here the minute is looked up (parsed once), seconds and the fraction
    added as whole microseconds, and the sum turned into ms the way ``datetime.timestamp`` does it, so
    the result is the base one to the bit. Any other text goes to the base function, which also words
    every error.
    """
    if value.__class__ is str and len(value) > 20 and value[-1] == "Z" and value[19] == "." and value[16] == ":":
        second = _SIXTY.get(value[17:19])
        minute = minute_seconds(value[:16])
        fraction = value[20:-1]
        if second is not None and minute is not None and fraction.isdigit() and fraction.isascii():
            micro_digits = fraction[:6]  # as parsing does, past microseconds the digits are dropped
            micros = (minute + second) * 1_000_000 + int(micro_digits) * _MICROS_PER_DIGIT[len(micro_digits)]
            ms = int(micros / 1_000_000 * 1000)  # timestamp() divides the µs by 10**6 into a float
            return checked_ms(ms)
    return epoch_ms_from_iso(value)


_SIXTY = {f"{number:02d}": number for number in range(60)}  # "00".."59": what a second may be
_MICROS_PER_DIGIT = {digits: 10 ** (6 - digits) for digits in range(1, 7)}  # ".5" is 500000 µs


def native_id(*parts: str) -> str:
    """An event id made of the source's own identifiers, hashed only when it would be too long."""
    joined = ":".join(filter(None, parts))
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
    if value.__class__ is int and 100 <= value <= 599:  # what nearly every record holds
        return value
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
    return ": ".join(dict.fromkeys(filter(None, parts)))  # a dict keeps the first of equal parts, in order


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

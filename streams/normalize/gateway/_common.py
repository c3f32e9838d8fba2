"""Helpers shared by the gateway formats: lenient text, hosts, HTTP status, time, ids, event building.

Everything here runs once or more per event (gateway logs are the most voluminous family), so it avoids
URL parsers, keyword-argument plumbing and repeated parsing: the inputs are short, ``str.find``/``split``
do the work several times faster, and values that repeat across a log (addresses, days, seconds) are
cached. Caches are keyed only by short strings, so an attacker's long values cannot fill memory.

The fast variants of ``streams.normalize.base`` functions (``epoch_ms_from_iso``, ``epoch_ms_from_clf``,
events built from templates instead of ``new_event``) give exactly what those give;
tests/unit/test_normalize_gateway_fastpaths.py checks each against its original on generated input.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from schemas.event import HTTP_ACTIVITY_BY_METHOD, OCSF_HTTP_ACTIVITY
from streams.normalize import base
from streams.normalize.base import (
    NormalizeError,
    RecordMeta,
    as_int,
    as_str,
    checked_ms,
    new_event,
)

FAMILY = "gateway"

HTTP_ACTIVITY_UNKNOWN = 0  # OCSF: no method at all
HTTP_ACTIVITY_OTHER = 99  # OCSF: a method outside the standard list (PROPFIND, junk ...)

_MAX_EVENT_ID = 256  # schemas.event: event_id max_length
# Longest text a cache keeps: an IPv6 address with a zone, a host name (253). Longer values are
# computed every time; they are rare, and an attacker's megabyte strings must not stay in memory.
_MAX_CACHED_TEXT = 256
_MAX_INT64_DIGITS = 18  # any run of 18 digits fits in a signed 64-bit integer


# --- values ------------------------------------------------------------------------------------------

def text(value: Any) -> str:
    """``as_str``, with the ``-`` that nginx, Envoy, Squid and API Gateway write for "no value" as ''."""
    if type(value) is str:  # the fast paths first: called ~10 times an event
        return "" if value == "-" else value
    if value is None:
        return ""
    return as_str(value)  # a number's text is never "-"


def first_text(record: dict, keys: tuple[str, ...]) -> str:
    """The first of ``keys`` with a non-empty value in ``record``, as text ('' if none).

    ``base.first_present(record, keys, text)`` written out: this runs several times an event.
    """
    for key in keys:
        value = record.get(key)
        if value is not None:
            if type(value) is not str:
                value = as_str(value)
            if value and value != "-":
                return value
    return ""


def first_value(record: dict, keys: tuple[str, ...]) -> Any:
    """The first of ``keys`` present with a value other than None, '' or '-'."""
    for key in keys:
        value = record.get(key)
        if value is not None and value != "" and value != "-":
            return value
    return None


def to_int(value: Any) -> int | None:
    """``as_int`` that also turns float overflow and NaN into ``NormalizeError``."""
    kind = type(value)
    if kind is int and -(2**63) <= value < 2**63:
        return value
    if kind is str:
        # Logs write most numbers as short digit strings ("200", "5120"): no need for as_int's checks.
        if value.isdigit() and value.isascii() and len(value) <= _MAX_INT64_DIGITS:
            return int(value)
        if not value or value == "-":
            return None
    elif value is None:
        return None
    try:
        return as_int(value)
    except NormalizeError:
        raise
    except (OverflowError, ValueError) as exc:
        raise NormalizeError("wrong_type", f"expected a number, got {str(value)[:40]!r}") from exc


def byte_count(value: Any) -> int | None:
    count = to_int(value)
    if count is not None and count < 0:
        raise NormalizeError("bad_value", f"negative byte count {count}")
    return count


def http_status(value: Any) -> int | None:
    """An HTTP status code; 0 (Envoy, Squid: no response was sent) and absent are None."""
    status = to_int(value)
    if status is None or status == 0:
        return None
    if not 100 <= status <= 999:
        raise NormalizeError("bad_value", f"HTTP status {status} out of range")
    return status


def http_outcome(status: int | None) -> str:
    if status is None:
        return "unknown"
    return "success" if status < 400 else "failure"


def http_activity(method: str) -> int:
    if not method:
        return HTTP_ACTIVITY_UNKNOWN
    return HTTP_ACTIVITY_BY_METHOD.get(method.upper(), HTTP_ACTIVITY_OTHER)


# --- hosts and addresses -----------------------------------------------------------------------------

def host_of(authority: str) -> str:
    """The host of an authority, lower-case, without credentials, port, brackets or final dot.

    ``User@API.OpenAI.com:443`` -> ``api.openai.com``; ``[2001:db8::1]:8443`` -> ``2001:db8::1``;
    a bare IPv6 address (several colons) is kept whole.
    """
    if not authority:
        return ""
    if len(authority) <= _MAX_CACHED_TEXT:
        return _cached_host_of(authority)  # a log's hosts repeat
    return _host_of(authority)


@lru_cache(maxsize=8192)
def _cached_host_of(authority: str) -> str:
    return _host_of(authority)


def _host_of(authority: str) -> str:
    host = authority.strip()
    if not host or host == "-":
        return ""
    at = host.rfind("@")
    if at >= 0:
        host = host[at + 1:]
    if host.startswith("["):
        end = host.find("]")
        host = host[1:end] if end > 0 else host[1:]
    elif host.count(":") == 1:
        host = host[: host.find(":")]
    return host.rstrip(".").lower()


def host_of_url(url: str) -> str:
    """The host of an absolute URL (``scheme://authority/...``), '' when ``url`` is not absolute."""
    start = url.find("://")
    if start <= 0:
        return ""
    start += 3
    end = len(url)
    for separator in "/?#":
        index = url.find(separator, start, end)
        if index >= 0:
            end = index
    return host_of(url[start:end])


def address_ip(address: str) -> str:
    """The IP of ``ip:port`` / ``[v6]:port`` / bare IP text, as ``normalize_ip`` returns it."""
    if len(address) <= _MAX_CACHED_TEXT:
        return _cached_address_ip(address)  # a log's clients and servers repeat
    return _address_ip(address)


@lru_cache(maxsize=8192)
def _cached_address_ip(address: str) -> str:
    return _address_ip(address)


def _address_ip(address: str) -> str:
    address = address.strip()
    if not address or address == "-":
        return ""
    if address.startswith("["):
        end = address.find("]")
        address = address[1:end] if end > 0 else address[1:]
    elif address.count(":") == 1:
        address = address[: address.find(":")]
    return _plain_ipv4(address)


def first_forwarded_ip(value: str) -> str:
    """The original client in an ``X-Forwarded-For`` list (its first entry)."""
    return address_ip(value.split(",", 1)[0])


def _plain_ipv4(text_ip: str) -> str:
    # Same rule as base.normalize_ip (anonymised logs write 035.249.253.232).
    if text_ip.count(".") != 3 or "0" not in text_ip or not text_ip.isascii():
        return text_ip
    parts = text_ip.split(".")
    if "" in parts or not text_ip.replace(".", "").isdigit():
        return text_ip
    return ".".join([str(int(part)) for part in parts])


def endpoint(ip: str, port: int | None) -> str:
    """``ip:port`` (``[v6]:port``) for a destination endpoint, or just the ip without a port."""
    if not ip:
        return ""
    if port is None:
        return ip
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


# --- time --------------------------------------------------------------------------------------------

def epoch_ms_from_decimal(value: Any) -> int:
    """Epoch ms from epoch seconds written as a decimal (``1286536309.450``, 1521911720.865716).

    Read from the digits, so a fraction of any length is floored exactly, and anything that is not
    plain decimal digits (inf, NaN, exponents, booleans) is a ``bad_time`` rather than an overflow.
    """
    if isinstance(value, bool):
        raise NormalizeError("bad_time", "epoch seconds is a boolean")
    if isinstance(value, int):
        return checked_ms(value * 1000)
    if isinstance(value, float):
        value = repr(value)  # shortest round-trip digits: repr(1286536309.45) == '1286536309.45'
    elif not isinstance(value, str):
        raise NormalizeError("bad_time", f"epoch seconds is a {type(value).__name__}")
    whole, _, fraction = value.strip().partition(".")
    if not (whole.isascii() and whole.isdigit() and (not fraction or (fraction.isascii() and fraction.isdigit()))):
        raise NormalizeError("bad_time", f"unparseable epoch seconds {value[:40]!r}")
    return checked_ms(int(whole) * 1000 + int((fraction + "000")[:3]))


def epoch_ms_from_millis(value: Any) -> int:
    """Epoch ms from an integer (or numeric text) already in milliseconds (Kong, API Gateway)."""
    ms = to_int(value)
    if ms is None:
        raise NormalizeError("missing_time", "no timestamp")
    return checked_ms(ms)


def epoch_ms_from_any(value: Any) -> int:
    """ISO-8601 text, or a number of epoch seconds (< 1e11) or milliseconds (>= 1e11).

    For formats whose time field is configurable (Envoy's ``%START_TIME(...)%``); 1e11 seconds is
    the year 5138 and 1e11 ms is 1973, so the two ranges cannot be confused for real timestamps.
    """
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1].isdigit() and "-" not in stripped and ":" not in stripped:
            value = stripped
        else:
            return epoch_ms_from_iso(value)
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            magnitude = float(value)
        except ValueError as exc:
            raise NormalizeError("bad_time", f"unparseable timestamp {str(value)[:40]!r}") from exc
        if magnitude >= 1e11:
            return epoch_ms_from_millis(value)
        return epoch_ms_from_decimal(value)
    raise NormalizeError("bad_time", f"timestamp is a {type(value).__name__}")


_ISO_MINUTE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d", re.ASCII)
_ISO_MINUTE_LENGTH = 16  # 2026-11-20T08:00
_ISO_FRACTION_AT = 19  # the "." of 2026-11-20T08:00:01.702124Z


def epoch_ms_from_iso(value: Any) -> int:
    """``base.epoch_ms_from_iso``, fast for what Zeek and Envoy write: ``2026-11-20T08:00:01.702124Z``.

    The date, hour and minute are parsed once per distinct minute (cached); seconds and fraction are
    added with the same arithmetic as ``datetime.timestamp()``, so the result is the same to the ms.
    Any other shape (offsets, no fraction, leap seconds, ...) goes to the base function.
    """
    if type(value) is str and len(value) > _ISO_FRACTION_AT + 2 and value[-1] == "Z" \
            and value[_ISO_FRACTION_AT] == "." and value[_ISO_MINUTE_LENGTH] == ":":
        seconds = value[_ISO_MINUTE_LENGTH + 1:_ISO_FRACTION_AT]
        fraction = value[_ISO_FRACTION_AT + 1:-1]
        if seconds < "60" and (seconds + fraction).isdigit() and fraction.isascii() and seconds.isascii():
            minute = _utc_epoch_minute(value[:_ISO_MINUTE_LENGTH])
            if minute is not None:
                micros = int((fraction + "00000")[:6])  # base keeps 6 digits of the fraction
                # datetime.timestamp(): microseconds since the epoch / 10**6, a float; then * 1000.
                epoch_us = (minute + int(seconds)) * 1_000_000 + micros
                return checked_ms(int(epoch_us / 1_000_000 * 1000))
    return base.epoch_ms_from_iso(value)


@lru_cache(maxsize=4096)
def _utc_epoch_minute(text_minute: str) -> int | None:
    """Epoch seconds of ``YYYY-MM-DDTHH:MM`` in UTC; None when it is not that or no valid time."""
    if not _ISO_MINUTE.fullmatch(text_minute):
        return None
    try:
        return int(datetime.fromisoformat(text_minute).replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None


_CLF_TIME = re.compile(r"(\d\d/[A-Za-z]{3}/\d{4}):([01]\d|2[0-3]):([0-5]\d):([0-5]\d) ([+-]\d{4})", re.ASCII)


def epoch_ms_from_clf(value: str) -> int:
    """``base.epoch_ms_from_clf`` (``10/Oct/2000:13:55:36 -0700``), fast for the shape servers write.

    ``strptime`` costs ~10 us, and consecutive lines rarely share their second but nearly always their
    day: the day (with its UTC offset) is parsed once, the time of day is added. Other shapes, which
    ``strptime`` reads leniently (one-digit fields, ``+07:00``, runs of spaces), go to the base function.
    """
    shape = _CLF_TIME.fullmatch(value)
    if shape is not None:
        day, hours, minutes, seconds, offset = shape.groups()
        midnight = _clf_midnight_ms(day, offset)
        if midnight is not None:
            # Whole seconds are exact in timestamp()'s float, so this sum is what base computes.
            return checked_ms(midnight + ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000)
    return base.epoch_ms_from_clf(value)


@lru_cache(maxsize=1024)
def _clf_midnight_ms(day: str, offset: str) -> int | None:
    """Epoch ms of 00:00:00 on ``day`` (``10/Oct/2000``) at UTC ``offset`` (``-0700``), unchecked;
    None when strptime refuses it (31/Feb, an offset of 24 hours or more, a month in another language)."""
    try:
        parsed = datetime.strptime(f"{day}:00:00:00 {offset}", "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        return None
    return int(parsed.timestamp() * 1000)


# --- events ------------------------------------------------------------------------------------------

def source_id(candidate: str, source_format: str, raw: str) -> str:
    """The source's own id when it has a usable one, else a content hash of the record.

    The hash is ``stable_id(FAMILY, source_format, raw)``, from a copy of a hash that has already read
    the first two parts (Squid and most nginx lines have no id: every one of them is hashed).
    """
    if candidate and len(candidate) <= _MAX_EVENT_ID:
        return candidate
    prefix = _ID_PREFIXES.get(source_format)
    if prefix is None:
        prefix = _ID_PREFIXES[source_format] = _id_prefix(source_format)
    digest = prefix.copy()
    digest.update(raw.encode())
    digest.update(_ID_SEPARATOR)
    return digest.hexdigest()


_ID_SEPARATOR = b"\x1f"  # what stable_id writes after each part
_ID_PREFIXES: dict[str, Any] = {}  # source format -> hash of its id prefix (one per format: a few)


def _id_prefix(source_format: str) -> Any:
    digest = hashlib.blake2b(digest_size=16)  # base.stable_id's hash (the tests compare the two)
    for part in (FAMILY, source_format):
        digest.update(part.encode())
        digest.update(_ID_SEPARATOR)
    return digest


_NO_POSITION = RecordMeta()


def event_template(source_format: str, class_uid: int, activity_id: int, **shared: Any) -> dict:
    """What ``new_event`` makes for every event of one format before the record's own values.

    A format copies it per event (``start_event``) and sets the rest by key: a dict copy and a dozen
    stores cost a tenth of a ``new_event`` call, which passes 35 fields through keyword arguments.
    Every value set afterwards must be what ``new_event`` would store: not None where its default is
    text (tests check each format's events against ``new_event`` of their own values).
    """
    return new_event(event_id="", time=0, source_family=FAMILY, source_format=source_format, class_uid=class_uid,
                     activity_id=activity_id, raw="", meta=_NO_POSITION, **shared)


def start_event(template: dict, event_id: str, time: int, raw: str, meta: RecordMeta) -> dict:
    """A new event from ``template`` with the values every record has."""
    event = template.copy()
    event["event_id"] = event_id
    event["time"] = time
    event["raw"] = raw
    event["kafka_topic"] = meta.topic
    event["kafka_partition"] = meta.partition
    event["kafka_offset"] = meta.offset
    return event


def http_template(source_format: str) -> dict:
    """The template of a format's OCSF HTTP Activity events (their activity is set per event)."""
    return event_template(source_format, OCSF_HTTP_ACTIVITY, HTTP_ACTIVITY_UNKNOWN)


def start_http_event(template: dict, event_id: str, time: int, raw: str, meta: RecordMeta, *,
                     method: str, status_code: int | None, target_host: str, outcome: str | None = None) -> dict:
    """An HTTP Activity event from ``http_template``; the service is the host the request went to."""
    event = start_event(template, event_id, time, raw, meta)
    activity = http_activity(method)
    event["activity_id"] = activity
    event["type_uid"] = OCSF_HTTP_ACTIVITY * 100 + activity
    event["action"] = method
    event["status_code"] = status_code
    event["outcome"] = outcome or http_outcome(status_code)
    event["target_host"] = target_host
    event["service"] = target_host
    return event

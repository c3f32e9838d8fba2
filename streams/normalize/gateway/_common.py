"""Helpers shared by the gateway formats: lenient text, hosts, HTTP status, time, ids.

Everything here runs once or more per event, so it avoids regexes and URL parsers: the inputs are
short, and ``str.find``/``str.split`` do the work several times faster.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from schemas.event import HTTP_ACTIVITY_BY_METHOD, OCSF_HTTP_ACTIVITY
from streams.normalize.base import (
    NormalizeError,
    RecordMeta,
    as_int,
    as_str,
    checked_ms,
    epoch_ms_from_clf,
    epoch_ms_from_iso,
    first_present,
    new_event,
    stable_id,
)

FAMILY = "gateway"

HTTP_ACTIVITY_UNKNOWN = 0  # OCSF: no method at all
HTTP_ACTIVITY_OTHER = 99  # OCSF: a method outside the standard list (PROPFIND, junk ...)

_MAX_EVENT_ID = 256  # schemas.event: event_id max_length


# --- values ------------------------------------------------------------------------------------------

def text(value: Any) -> str:
    """``as_str``, with the ``-`` that nginx, Envoy, Squid and API Gateway write for "no value" as ''."""
    result = value if type(value) is str else as_str(value)  # fast path: called ~10 times an event
    return "" if result == "-" else result


def first_text(record: dict, keys: tuple[str, ...]) -> str:
    """The first of ``keys`` with a non-empty value in ``record``, as text ('' if none)."""
    return first_present(record, keys, text)


def first_value(record: dict, keys: tuple[str, ...]) -> Any:
    """The first of ``keys`` present with a value other than None, '' or '-'."""
    for key in keys:
        value = record.get(key)
        if value is not None and value != "" and value != "-":
            return value
    return None


def to_int(value: Any) -> int | None:
    """``as_int`` that also turns float overflow and NaN into ``NormalizeError``."""
    if type(value) is int and -(2**63) <= value < 2**63:
        return value
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


@lru_cache(maxsize=8192)
def _plain_ipv4(text_ip: str) -> str:
    # Same rule as base.normalize_ip (anonymised logs write 035.249.253.232). Cached: a log's
    # clients and servers repeat, and the per-octet check would otherwise cost ~1.5 us an event.
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


@lru_cache(maxsize=2048)
def epoch_ms_from_clf_cached(value: str) -> int:
    """``epoch_ms_from_clf`` for access-log lines: consecutive lines share their second, and
    ``strptime`` costs ~10 us, so a small cache makes the common case a dict lookup."""
    return epoch_ms_from_clf(value)


# --- events ------------------------------------------------------------------------------------------

def source_id(candidate: str, source_format: str, raw: str) -> str:
    """The source's own id when it has a usable one, else a content hash of the record."""
    if candidate and len(candidate) <= _MAX_EVENT_ID:
        return candidate
    return stable_id(FAMILY, source_format, raw)


def http_event(
    *,
    source_format: str,
    raw: str,
    meta: RecordMeta,
    event_id: str,
    time: int,
    method: str,
    status_code: int | None,
    target_host: str,
    outcome: str | None = None,
    **fields: Any,
) -> dict:
    """An OCSF HTTP Activity event; the service is the host the request went to."""
    return new_event(
        event_id=event_id,
        time=time,
        source_family=FAMILY,
        source_format=source_format,
        class_uid=OCSF_HTTP_ACTIVITY,
        activity_id=http_activity(method),
        raw=raw,
        meta=meta,
        action=method,
        status_code=status_code,
        outcome=outcome or http_outcome(status_code),
        target_host=target_host,
        service=target_host,
        **fields,
    )

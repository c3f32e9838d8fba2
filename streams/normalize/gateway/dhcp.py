"""Zeek ``dhcp.log`` as JSON: which device held which internal address, and for how long.

A record is one DHCP exchange (Zeek joins DISCOVER/OFFER/REQUEST/ACK by transaction): ``assigned_addr``
and ``lease_time`` (seconds) say which address the server handed out and until when; ``mac``,
``host_name`` and ``client_fqdn`` name the device. Identity resolution (``streams.enrich.identity``)
turns an acknowledged lease into a device binding of that address; the event itself is OCSF DHCP
Activity. Zeek writes ``uids`` (a set), not ``uid``: the id is the uids with the record's ``ts``.
"""

from __future__ import annotations

from typing import Any

from schemas.event import OCSF_DHCP_ACTIVITY
from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway._common import (
    address_ip,
    epoch_ms_from_decimal,
    epoch_ms_from_iso,
    event_template,
    source_id,
    start_event,
    text,
)

FORMAT = "zeek_dhcp"

# OCSF DHCP Activity (4004) activity ids.
DHCP_ASSIGN, DHCP_RENEW, DHCP_RELEASE, DHCP_ERROR, DHCP_OTHER = 1, 2, 3, 4, 99
_TEMPLATE = event_template(FORMAT, OCSF_DHCP_ACTIVITY, DHCP_OTHER, action="dhcp")
_MARKERS = ("assigned_addr", "lease_time", "msg_types", "client_fqdn")


def detect(record: dict) -> bool:
    path = record.get("_path")
    if path is not None:
        return path == "dhcp"
    return "mac" in record and not record.keys().isdisjoint(_MARKERS)


def _time(value: Any) -> int:
    if isinstance(value, str) and ("T" in value or "-" in value):
        return epoch_ms_from_iso(value)
    if value is None:
        raise NormalizeError("missing_time", "Zeek dhcp record has no ts")
    return epoch_ms_from_decimal(value)


def _msg_types(record: dict) -> list[str]:
    types = record.get("msg_types")
    if types is None:
        return []
    if not isinstance(types, list):
        raise NormalizeError("wrong_type", "'msg_types' is not a list")
    return [text(item).upper() for item in types]


def lease_seconds(record: dict) -> int | None:
    """The lease time in whole seconds (Zeek writes an interval, e.g. ``86400.0``), None without one."""
    value = record.get("lease_time")
    if value is None or value == "-":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise NormalizeError("wrong_type", "'lease_time' is not a number")
    seconds = epoch_ms_from_decimal(value) // 1000
    if seconds < 0:
        raise NormalizeError("bad_value", "negative lease time")
    return seconds


def _activity(types: list[str]) -> tuple[int, str]:
    if "NAK" in types or "DECLINE" in types:
        return DHCP_ERROR, "failure"
    if "RELEASE" in types:
        return DHCP_RELEASE, "success"
    if "ACK" in types:
        return (DHCP_ASSIGN if "DISCOVER" in types or "OFFER" in types else DHCP_RENEW), "success"
    return DHCP_OTHER, "unknown"


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    time = _time(record.get("ts"))
    types = _msg_types(record)
    lease = lease_seconds(record)
    uids = record.get("uids")
    if uids is not None and not isinstance(uids, list):
        raise NormalizeError("wrong_type", "'uids' is not a list")
    assigned = address_ip(text(record.get("assigned_addr")))
    client = address_ip(text(record.get("client_addr")))
    uid_text = ",".join(text(uid) for uid in uids or ())
    event = start_event(_TEMPLATE, source_id(f"{uid_text}:dhcp:{text(record.get('ts'))}" if uid_text else "",
                                             FORMAT, raw), time, raw, meta)
    activity, outcome = _activity(types)
    event["activity_id"] = activity
    event["type_uid"] = OCSF_DHCP_ACTIVITY * 100 + activity
    event["action"] = "dhcp_" + "_".join(t.lower() for t in types) if types else "dhcp"
    # The address the exchange is about: the one assigned, else the one the client already had.
    event["src_ip"] = assigned or client
    event["target_host"] = text(record.get("client_fqdn")).rstrip(".").lower() or text(record.get("host_name")).lower()
    event["target_resource"] = text(record.get("mac")).lower()
    event["service"] = "dhcp"
    event["outcome"] = outcome
    event["status_detail"] = "" if lease is None else f"lease {lease}s"
    return event

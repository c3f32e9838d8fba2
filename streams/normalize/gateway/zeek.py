"""Zeek ``ssl.log`` and ``dns.log`` as JSON (``LogAscii::use_json``), one record per line.

``ts`` is epoch seconds (Zeek's default) or ISO-8601 (``JSON::TS_ISO8601``). The connection
fields are flat dotted keys (``id.orig_h``); some shippers nest them (``{"id": {"orig_h": ...}}``),
so both are read. ``_path`` names the log when the writer adds it; otherwise the fields tell.

Event ids: an ssl record is one per connection, so ``<uid>:ssl`` is unique. A dns connection
(``uid``) carries many queries (a resolver reuses its socket: 53,615 dns records in the Zeek sample
share 19,183 uids), so a dns id adds the transaction id and the record's own ``ts``.
"""

from __future__ import annotations

from typing import Any

from schemas.event import DNS_QUERY, NETWORK_TRAFFIC, OCSF_DNS_ACTIVITY, OCSF_NETWORK_ACTIVITY
from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway._common import (
    address_ip,
    endpoint,
    epoch_ms_from_decimal,
    epoch_ms_from_iso,
    event_template,
    host_of,
    source_id,
    start_event,
    text,
    to_int,
)

FORMAT_SSL = "zeek_ssl"
FORMAT_DNS = "zeek_dns"
FORMATS = (FORMAT_SSL, FORMAT_DNS)

_DNS_FIELDS = ("query", "qtype_name", "rcode_name", "trans_id", "answers")
_SSL_FIELDS = ("server_name", "ssl_history", "established", "cipher", "resumed")
_FLAT_ID_KEYS = {field: f"id.{field}" for field in ("orig_h", "orig_p", "resp_h", "resp_p")}
_SSL_TEMPLATE = event_template(FORMAT_SSL, OCSF_NETWORK_ACTIVITY, NETWORK_TRAFFIC, action="tls_client_hello")
_DNS_TEMPLATE = event_template(FORMAT_DNS, OCSF_DNS_ACTIVITY, DNS_QUERY, action="dns_query")


def log_type(record: dict) -> str:
    """``zeek_ssl``, ``zeek_dns`` or '' for a record that is not one of those two Zeek logs."""
    if "uid" not in record or ("id.orig_h" not in record and not isinstance(record.get("id"), dict)):
        return ""
    path = record.get("_path")
    if path is not None:
        return FORMAT_SSL if path == "ssl" else FORMAT_DNS if path == "dns" else ""
    if not record.keys().isdisjoint(_DNS_FIELDS):
        return FORMAT_DNS
    if not record.keys().isdisjoint(_SSL_FIELDS):
        return FORMAT_SSL
    return ""


def detect(record: dict) -> bool:
    return bool(log_type(record))


def _conn(record: dict, field: str) -> Any:
    """``id.<field>``: flat dotted key, or nested under ``id``."""
    value = record.get(_FLAT_ID_KEYS[field])
    if value is None:
        nested = record.get("id")
        if isinstance(nested, dict):
            value = nested.get(field)
    return value


def _time(value: Any) -> int:
    if isinstance(value, str) and ("T" in value or "-" in value):
        return epoch_ms_from_iso(value)
    if value is None:
        raise NormalizeError("missing_time", "Zeek record has no ts")
    return epoch_ms_from_decimal(value)


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    return normalize_log(log_type(record), record, raw, meta)


def normalize_log(kind: str, record: dict, raw: str, meta: RecordMeta) -> dict:
    """``normalize`` for a record whose ``log_type`` is ``kind`` (already known to the caller)."""
    if kind == FORMAT_SSL:
        return _ssl(record, raw, meta)
    if kind == FORMAT_DNS:
        return _dns(record, raw, meta)
    raise NormalizeError("unknown_format", "not a Zeek ssl or dns record")


def _uid_time_source(record: dict) -> tuple[str, int, str]:
    uid = text(record.get("uid"))
    if not uid:
        raise NormalizeError("missing_field", "Zeek record has no uid")
    time = _time(record.get("ts"))
    src_ip = address_ip(text(_conn(record, "orig_h")))
    return uid, time, src_ip


def _ssl(record: dict, raw: str, meta: RecordMeta) -> dict:
    uid, time, src_ip = _uid_time_source(record)
    established = record.get("established")
    if established is not None and not isinstance(established, bool):
        raise NormalizeError("wrong_type", "'established' is not a boolean")
    validation = text(record.get("validation_status"))
    problems = (text(record.get("last_alert")), "" if validation == "ok" else validation)
    # The SNI is the only name a TLS connection reveals; without one the host is unknown.
    server_name = host_of(text(record.get("server_name")))
    event = start_event(_SSL_TEMPLATE, source_id(f"{uid}:ssl", FORMAT_SSL, raw), time, raw, meta)
    event["src_ip"] = src_ip
    event["target_host"] = server_name
    event["service"] = server_name
    event["target_resource"] = endpoint(address_ip(text(_conn(record, "resp_h"))), to_int(_conn(record, "resp_p")))
    event["outcome"] = "unknown" if established is None else "success" if established else "failure"
    event["status_detail"] = "; ".join(problem for problem in problems if problem)
    return event


def _dns(record: dict, raw: str, meta: RecordMeta) -> dict:
    uid, time, src_ip = _uid_time_source(record)
    answers = record.get("answers")
    if answers is None:
        answers = []
    elif not isinstance(answers, list):
        raise NormalizeError("wrong_type", "'answers' is not a list")
    query = text(record.get("query")).rstrip(".").lower()
    rcode = text(record.get("rcode_name"))
    trans_id = to_int(record.get("trans_id"))
    event_id = source_id(f"{uid}:dns:{'' if trans_id is None else trans_id}:{text(record.get('ts'))}", FORMAT_DNS, raw)
    event = start_event(_DNS_TEMPLATE, event_id, time, raw, meta)
    event["src_ip"] = src_ip
    event["target_host"] = query
    event["service"] = query
    # What the name resolved to: lets IP-only traffic be tied back to the name.
    event["target_resource"] = ",".join(text(answer) for answer in answers)
    # No rcode means Zeek saw no reply.
    event["outcome"] = "unknown" if not rcode else "success" if rcode == "NOERROR" else "failure"
    event["status_detail"] = rcode
    return event

"""Gateway and egress logs: API gateways, proxies and network sensors that see traffic leave.

JSON records: AWS API Gateway, Envoy/Istio, Kong, Zeek ssl/dns/dhcp, ZPA user sessions. Text lines: nginx,
Squid. The DHCP leases and ZTNA sessions say who is behind an internal address (``streams.enrich.identity``).
A message may be one JSON object, a JSON array of them (Kong batches), JSON lines or text lines;
each record is matched to its format by the fields it has, so one topic can carry them all.
"""

from __future__ import annotations

from typing import Any

from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway import apigw, dhcp, envoy, kong, nginx, squid, vpn, zeek
from streams.normalize.redact import Redactor

ACCEPTS_TEXT = True

# Zeek (sensor logs, the most voluminous) is tried first, by its log type; then these, whose detect()
# is a few dict lookups each.
_OTHER_JSON_FORMATS = (kong, envoy, apigw, dhcp, vpn)
FORMATS: tuple[str, ...] = (
    apigw.FORMAT, envoy.FORMAT, kong.FORMAT, nginx.FORMAT, squid.FORMAT, *zeek.FORMATS, dhcp.FORMAT, vpn.FORMAT,
)

__all__ = ["ACCEPTS_TEXT", "FORMATS", "normalize", "split"]


def split(document: Any) -> list[Any]:
    """A JSON array is a batch of records; anything else is one record.

    An empty array stays one (empty) record so that it is reported as a failure instead of leaving
    no trace; raising here would fail every other line of a JSON-lines message with it.
    """
    if isinstance(document, list) and document:
        return document
    return [document]


def normalize(record: Any, raw: str, meta: RecordMeta, redactor: Redactor | None = None) -> dict:
    if isinstance(record, dict):
        zeek_log = zeek.log_type(record)
        if zeek_log:
            return zeek.normalize_log(zeek_log, record, raw, meta)
        for module in _OTHER_JSON_FORMATS:
            if module.detect(record):
                return module.normalize(record, raw, meta)
        raise NormalizeError("unknown_format", "no gateway JSON format has these fields")
    if isinstance(record, str):
        line = record.strip()
        if squid.detect(line):
            return squid.normalize(line, raw, meta)
        if nginx.detect(line):
            return nginx.normalize(line, raw, meta)
        raise NormalizeError("unknown_format", "line is neither an nginx nor a Squid access-log line")
    if record == []:
        raise NormalizeError("empty", "JSON array with no records")
    raise NormalizeError("unknown_format", f"record is a JSON {type(record).__name__}, not an object")

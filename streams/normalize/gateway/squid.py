"""Squid's native access.log lines (``logformat squid``)::

    time.ms  elapsed client code/status bytes method URL user hierarchy/peer mime-type
    1741515332.120    812 10.20.3.14 TCP_TUNNEL/200 6120 CONNECT api.openai.com:443 alice HIER_DIRECT/104.18.7.192 -

Fields are separated by runs of spaces (elapsed is padded) and Squid escapes spaces inside
values, so ``str.split`` is the whole parser. For CONNECT the URL is ``host:port``; without
SSL-bump that host is all an egress proxy learns about HTTPS traffic.
"""

from __future__ import annotations

from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway._common import (
    address_ip,
    byte_count,
    epoch_ms_from_decimal,
    host_of,
    host_of_url,
    http_status,
    http_template,
    source_id,
    start_http_event,
)

FORMAT = "squid"
_FIELDS = 10
_TEMPLATE = http_template(FORMAT)


def detect(line: str) -> bool:
    """A first token of epoch seconds with milliseconds, and no tabs (Zeek's TSV logs also start
    with an epoch time, but separate fields with tabs)."""
    first = line.lstrip().split(" ", 1)[0]
    seconds, dot, millis = first.partition(".")
    return bool(dot) and seconds.isdigit() and millis.isdigit() and "\t" not in line


def normalize(line: str, raw: str, meta: RecordMeta) -> dict:
    fields = line.split()
    if len(fields) < _FIELDS:
        raise NormalizeError("truncated", f"Squid line has {len(fields)} of {_FIELDS} fields")
    timestamp, elapsed, client, result, size, method, url, user, hierarchy = fields[:9]
    result_code, slash, status_text = result.partition("/")
    if not slash or not elapsed.isdigit():
        raise NormalizeError("malformed_line", "expected elapsed ms and CODE/status in fields 2 and 4")
    method = "" if method in ("-", "NONE") else method  # NONE: Squid parsed no request
    url = "" if url == "-" else url
    if method.upper() == "CONNECT":
        host = host_of(url)
    else:
        host = host_of_url(url)
    peer_code, _, peer = hierarchy.partition("/")
    user = "" if user == "-" else user

    event = start_http_event(
        _TEMPLATE, source_id("", FORMAT, raw), epoch_ms_from_decimal(timestamp), raw, meta,
        method=method, status_code=http_status(status_text), target_host=host,
    )
    event["target_url"] = url
    # The server Squid actually connected to (HIER_DIRECT/<ip>) or the parent proxy.
    event["target_resource"] = "" if peer == "-" else peer
    event["actor"] = user
    event["actor_type"] = "proxy_user" if user else ""
    event["src_ip"] = address_ip(client)
    event["status_detail"] = f"{result_code} {peer_code}".strip()
    event["bytes_out"] = byte_count(size)
    return event

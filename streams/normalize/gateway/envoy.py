"""Envoy JSON access logs (``json_format``), including Istio's default JSON encoding.

Keys are chosen by whoever configured the log, so each field is read under the names seen in
practice: Envoy's docs name keys after headers (``x-request-id``, ``user-agent``, ``:authority``),
Istio after the operator (``request_id``, ``user_agent``, ``authority``). Values are ``-`` or null
when unset, and numbers may arrive as strings.

Example (Istio)::

    {"start_time": "2025-03-09T10:15:32.120Z", "method": "POST", "path": "/v1/chat/completions",
     "protocol": "HTTP/1.1", "response_code": 200, "response_flags": "-", "bytes_received": 1832,
     "bytes_sent": 5120, "duration": 812, "x_forwarded_for": null, "user_agent": "python-httpx/0.27",
     "request_id": "3f1c...", "authority": "api.openai.com", "upstream_host": "104.18.7.192:443",
     "downstream_remote_address": "10.1.4.17:51234", "requested_server_name": null}
"""

from __future__ import annotations

from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway._common import (
    address_ip,
    byte_count,
    epoch_ms_from_any,
    first_forwarded_ip,
    first_text,
    first_value,
    host_of,
    host_of_url,
    http_status,
    http_template,
    source_id,
    start_http_event,
    text,
)

FORMAT = "envoy"
_TEMPLATE = http_template(FORMAT)

_METHOD = ("method", ":method")
# The path before any route rewrite is what the client asked for.
_PATH = ("x-envoy-original-path", "x_envoy_original_path", "path", ":path")
_AUTHORITY = ("authority", ":authority", "host")
_SCHEME = ("scheme", ":scheme", "x-forwarded-proto", "x_forwarded_proto")
_REQUEST_ID = ("request_id", "x-request-id", "x_request_id")
_USER_AGENT = ("user_agent", "user-agent")
_FORWARDED_FOR = ("x_forwarded_for", "x-forwarded-for")
# The peer's mTLS identity (e.g. spiffe://cluster.local/ns/app/sa/agent) when the log includes it.
_PEER_IDENTITY = ("downstream_peer_uri_san", "source_principal")
_UPSTREAM = ("upstream_cluster", "route_name")
# Fields only an Envoy access log has; one of them plus start_time identifies the format.
_ENVOY_ONLY = ("response_flags", "response_code", "upstream_host", "bytes_sent", "downstream_remote_address")


def detect(record: dict) -> bool:
    return "start_time" in record and not record.keys().isdisjoint(_ENVOY_ONLY)


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    start_time = first_value(record, ("start_time",))
    if start_time is None:
        raise NormalizeError("missing_field", "Envoy record has no start_time")
    method = first_text(record, _METHOD)
    path = first_text(record, _PATH)
    authority = first_text(record, _AUTHORITY)
    sni = first_text(record, ("requested_server_name",))

    if method.upper() == "CONNECT" or not path:
        # A forward-proxy tunnel (or a TCP proxy log): the authority is the whole target.
        target_url = authority
    elif "://" in path:
        target_url = path
    else:
        scheme = first_text(record, _SCHEME)
        target_url = f"{scheme}://{authority}{path}" if scheme and authority else path
    host = host_of(authority) or host_of_url(target_url) or host_of(sni)

    status = http_status(record.get("response_code"))
    flags = text(record.get("response_flags"))
    details = text(record.get("response_code_details"))
    status_detail = "; ".join(part for part in (flags, details) if part)
    # No response (code 0) with a flag such as UF/UH/DC means the request failed in the proxy.
    outcome = "failure" if status is None and flags else None

    src_ip = address_ip(first_text(record, ("downstream_remote_address",)))
    if not src_ip:
        src_ip = first_forwarded_ip(first_text(record, _FORWARDED_FOR))
    actor = first_text(record, _PEER_IDENTITY)

    event = start_http_event(
        _TEMPLATE, source_id(first_text(record, _REQUEST_ID), FORMAT, raw), epoch_ms_from_any(start_time), raw, meta,
        method=method, status_code=status, target_host=host, outcome=outcome,
    )
    event["target_url"] = target_url
    event["target_resource"] = first_text(record, _UPSTREAM)
    if actor:
        event["actor"] = actor
        event["actor_type"] = "mtls_peer"
    event["src_ip"] = src_ip
    event["user_agent"] = first_text(record, _USER_AGENT)
    event["status_detail"] = status_detail
    event["bytes_in"] = byte_count(record.get("bytes_received"))
    event["bytes_out"] = byte_count(record.get("bytes_sent"))
    return event

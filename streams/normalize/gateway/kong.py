"""Kong Gateway log plugins (http-log, file-log, tcp-log, ...): one JSON object per request.

``target_host`` is the upstream service's host, not the Host the client sent to Kong: the client
always talks to Kong, and what posture rules need is where Kong sent the traffic (for an AI route,
the provider). ``target_url`` is the URL as the client requested it.

Example (abridged)::

    {"request": {"id": "9e0f...", "method": "POST", "uri": "/openai/v1/chat/completions",
                 "url": "https://kong.internal:8443/openai/v1/chat/completions", "size": 1911,
                 "headers": {"host": "kong.internal:8443", "user-agent": "OpenAI/Python 1.52.0"}},
     "response": {"status": 200, "size": 4382},
     "service": {"host": "api.openai.com", "name": "openai", "port": 443, "protocol": "https"},
     "consumer": {"id": "4b1b...", "username": "data-science-bot"},
     "client_ip": "10.20.3.14", "started_at": 1741515332120}
"""

from __future__ import annotations

from typing import Any

from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway._common import (
    address_ip,
    byte_count,
    epoch_ms_from_millis,
    host_of,
    host_of_url,
    http_status,
    http_template,
    source_id,
    start_http_event,
    text,
)

FORMAT = "kong"
_TEMPLATE = http_template(FORMAT)


def detect(record: dict) -> bool:
    return (
        isinstance(record.get("request"), dict)
        and isinstance(record.get("response"), dict)
        and ("started_at" in record or "client_ip" in record)
    )


def _object(record: dict, key: str) -> dict:
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NormalizeError("wrong_type", f"{key!r} is a {type(value).__name__}, not an object")
    return value


def _header(headers: dict, name: str) -> str:
    value: Any = headers.get(name)
    if isinstance(value, list):  # repeated headers are logged as a list
        value = value[0] if value else None
    return text(value)


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    request = _object(record, "request")
    response = _object(record, "response")
    service = _object(record, "service")
    consumer = _object(record, "consumer")
    request_headers = _object(request, "headers")
    response_headers = _object(response, "headers")
    if record.get("started_at") in (None, ""):
        raise NormalizeError("missing_field", "Kong record has no started_at")

    url = text(request.get("url"))
    host = (
        host_of(text(service.get("host")))
        or host_of(_header(request_headers, "host"))
        or host_of_url(url)
    )
    actor = text(consumer.get("username")) or text(consumer.get("custom_id")) or text(consumer.get("id"))
    if not actor:
        actor = text(_object(record, "authenticated_entity").get("id"))
    request_id = text(request.get("id")) or _header(response_headers, "x-kong-request-id")

    event = start_http_event(
        _TEMPLATE, source_id(request_id, FORMAT, raw), epoch_ms_from_millis(record["started_at"]), raw, meta,
        method=text(request.get("method")), status_code=http_status(response.get("status")), target_host=host,
    )
    event["target_url"] = url or text(request.get("uri"))
    event["target_resource"] = text(service.get("name")) or text(_object(record, "route").get("name"))
    if actor:
        event["actor"] = actor
        event["actor_type"] = "kong_consumer"
    event["src_ip"] = address_ip(text(record.get("client_ip")))
    event["user_agent"] = _header(request_headers, "user-agent")
    event["bytes_in"] = byte_count(request.get("size"))
    event["bytes_out"] = byte_count(response.get("size"))
    return event

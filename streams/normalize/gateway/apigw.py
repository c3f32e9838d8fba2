"""AWS API Gateway access logs in JSON (REST and HTTP APIs).

The JSON is whatever template the API owner wrote from ``$context`` variables, so key names vary:
the AWS examples use short names (``ip``, ``caller``, ``user``), "log everything" templates use
the variable's own dotted name as key (``identity.sourceIp``), and some nest (``{"identity": {...}}``).
Each field below is looked up under all three spellings. API Gateway writes ``-`` for empty values.

Example (the AWS console's JSON template)::

    {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "ip": "198.51.100.7", "caller": "-",
     "user": "-", "requestTime": "09/Mar/2025:10:15:32 +0000", "httpMethod": "POST",
     "resourcePath": "/v1/chat", "status": "200", "protocol": "HTTP/1.1", "responseLength": "512"}
"""

from __future__ import annotations

from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway._common import (
    address_ip,
    byte_count,
    epoch_ms_from_clf,
    epoch_ms_from_millis,
    first_text,
    host_of,
    http_status,
    http_template,
    source_id,
    start_http_event,
    text,
)

FORMAT = "aws_apigw"
_TEMPLATE = http_template(FORMAT)


# Identity fields, most specific first, each under its dotted and short spellings, with the actor
# type it means.
_ACTOR_FIELDS = (
    (("identity.userArn", "userArn"), "iam"),
    (("identity.user", "user"), "iam"),
    (("identity.caller", "caller"), "iam"),
    (("authorizer.principalId", "principalId"), "authorizer"),
    (("authorizer.claims.sub",), "jwt"),
    (("identity.cognitoIdentityId", "cognitoIdentityId"), "cognito"),
    (("identity.apiKeyId", "apiKeyId"), "api_key"),
)
_SOURCE_IP = ("identity.sourceIp", "ip", "sourceIp", "sourceIP")
_USER_AGENT = ("identity.userAgent", "userAgent")
_ERROR = ("error.message", "errorMessage", "integrationErrorMessage", "authorizer.error")
_NESTED = ("identity", "authorizer", "error")


def _flattened(record: dict) -> dict:
    """``record`` with nested ``identity``/``authorizer``/``error`` objects also under dotted keys.

    Most templates are flat, and then the record itself is returned (no copy).
    """
    nested = [key for key in _NESTED if isinstance(record.get(key), dict)]
    if not nested:
        return record
    flat = dict(record)
    for key in nested:
        for name, value in record[key].items():
            if isinstance(value, dict):  # authorizer.claims.<claim>
                for inner, inner_value in value.items():
                    flat.setdefault(f"{key}.{name}.{inner}", inner_value)
            else:
                flat.setdefault(f"{key}.{name}", value)
    return flat


def detect(record: dict) -> bool:
    return "requestId" in record and (
        "httpMethod" in record or "routeKey" in record or "requestTime" in record or "requestTimeEpoch" in record
    )


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    epoch = record.get("requestTimeEpoch")
    if epoch not in (None, "", "-"):
        time = epoch_ms_from_millis(epoch)
    elif text(record.get("requestTime")):
        time = epoch_ms_from_clf(text(record["requestTime"]))
    else:
        raise NormalizeError("missing_field", "API Gateway record has no requestTime or requestTimeEpoch")

    route_key = text(record.get("routeKey"))  # HTTP APIs: "POST /v1/chat" or "$default"
    method = text(record.get("httpMethod"))
    if not method and " " in route_key:
        method = route_key.split(" ", 1)[0]
    path = text(record.get("path")) or text(record.get("resourcePath"))
    host = host_of(text(record.get("domainName")))

    fields = _flattened(record)
    actor, actor_type = "", ""
    for keys, kind in _ACTOR_FIELDS:
        actor = first_text(fields, keys)
        if actor:
            actor_type = kind
            break

    event_id = source_id(text(record.get("requestId")) or text(record.get("extendedRequestId")), FORMAT, raw)
    event = start_http_event(_TEMPLATE, event_id, time, raw, meta,
                             method=method, status_code=http_status(record.get("status")), target_host=host)
    # API Gateway serves HTTPS only; $context has no query string.
    event["target_url"] = f"https://{host}{path}" if host and path.startswith("/") else path
    event["target_resource"] = text(record.get("resourcePath")) or route_key
    event["actor"] = actor
    event["actor_type"] = actor_type
    event["src_ip"] = address_ip(first_text(fields, _SOURCE_IP))
    event["user_agent"] = first_text(fields, _USER_AGENT)
    event["status_detail"] = first_text(fields, _ERROR)
    event["bytes_out"] = byte_count(record.get("responseLength"))
    event["cloud_account"] = text(record.get("accountId"))
    return event

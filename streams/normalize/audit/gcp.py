"""Google Cloud Audit Logs: a LogEntry whose ``protoPayload`` is a ``google.cloud.audit.AuditLog``.

Admin Activity, Data Access, System Event and Policy Denied logs share this shape, and so does GKE's
Kubernetes audit (``serviceName: k8s.io``). ``status`` carries a google.rpc code: it is absent or 0 when
the call succeeded; ``status_code`` holds the HTTP status Google defines for that code so it means the
same as in the other formats, and ``status_detail`` keeps the code's name and the message.
"""

from __future__ import annotations

from functools import lru_cache

from schemas.event import (
    API_CREATE,
    API_DELETE,
    API_OTHER,
    API_READ,
    API_UNKNOWN,
    API_UPDATE,
    OCSF_API_ACTIVITY,
)
from streams.normalize.audit._common import (
    audit_event,
    content_id,
    detail,
    event_time,
    first_text,
    leading_word,
    mapping,
    native_id,
    text,
)
from streams.normalize.base import (
    NormalizeError,
    RecordMeta,
    as_int,
    epoch_ms_from_iso,
    get_path,
    normalize_ip,
)

FORMAT = "gcp_audit"

AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"
# Where exports keep the payload's "@type" when "@" is not allowed in a column name.
_TYPE_KEYS = ("@type", "at_sign_type", "at_type")

# google.rpc.Code -> (name, HTTP status), as google/rpc/code.proto maps them.
GRPC_CODES = {
    0: ("OK", 200), 1: ("CANCELLED", 499), 2: ("UNKNOWN", 500), 3: ("INVALID_ARGUMENT", 400),
    4: ("DEADLINE_EXCEEDED", 504), 5: ("NOT_FOUND", 404), 6: ("ALREADY_EXISTS", 409),
    7: ("PERMISSION_DENIED", 403), 8: ("RESOURCE_EXHAUSTED", 429), 9: ("FAILED_PRECONDITION", 400),
    10: ("ABORTED", 409), 11: ("OUT_OF_RANGE", 400), 12: ("UNIMPLEMENTED", 501), 13: ("INTERNAL", 500),
    14: ("UNAVAILABLE", 503), 15: ("DATA_LOSS", 500), 16: ("UNAUTHENTICATED", 401),
}

# Calling a model reads it, as CloudTrail's InvokeModel does, though several of these start with a
# verb ("Generate...") that elsewhere creates something.
_MODEL_INVOCATION_METHODS = frozenset({
    "predict", "rawpredict", "streamrawpredict", "directpredict", "directrawpredict", "serverstreamingpredict",
    "streamingpredict", "explain", "generatecontent", "streamgeneratecontent", "counttokens", "embedcontent",
    "computetokens",
})
_ACTIVITY_BY_VERB = {
    **dict.fromkeys(("create", "insert", "add", "deploy", "import", "generate", "copy", "upload", "clone",
                     "register", "sign"), API_CREATE),
    **dict.fromkeys(("get", "list", "search", "query", "read", "lookup", "describe", "watch", "fetch", "access",
                     "download", "aggregated", "batchget", "test", "check", "export", "view"), API_READ),
    **dict.fromkeys(("update", "patch", "set", "replace", "modify", "enable", "disable", "start", "stop",
                     "reset", "resize", "attach", "detach", "move", "rotate", "restore", "undelete", "grant",
                     "revoke", "suspend", "resume", "cancel", "rollback"), API_UPDATE),
    **dict.fromkeys(("delete", "remove", "destroy", "purge", "disconnect"), API_DELETE),
}

_TIME_KEYS = ("timestamp", "receiveTimestamp")
_GFE_SUFFIX = ",gzip(gfe)"
_REGION_LABELS = ("location", "region", "zone", "cluster_location")
_ACTOR_KEYS = ("principalEmail", "principalSubject")
_CALLER_IP_KEYS = ("callerIp", "callerIP")


def detect(record: dict) -> bool:
    payload = record.get("protoPayload")
    if not isinstance(payload, dict):
        return False
    for key in _TYPE_KEYS:
        payload_type = payload.get(key)
        if payload_type:
            return payload_type == AUDIT_LOG_TYPE
    return "methodName" in payload or "serviceName" in payload  # exports that dropped the @type


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    payload = mapping(record.get("protoPayload"), "protoPayload")
    authentication = mapping(payload.get("authenticationInfo"), "authenticationInfo")
    request_metadata = mapping(payload.get("requestMetadata"), "requestMetadata")
    status = mapping(payload.get("status"), "status")
    resource_labels = mapping(mapping(record.get("resource"), "resource").get("labels"), "resource.labels")
    method = text(payload.get("methodName"))
    actor = first_text(authentication, _ACTOR_KEYS)
    code = as_int(status.get("code"))
    code_name, http_status = GRPC_CODES.get(code, (f"code {code}", 500)) if code is not None else ("", None)
    failed = bool(code)
    insert_id = text(record.get("insertId"))
    # Fields are read in this order so that, of several broken ones, the same one is reported each time.
    event = audit_event(
        event_id=native_id(insert_id) if insert_id else content_id(FORMAT, raw),
        time=_time(record, request_metadata),
        source_format=FORMAT,
        class_uid=OCSF_API_ACTIVITY,
        activity_id=_activity(method) if method else API_UNKNOWN,
        raw=raw,
        meta=meta,
    )
    event["actor"] = actor
    event["actor_type"] = _actor_type(actor)
    event["src_ip"] = normalize_ip(first_text(request_metadata, _CALLER_IP_KEYS))
    event["user_agent"] = _user_agent(text(request_metadata.get("callerSuppliedUserAgent")))
    event["action"] = method
    event["service"] = text(payload.get("serviceName"))
    event["target_resource"] = text(payload.get("resourceName"))
    event["outcome"] = "failure" if failed else "success"
    event["status_code"] = http_status
    if failed:
        event["status_detail"] = detail(code_name, text(status.get("message")))
    event["cloud_account"] = text(resource_labels.get("project_id")) or _project_of(text(record.get("logName")))
    event["cloud_region"] = _region(first_text(resource_labels, _REGION_LABELS) or _payload_location(payload))
    return event


@lru_cache(maxsize=4096)
def _activity(method: str) -> int:
    last = method.rsplit(".", 1)[-1]
    if last.lower() in _MODEL_INVOCATION_METHODS:
        return API_READ
    return _ACTIVITY_BY_VERB.get(leading_word(last), API_OTHER)


def _time(record: dict, request_metadata: dict) -> int:
    """The entry's timestamp; exports that dropped it may keep the request's own time."""
    try:
        return event_time(record, _TIME_KEYS)
    except NormalizeError as error:
        request_time = get_path(request_metadata, "requestAttributes", "time")
        if error.reason != "missing_time" or not request_time:
            raise
        return epoch_ms_from_iso(request_time)


def _user_agent(agent: str) -> str:
    """The caller's user agent without the ``,gzip(gfe)`` that Google's front ends append (once per hop)."""
    while agent.endswith(_GFE_SUFFIX):
        agent = agent[: -len(_GFE_SUFFIX)]
    return agent


def _actor_type(actor: str) -> str:
    if not actor:
        return ""
    if actor.endswith(".gserviceaccount.com") or actor.startswith(("serviceAccount:", "system:serviceaccount:")):
        return "ServiceAccount"
    if actor.startswith("system:"):
        return "System"
    return "User"


def _project_of(log_name: str) -> str:
    """``projects/<id>/logs/...`` -> ``<id>``; org- and folder-level logs have no project."""
    if not log_name.startswith("projects/"):
        return ""
    return log_name.split("/", 2)[1]


def _region(location: str) -> str:
    """A region from a location label: zones (``us-central1-f``) lose the zone letter, ``global`` is none."""
    if location == "global":
        return ""
    if len(location) > 2 and location[-2] == "-" and location[-1].isalpha() and location[-3].isdigit():
        return location[:-2]
    return location


def _payload_location(payload: dict) -> str:
    locations = mapping(payload.get("resourceLocation"), "resourceLocation").get("currentLocations")
    if isinstance(locations, list) and locations:
        return text(locations[0])
    if locations is not None and not isinstance(locations, list):
        raise NormalizeError("wrong_type", "resourceLocation.currentLocations is not a list")
    return ""

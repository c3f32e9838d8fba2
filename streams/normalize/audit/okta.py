"""Okta System Log events (the ``/api/v1/logs`` objects, also as streamed through EventBridge).

Sign-in and session events become OCSF Authentication; everything else is API Activity, its
activity read from the last word of ``eventType`` (``user.lifecycle.create`` -> create).
``outcome.result`` SUCCESS/ALLOW is a success, FAILURE/DENY a failure; CHALLENGE, SKIPPED and
UNKNOWN leave the outcome unknown. Okta gives no HTTP status, so ``status_code`` stays empty.
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
    AUTH_LOGOFF,
    AUTH_LOGON,
    OCSF_API_ACTIVITY,
    OCSF_AUTHENTICATION,
)
from streams.normalize.audit._common import (
    audit_event,
    content_id,
    detail,
    event_time,
    mapping,
    native_id,
    text,
)
from streams.normalize.base import NormalizeError, RecordMeta, normalize_ip

FORMAT = "okta"

# eventType -> OCSF Authentication activity. "user.session.impersonation.*" and "user.session.clear"
# are administrators acting on sessions, not sign-ins, so they stay API Activity.
_AUTHENTICATION_EVENTS = {
    "user.session.start": AUTH_LOGON,
    "user.session.end": AUTH_LOGOFF,
    "user.session.expire": AUTH_LOGOFF,
    "user.session.access_admin_app": AUTH_LOGON,
}
_AUTHENTICATION_PREFIX = "user.authentication."

_ACTIVITY_BY_VERB = {
    **dict.fromkeys(("create", "add", "generate", "import", "register", "enroll", "initiate", "request",
                     "issue"), API_CREATE),
    **dict.fromkeys(("read", "list", "get", "view", "show", "access", "download", "export", "search"), API_READ),
    **dict.fromkeys(("update", "change", "modify", "reset", "grant", "revoke", "activate", "deactivate",
                     "suspend", "unsuspend", "unlock", "lock", "enable", "disable", "push", "assign",
                     "unassign", "set", "reactivate", "verify", "expire", "rotate"), API_UPDATE),
    **dict.fromkeys(("delete", "remove", "destroy", "clear", "deprovision"), API_DELETE),
}

_TIME_KEYS = ("published",)
_ACTOR_KEYS = ("alternateId", "id", "displayName")
_TARGET_KEYS = ("alternateId", "displayName", "id")

_SUCCESS_RESULTS = frozenset({"SUCCESS", "ALLOW"})
_FAILURE_RESULTS = frozenset({"FAILURE", "DENY"})


def detect(record: dict) -> bool:
    event_type = record.get("eventType")
    if not (isinstance(event_type, str) and "." in event_type):
        return False
    # Spelled out: a generator over a tuple of keys costs more than the rest of detection put together.
    return "published" in record or "uuid" in record or "actor" in record or "outcome" in record


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    event_type = text(record.get("eventType"))
    actor = mapping(record.get("actor"), "actor")
    client = mapping(record.get("client"), "client")
    user_agent = mapping(client.get("userAgent"), "client.userAgent")
    outcome_record = mapping(record.get("outcome"), "outcome")
    result = text(outcome_record.get("result")).upper()
    outcome = "success" if result in _SUCCESS_RESULTS else "failure" if result in _FAILURE_RESULTS else "unknown"
    logon_activity = _authentication_activity(event_type)
    uuid = text(record.get("uuid"))
    # Fields are read in this order so that, of several broken ones, the same one is reported each time.
    event = audit_event(
        event_id=native_id(uuid) if uuid else content_id(FORMAT, raw),
        time=event_time(record, _TIME_KEYS),
        source_format=FORMAT,
        class_uid=OCSF_AUTHENTICATION if logon_activity else OCSF_API_ACTIVITY,
        activity_id=logon_activity or _activity(event_type),
        raw=raw,
        meta=meta,
    )
    event["actor"] = _identity(actor, _ACTOR_KEYS)
    event["actor_type"] = text(actor.get("type"))
    event["src_ip"] = normalize_ip(client.get("ipAddress"))
    event["user_agent"] = text(user_agent.get("rawUserAgent"))
    event["action"] = event_type
    event["service"] = "okta"
    event["target_resource"] = _first_target(record.get("target"))
    event["outcome"] = outcome
    if outcome != "success":
        event["status_detail"] = detail(result, text(outcome_record.get("reason")))
    return event


def _authentication_activity(event_type: str) -> int:
    activity = _AUTHENTICATION_EVENTS.get(event_type)
    if activity is not None:
        return activity
    return AUTH_LOGON if event_type.startswith(_AUTHENTICATION_PREFIX) else 0


@lru_cache(maxsize=4096)
def _activity(event_type: str) -> int:
    if not event_type:
        return API_UNKNOWN
    verb = event_type.rsplit(".", 1)[-1].split("_", 1)[0]
    return _ACTIVITY_BY_VERB.get(verb, API_OTHER)


def _first_target(targets: object) -> str:
    if targets is None:
        return ""
    if not isinstance(targets, list):
        raise NormalizeError("wrong_type", "target is not a list")
    if not targets:
        return ""
    return _identity(mapping(targets[0], "target[0]"), _TARGET_KEYS)


def _identity(entity: dict, keys: tuple[str, ...]) -> str:
    """The first named value of an actor or target; Okta writes ``unknown`` where it has none."""
    for key in keys:
        value = entity.get(key)
        if value is not None:
            value = text(value)
            if value and value.lower() != "unknown":
                return value
    return ""

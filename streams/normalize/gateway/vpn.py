"""ZTNA user sessions: Zscaler Private Access (ZPA) User Status logs, JSON from its Log Streaming Service.

One record per change of a user's session: ``SessionStatus`` ``ZPN_STATUS_AUTHENTICATED`` at login and
``ZPN_STATUS_DISCONNECTED`` at logout (``ZPN_STATUS_AUTH_FAILED`` for a refused one), with the user
(``Username``), the session (``SessionID``), the address the client got inside (``PrivateIP``), the one
it came from (``PublicIP``) and the login and logout times (``TimestampAuthentication``,
``TimestampUnAuthentication``). Identity resolution (``streams.enrich.identity``) binds the private
address to the user from login to logout. The event is an OCSF Authentication Logon / Logoff whose
source is the private address (what the user's traffic carries inside the network).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.event import AUTH_LOGOFF, AUTH_LOGON, OCSF_AUTHENTICATION
from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway._common import (
    address_ip,
    epoch_ms_from_any,
    event_template,
    source_id,
    start_event,
    text,
)

FORMAT = "zpa_user_status"
AUTHENTICATED, DISCONNECTED, AUTH_FAILED = "ZPN_STATUS_AUTHENTICATED", "ZPN_STATUS_DISCONNECTED", "ZPN_STATUS_AUTH_FAILED"
_TEMPLATE = event_template(FORMAT, OCSF_AUTHENTICATION, AUTH_LOGON, service="zpa")
_CTIME = "%a %b %d %H:%M:%S %Y"  # LogTimestamp: "Mon Jul 22 13:36:34 2019"


def detect(record: dict) -> bool:
    return "SessionStatus" in record and "Username" in record


def session_time(value: Any) -> int | None:
    """Epoch ms of a ZPA time field (ISO-8601, epoch seconds or ms, or LogTimestamp's ctime form);
    None when absent (ZPA writes '' or 0 for a logout that has not happened)."""
    if value is None or value == "" or value == 0 or value == "0":
        return None
    if isinstance(value, str) and value[:3].isalpha():
        try:
            parsed = datetime.strptime(value.strip(), _CTIME).replace(tzinfo=UTC)
        except ValueError as exc:
            raise NormalizeError("bad_time", f"unparseable time {value[:40]!r}") from exc
        return int(parsed.timestamp()) * 1000
    return epoch_ms_from_any(value)


def normalize(record: dict, raw: str, meta: RecordMeta) -> dict:
    status = text(record.get("SessionStatus"))
    user = text(record.get("Username"))
    login = session_time(record.get("TimestampAuthentication"))
    logout = session_time(record.get("TimestampUnAuthentication"))
    logged = session_time(record.get("LogTimestamp"))
    time = (logout if status == DISCONNECTED else login) or logged or login or logout
    if time is None:
        raise NormalizeError("missing_time", "ZPA record has no time")
    session = text(record.get("SessionID"))
    event_id = source_id(f"zpa:{session}:{status}" if session else "", FORMAT, raw)
    event = start_event(_TEMPLATE, event_id, time, raw, meta)
    activity = AUTH_LOGOFF if status == DISCONNECTED else AUTH_LOGON
    event["activity_id"] = activity
    event["type_uid"] = OCSF_AUTHENTICATION * 100 + activity
    event["action"] = status.removeprefix("ZPN_STATUS_").lower() or "session"
    event["actor"] = user
    event["actor_type"] = "user" if user else ""
    event["src_ip"] = address_ip(text(record.get("PrivateIP")))
    event["target_host"] = text(record.get("Hostname")).lower()
    event["target_resource"] = session
    event["user_agent"] = " ".join(part for part in (text(record.get("ClientType")), text(record.get("Version")),
                                                     text(record.get("Platform"))) if part)
    event["outcome"] = "failure" if status == AUTH_FAILED else "success" if status else "unknown"
    event["status_detail"] = f"public_ip={address_ip(text(record.get('PublicIP')))}" if record.get("PublicIP") else ""
    return event

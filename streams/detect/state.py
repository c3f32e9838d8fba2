"""State for rules that remember (bursts, sequences, learned facts), bounded and restart-safe.

Everything lives in one ``MutableMapping[str, dict]`` handed in by the caller: a plain dict offline,
a Faust table in the stream. Values are plain JSON-able dicts, always written back whole with
``state[key] = value`` (a Faust table only records assignments, not in-place edits), so a restart
that restores the mapping forgets nothing. Every value carries ``expires_ms``; :func:`sweep` deletes
what has expired, and per-key lists are pruned to their time window and capped on every write.

Keys are ``<rule id>|<account>|<principal>`` for per-principal memory. Time is the event's own time,
never the wall clock, so replaying old logs gives the same verdicts.

Delivery is at-least-once, so a rule can see an event it has already applied (a redelivered batch
after a crash). Applying it again must change nothing: windowed entries are ``[time_ms, event_id,
...]`` and :func:`within` keeps one entry per event id; counters remember the ids they counted
(:func:`counted_before`, :func:`remember`). An event already applied yields no new finding: the
stream saves state only after the alerts of the events it covers were recorded.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import orjson

from schemas.finding import EVIDENCE_FIELDS
from streams.normalize.cloudtrail_record import ct

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def principal(event: dict) -> str:
    return event.get("actor") or event.get("src_ip") or "unknown"


def principal_key(rule_id: str, event: dict) -> str:
    return f"{rule_id}|{event.get('cloud_account', '')}|{principal(event)}"


def load(state: MutableMapping[str, dict], key: str, now_ms: int) -> dict[str, Any]:
    """A copy of the value under ``key``, or ``{}`` when absent or expired (but for what it counted)."""
    value = state.get(key)
    if not isinstance(value, dict):
        return {}
    if value.get("expires_ms", 0) < now_ms:
        # Expired, but the events it counted stay known until the sweep: a redelivered event older
        # than the expiry must not be applied to the fresh value as if it were new.
        return {"counted": value["counted"]} if value.get("counted") else {}
    return dict(value)


def store(state: MutableMapping[str, dict], key: str, value: dict[str, Any], now_ms: int, keep_ms: int) -> None:
    value["expires_ms"] = max(int(value.get("expires_ms", 0)), now_ms + keep_ms)
    state[key] = value


def entry(event: dict, *data: Any) -> list:
    """A windowed entry for ``event``: ``[time_ms, event_id, *data]``."""
    return [event["time"], str(event.get("event_id", "")), *data]


def within(entries: list, now_ms: int, window_ms: int, cap: int) -> list:
    """Entries (``[time_ms, event_id, ...]``) inside the window, one per event id, newest ``cap`` kept."""
    oldest = now_ms - window_ms
    kept: dict[str, list] = {}
    for item in entries:
        if _time_of(item) >= oldest:
            kept.setdefault(str(item[1]), item)
    ordered = sorted(kept.values(), key=_time_of)
    return ordered[-cap:]


def has_entry(entries: list, event: dict) -> bool:
    """Whether ``event`` is already among ``entries`` (it was applied before)."""
    event_id = str(event.get("event_id", ""))
    return any(str(item[1]) == event_id for item in entries)


# Event ids a counter remembers: redeliveries arrive within seconds of the original, long before
# this many later events of the same key.
REMEMBERED_IDS = 64


def counted_before(value: dict[str, Any], event: dict) -> bool:
    return str(event.get("event_id", "")) in value.get("counted", ())


def remember(value: dict[str, Any], event: dict) -> None:
    """Note that ``value`` now includes ``event`` (see :func:`counted_before`)."""
    value["counted"] = [*value.get("counted", ()), str(event.get("event_id", ""))][-REMEMBERED_IDS:]


# How long a decision is remembered: far longer than any redelivery takes.
DECISION_KEEP_MS = HOUR_MS


def first_decision(state: MutableMapping[str, dict], key: str, event: dict) -> bool:
    """True the first time ``event`` reaches a verdict that depends on state, and remembers it.

    A redelivered event must not be judged against state that later events built (a bucket learned
    as AI data after the event first went by): it gets no new verdict, and its first one stands.
    """
    now = event["time"]
    value = load(state, key, now)
    if counted_before(value, event):
        return False
    remember(value, event)
    store(state, key, value, now, DECISION_KEEP_MS)
    return True


def sweep(state: MutableMapping[str, dict], now_ms: int) -> int:
    """Delete expired values; returns how many. Run it now and then (e.g. every few minutes)."""
    expired = [key for key, value in list(state.items())
               if not isinstance(value, dict) or value.get("expires_ms", 0) < now_ms]
    for key in expired:
        del state[key]
    return len(expired)


def _time_of(item: list) -> int:
    return int(item[0])


def summary(event: dict, *params: str) -> dict[str, Any]:
    """What a finding about ``event`` needs of it, small enough to keep in a rule's state: the fields an
    alert shows, and of a CloudTrail record only who called (the credential remediation names) and the
    request parameters ``params``. For a rule that may raise a finding about the event later, when a
    step that arrives after it completes what it looks for."""
    kept: dict[str, Any] = {name: event[name] for name in (*EVIDENCE_FIELDS, "resolved_identity", "identity_source")
                            if event.get(name) not in (None, "")}
    if event.get("source_family") == "cloudtrail" and event.get("raw"):
        record = ct(event)
        requested = {name: value for name in params if (value := record.param(name)) not in (None, "")}
        kept["raw"] = orjson.dumps({"userIdentity": record.user_identity, "eventName": event.get("action", ""),
                                    "requestParameters": requested}).decode()
    return kept

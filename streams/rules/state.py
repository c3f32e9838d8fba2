"""State for rules that remember (bursts, sequences, learned facts), bounded and restart-safe.

Everything lives in one ``MutableMapping[str, dict]`` handed in by the caller: a plain dict offline,
a Faust table in the stream. Values are plain JSON-able dicts, always written back whole with
``state[key] = value`` (a Faust table only records assignments, not in-place edits), so a restart
that restores the mapping forgets nothing. Every value carries ``expires_ms``; :func:`sweep` deletes
what has expired, and per-key lists are pruned to their time window and capped on every write.

Keys are ``<rule id>|<account>|<principal>`` for per-principal memory. Time is the event's own time,
never the wall clock, so replaying old logs gives the same verdicts.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def principal(event: dict) -> str:
    return event.get("actor") or event.get("src_ip") or "unknown"


def principal_key(rule_id: str, event: dict) -> str:
    return f"{rule_id}|{event.get('cloud_account', '')}|{principal(event)}"


def load(state: MutableMapping[str, dict], key: str, now_ms: int) -> dict[str, Any]:
    """A copy of the value under ``key``, or ``{}`` when absent or expired."""
    value = state.get(key)
    if not isinstance(value, dict) or value.get("expires_ms", 0) < now_ms:
        return {}
    return dict(value)


def store(state: MutableMapping[str, dict], key: str, value: dict[str, Any], now_ms: int, keep_ms: int) -> None:
    value["expires_ms"] = max(int(value.get("expires_ms", 0)), now_ms + keep_ms)
    state[key] = value


def within(entries: list, now_ms: int, window_ms: int, cap: int) -> list:
    """Entries (``[time_ms, ...]`` lists or bare times) inside the window, newest ``cap`` kept."""
    oldest = now_ms - window_ms
    kept = [entry for entry in entries if _time_of(entry) >= oldest]
    kept.sort(key=_time_of)
    return kept[-cap:]


def sweep(state: MutableMapping[str, dict], now_ms: int) -> int:
    """Delete expired values; returns how many. Run it now and then (e.g. every few minutes)."""
    expired = [key for key, value in list(state.items())
               if not isinstance(value, dict) or value.get("expires_ms", 0) < now_ms]
    for key in expired:
        del state[key]
    return len(expired)


def _time_of(entry: Any) -> int:
    return int(entry[0] if isinstance(entry, (list, tuple)) else entry)

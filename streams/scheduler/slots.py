"""When a job is due: pure functions of its interval, the last slot it finished and the time.

A job runs once per slot of its interval, slots aligned to the epoch (a daily job's slots start at
00:00 UTC, an hourly one's on the hour). What a restart must not do is decided here: a slot already
finished is not due again, and a slot that came due while nothing ran is due at once. Several slots
missed in a row are coalesced into one run for the latest (its ``missed`` says how many were passed
over): each job covers everything up to its run (retention deletes all that expired, rollups compact
every partition, retraining fits on the history before its slot), so running the older slots too would
repeat the same work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Due", "due", "next_run", "slot_of"]


def slot_of(at_s: float, interval_s: int) -> float:
    """Start (epoch seconds) of the slot that holds ``at_s``."""
    return math.floor(at_s / interval_s) * interval_s


@dataclass(frozen=True, slots=True)
class Due:
    slot_s: float
    """The slot to run for (the latest one started)."""
    missed: int
    """Slots after the last finished one and before this one, coalesced into this run."""


def due(interval_s: int, done_until_s: float | None, now_s: float) -> Due | None:
    """The run due at ``now_s`` given the latest finished slot (None: the job never finished a run)."""
    current = slot_of(now_s, interval_s)
    if done_until_s is not None and done_until_s >= current:
        return None
    missed = 0 if done_until_s is None else max(0, round((current - done_until_s) / interval_s) - 1)
    return Due(current, missed)


def next_run(interval_s: int, done_until_s: float | None, now_s: float) -> float:
    """When the job runs next: now's slot if it is due, else the slot after the last finished one."""
    upcoming = due(interval_s, done_until_s, now_s)
    if upcoming is not None:
        return upcoming.slot_s
    assert done_until_s is not None
    return slot_of(done_until_s, interval_s) + interval_s

"""The detection stream's event-time clock."""

from __future__ import annotations

from streams.detect.eventtime import EventClock

WALL = 1_800_000_000_000
HOUR = 3_600_000


def test_nothing_expires_before_any_event_is_seen() -> None:
    clock = EventClock()
    clock.observe([])
    assert clock.now_ms() is None


def test_the_clock_follows_the_newest_event_and_never_goes_back() -> None:
    clock = EventClock()
    clock.observe([{"time": WALL - 5 * HOUR}, {"time": WALL - 3 * HOUR}], wall_ms=WALL)
    assert clock.now_ms() == WALL - 3 * HOUR
    clock.observe([{"time": WALL - 9 * HOUR}], wall_ms=WALL)  # a late event
    assert clock.now_ms() == WALL - 3 * HOUR


def test_an_event_from_the_future_cannot_expire_everything() -> None:
    clock = EventClock(max_skew_ms=60_000)
    clock.observe([{"time": WALL + 365 * 24 * HOUR}], wall_ms=WALL)
    assert clock.now_ms() == WALL + 60_000


def test_a_replay_keeps_rule_state_until_event_time_passes_it() -> None:
    """Last month's logs: the wall clock would expire every burst window at once; event time does not."""
    from streams.detect import state as rule_state

    clock = EventClock()
    month_ago = WALL - 30 * 24 * HOUR
    state = {"burst": {"calls": [], "expires_ms": month_ago + HOUR}}
    clock.observe([{"time": month_ago + 10 * 60_000}], wall_ms=WALL)
    assert rule_state.sweep(state, clock.now_ms()) == 0
    assert rule_state.sweep(dict(state), WALL) == 1, "the wall clock would have expired it"

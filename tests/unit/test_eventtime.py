"""The detection stream's event-time clock."""

from __future__ import annotations

from streams.alerts import AlertDeduper
from streams.eventtime import EventClock

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


def test_a_replay_keeps_its_windows_open_until_event_time_passes_them() -> None:
    """Last month's logs: the wall clock would close every window at once; event time does not."""
    from tests.unit.test_alerts import _gateway_finding

    finding = _gateway_finding()
    deduper = AlertDeduper(HOUR, state={})
    clock = EventClock()
    month_ago = WALL - 30 * 24 * HOUR
    first = deduper.observe(finding, time_ms=month_ago)
    clock.observe([{"time": month_ago + 10 * 60_000}], wall_ms=WALL)
    assert deduper.expire(clock.now_ms()) == []
    repeat = deduper.observe(finding, time_ms=month_ago + 20 * 60_000)
    assert (repeat.alert_id, repeat.count) == (first.alert_id, 2)
    assert deduper.expire(WALL) == [first.key], "the wall clock would have closed it"

"""The detection stream's clock: how far event time has advanced, not what the wall clock says.

Alert windows and rule state are keyed by event time, so they must also expire by event time: a
replay of last month's logs through the stream would otherwise have every open window and burst
counter swept at the next tick and give different verdicts than the live run. The clock is the
largest event time seen, clamped to the wall clock plus a small skew so that one record with a
wrong year cannot expire everything at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

__all__ = ["EventClock"]


class EventClock:
    def __init__(self, max_skew_ms: int = 5 * 60_000) -> None:
        self.max_skew_ms = max_skew_ms
        self._watermark_ms: int | None = None

    def observe(self, events: Iterable[dict], wall_ms: int | None = None) -> None:
        """Advance to the newest event time of ``events`` (never backwards, never past wall + skew)."""
        newest = max((event["time"] for event in events if isinstance(event.get("time"), int)), default=None)
        if newest is None:
            return
        wall = int(time.time() * 1000) if wall_ms is None else wall_ms
        newest = min(newest, wall + self.max_skew_ms)
        if self._watermark_ms is None or newest > self._watermark_ms:
            self._watermark_ms = newest

    def now_ms(self) -> int | None:
        """The event-time now, or None before any event was seen (nothing may expire yet)."""
        return self._watermark_ms

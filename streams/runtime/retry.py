"""Retrying what failed because the store or the broker is down: backoff, and what to say about it.

The ingest loop's two threads and the detection agent all keep the batch they hold and try again
with the same backoff; none of them drops a batch or crashes on an outage.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["backoff_delays", "describe", "until_done"]

T = TypeVar("T")


def backoff_delays(first_s: float = 0.5, most_s: float = 30.0, jitter: float = 0.5,
                   rng: random.Random | None = None) -> Iterator[float]:
    """0.5 s, doubling, at most 30 s; each delay shortened by a random share of up to ``jitter``.

    The jitter spreads the retries of several workers (and of one worker's threads) that the same
    outage stopped, so they do not all hit a store that just came back in the same instant."""
    draw = (rng or random.Random()).random
    delay = first_s
    while True:
        yield delay * (1 - jitter * draw())
        delay = min(delay * 2, most_s)


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:300]}"


def until_done(work: Callable[[], T], *, what: str, stop: threading.Event, log: logging.Logger,
               on_error: Callable[[str], None] = lambda _message: None) -> T | None:
    """``work()``, tried again with backoff until it succeeds; None if ``stop`` is set first."""
    delays = backoff_delays()
    while True:
        try:
            return work()
        except Exception as error:  # noqa: BLE001 -- the store or broker is down: keep the batch, retry
            delay = next(delays)
            message = describe(error)
            on_error(message)
            log.error("%s failed, retrying in %.1fs: %s", what, delay, message)
            if stop.wait(delay):
                return None

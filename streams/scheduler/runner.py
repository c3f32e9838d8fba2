"""Running the scheduled jobs: which are due (from the runs recorded in ClickHouse), running one and
recording it, and apscheduler as the clock.

Why the state is in ClickHouse and not in an apscheduler job store: apscheduler 3's persistent stores
keep only each job's *next* fire time (a pickled job; SQLAlchemy, a new dependency, for a file under
the data dir), which says neither what ran nor how it ended, and a run that died half way is not told
from one that finished. ``scheduler_runs`` records every run's start and end for the slot it ran
for, in the store everything else is in (and backed up with it); what is due, and what
`aispm scheduler jobs` shows, is computed from those rows (streams/scheduler/slots.py). apscheduler
(memory job store) only wakes the scheduler at each slot and on start; each wake-up asks the recorded
runs first, so a restart neither repeats a finished slot nor skips one that came due while down.
One scheduler per store: the worker's, or `aispm scheduler` with AISPM_SCHEDULER__ENABLED=false for
the workers.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.runtime.store import Store
from streams.scheduler.jobs import JOBS, Job
from streams.scheduler.slots import Due, due, next_run, slot_of
from streams.settings import SchedulerSettings, Settings

log = logging.getLogger(__name__)

__all__ = ["ENDED", "LAST_RUNS_SQL", "JobState", "Scheduler", "job_states"]

ENDED = ("ok", "skipped", "failed")
"""Outcomes that finish a slot. 'running' is a run's start; 'interrupted' marks one whose process died."""

RECENT_RUNS = 10
# The latest row of each run (its end, or its start while it runs), the last RECENT_RUNS runs of each job.
# Times as epoch milliseconds: the same values whether read in-process or through the query endpoint.
LAST_RUNS_SQL = f"""
SELECT job, run_id, trigger, toUnixTimestamp64Milli(scheduled_for) AS scheduled_ms,
       toUnixTimestamp64Milli(started_at) AS started_ms, toUnixTimestamp64Milli(finished_at) AS finished_ms,
       outcome, missed, detail, run_by
FROM (SELECT * FROM scheduler_runs ORDER BY recorded_at DESC LIMIT 1 BY job, run_id)
ORDER BY job, started_at DESC
LIMIT {RECENT_RUNS} BY job
"""


@dataclass(frozen=True, slots=True)
class JobState:
    name: str
    interval_s: int
    done_until_s: float | None
    """The latest slot a run finished (None: none did yet)."""
    last: dict[str, Any] | None
    """The latest run: its row as LAST_RUNS_SQL reads it."""

    def due(self, now_s: float) -> Due | None:
        return due(self.interval_s, self.done_until_s, now_s)

    def next_run_s(self, now_s: float) -> float:
        return next_run(self.interval_s, self.done_until_s, now_s)

    def listing(self, now_s: float) -> dict[str, Any]:
        """What `aispm scheduler jobs` shows of this job."""
        last = self.last or {}

        def at(ms: Any) -> str | None:
            return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds") if ms is not None else None

        return {"job": self.name, "interval_s": self.interval_s, "last_slot": at(last.get("scheduled_ms")),
                "last_started": at(last.get("started_ms")), "last_finished": at(last.get("finished_ms")),
                "outcome": last.get("outcome"), "missed": last.get("missed"), "trigger": last.get("trigger"),
                "next_run": datetime.fromtimestamp(self.next_run_s(now_s), UTC).isoformat(timespec="seconds"),
                "detail": orjson.loads(last["detail"]) if last.get("detail") else None}


def job_states(columns: list[str], rows: list, intervals: dict[str, int]) -> dict[str, JobState]:
    """Each job's state from LAST_RUNS_SQL's rows (jobs without a run included)."""
    runs: dict[str, list[dict]] = {}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        runs.setdefault(record["job"], []).append(record)
    states = {}
    for name, interval in intervals.items():
        recent = runs.get(name, [])
        ended = [run["scheduled_ms"] / 1000 for run in recent if run["outcome"] in ENDED]
        states[name] = JobState(name, interval, max(ended) if ended else None, recent[0] if recent else None)
    return states


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:1000]


class Scheduler:
    """The jobs of one store. ``run_due`` and ``run_job`` work without a clock (tests, `aispm scheduler
    run`); ``start`` adds apscheduler's, in a background thread, until ``shutdown``."""

    def __init__(self, store: Store, settings: Settings, *, jobs: dict[str, Job] | None = None,
                 run_by: str | None = None) -> None:
        self.store = store
        self.settings = settings
        self.jobs = jobs if jobs is not None else JOBS
        self.config: SchedulerSettings = settings.scheduler
        self.intervals = {name: interval for name, interval in self.config.intervals().items() if name in self.jobs}
        self.run_by = run_by or f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"
        self._clock: Any = None
        self._stopping = threading.Event()

    # -- state -------------------------------------------------------------------------------------
    def states(self) -> dict[str, JobState]:
        columns, rows = self.store.job_runs(LAST_RUNS_SQL)
        return job_states(columns, rows, self.intervals)

    def mark_interrupted(self) -> list[str]:
        """Record as interrupted the runs a previous process started and never finished (their slots run
        again); call once at start, before any run of this process."""
        marked = []
        for state in self.states().values():
            if state.last is not None and state.last["outcome"] == "running":
                last = state.last
                self._record(state.name, last["run_id"], last["trigger"], last["scheduled_ms"] / 1000,
                             last["started_ms"] / 1000, None, "interrupted", last["missed"],
                             {"reason": "the process running it ended before it finished"})
                marked.append(state.name)
        return marked

    # -- running -----------------------------------------------------------------------------------
    def run_due(self, now_s: float | None = None) -> list[dict[str, Any]]:
        """Run every job due at ``now_s`` (default: now) once, in JOBS order; the runs' records."""
        now_s = time.time() if now_s is None else now_s
        states = self.states()
        done = []
        for name in self.intervals:
            upcoming = states[name].due(now_s)
            if upcoming is not None:
                done.append(self.run_job(name, upcoming, trigger="schedule"))
        return done

    def run_if_due(self, name: str, now_s: float | None = None) -> dict[str, Any] | None:
        now_s = time.time() if now_s is None else now_s
        upcoming = self.states()[name].due(now_s)
        return None if upcoming is None else self.run_job(name, upcoming, trigger="schedule")

    def run_now(self, name: str, now_s: float | None = None) -> dict[str, Any]:
        """Run ``name`` at once whether due or not (`aispm scheduler run`), for now's slot: a scheduled run
        of a slot a manual one finished is not repeated."""
        now_s = time.time() if now_s is None else now_s
        state = self.states()[name]
        upcoming = state.due(now_s) or Due(slot_of(now_s, state.interval_s), 0)
        return self.run_job(name, upcoming, trigger="manual")

    def run_job(self, name: str, upcoming: Due, *, trigger: str) -> dict[str, Any]:
        run_id = uuid.uuid4().hex
        started = time.time()
        self._record(name, run_id, trigger, upcoming.slot_s, started, None, "running", upcoming.missed, {})
        slot = datetime.fromtimestamp(upcoming.slot_s, UTC)
        log.info("scheduled job %s for %s started (%d missed slots coalesced)", name, slot.isoformat(), upcoming.missed)
        try:
            result = self.jobs[name](self.store, self.settings, slot)
            outcome, detail = result.outcome, result.detail
        except Exception as error:  # a failed job is recorded; the next slot runs it again
            log.exception("scheduled job %s for %s failed", name, slot.isoformat())
            outcome, detail = "failed", {"error": _first_line(error)}
        finished = time.time()
        self._record(name, run_id, trigger, upcoming.slot_s, started, finished, outcome, upcoming.missed, detail)
        log.info("scheduled job %s for %s: %s in %.1f s", name, slot.isoformat(), outcome, finished - started)
        return {"job": name, "run_id": run_id, "trigger": trigger, "scheduled_for": slot.isoformat(),
                "missed": upcoming.missed, "outcome": outcome, "seconds": round(finished - started, 3),
                "detail": detail}

    def _record(self, name: str, run_id: str, trigger: str, slot_s: float, started_s: float,
                finished_s: float | None, outcome: str, missed: int, detail: dict) -> None:
        def at(seconds: float | None) -> datetime | None:
            return None if seconds is None else datetime.fromtimestamp(seconds, UTC)

        self.store.record_job_run({
            "job": name, "scheduled_for": at(slot_s), "run_id": run_id, "trigger": trigger,
            "started_at": at(started_s), "finished_at": at(finished_s), "outcome": outcome, "missed": missed,
            "detail": orjson.dumps(detail, default=str).decode(), "run_by": self.run_by})

    # -- the clock ---------------------------------------------------------------------------------
    def start(self, *, delay_s: float | None = None) -> None:
        """Wake each job at its slots, and all of them ``delay_s`` (default AISPM_SCHEDULER__START_DELAY_S)
        from now to catch up with what came due while nothing ran. Jobs run one at a time."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.date import DateTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        self.mark_interrupted()
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # each run is logged here, with its outcome
        delay_s = self.config.start_delay_s if delay_s is None else delay_s
        clock = BackgroundScheduler(executors={"default": ThreadPoolExecutor(1)}, timezone=UTC,
                                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        first = datetime.fromtimestamp(time.time() + delay_s, UTC)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        for name, interval in self.intervals.items():
            # At each slot's start (the trigger counts from the epoch), and once at start to catch up: a
            # catch-up fire time given to the interval job itself would shift all its later slots.
            clock.add_job(self._wake, IntervalTrigger(seconds=interval, start_date=epoch, timezone=UTC),
                          args=[name], id=name, name=name)
            clock.add_job(self._wake, DateTrigger(first, timezone=UTC), args=[name], id=f"{name}-catch-up",
                          name=f"{name} (catch up)")
        self._stopping.clear()
        clock.start()
        self._clock = clock
        log.info("scheduler started: %s", ", ".join(f"{name} every {s} s" for name, s in self.intervals.items()))

    def wake_times(self) -> dict[str, datetime]:
        """When the clock wakes each job next (catch-up wake-ups that already fired are gone)."""
        if self._clock is None:
            return {}
        return {job.id: job.next_run_time for job in self._clock.get_jobs()}

    def _wake(self, name: str) -> None:
        # The job runs in a daemon thread at lowered priority: a stopping process does not wait for a
        # retraining to end (its run stays 'running', is marked interrupted and runs again), and on two
        # cores landing comes first.
        finished = threading.Event()

        def work() -> None:
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except (AttributeError, OSError):
                pass
            try:
                self.run_if_due(name)
            except Exception:  # the store is unreachable: the next wake-up tries again
                log.exception("scheduled job %s could not be started", name)
            finally:
                finished.set()

        threading.Thread(target=work, name=f"aispm-job-{name}", daemon=True).start()
        while not finished.wait(0.5):
            if self._stopping.is_set():
                return

    def shutdown(self) -> None:
        self._stopping.set()
        if self._clock is not None:
            self._clock.shutdown(wait=False)
            self._clock = None

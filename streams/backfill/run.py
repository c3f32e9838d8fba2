"""A backfill run: files -> the stream's normalization (in the normalizing processes) -> ClickHouse, with
the stream's detections, file by file, resumable and exactly once.

Files are read, split and normalized whole in the normalizing processes, a few files ahead, and landed
together every ``LAND_EVENTS`` events: keep the events inside ``--since/--until``, drop those already
stored, insert the rest and the dead letters, run every detection over them and land their alerts (marked ``backfill``: landed and counted in
ClickHouse, never sent to the alerts topic, so history does not page anyone). A file is recorded as
finished once all of it landed; a second run skips finished files, and a file read again (after an
interruption, or changed) adds only what is not stored yet: events by id, dead letters by their
position in the file, alert counts by the events behind them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from streams.backfill.digest import DigestReport, verify_digests
from streams.backfill.files import LogFile, discover
from streams.normalize.files import file_topic

__all__ = ["BackfillReport", "run_backfill"]

LAND_EVENTS = 20_000


@dataclass
class BackfillReport:
    family: str
    files: int = 0
    files_skipped: int = 0
    """Finished by an earlier run (same path, size and modification time)."""
    files_done: int = 0
    days_pruned: int = 0
    records: int = 0
    events: int = 0
    events_landed: int = 0
    duplicates: int = 0
    outside_time_range: int = 0
    dead_letters: int = 0
    findings: int = 0
    alerts: int = 0
    seconds: float = 0.0
    digests: DigestReport | None = None

    @property
    def events_per_s(self) -> int:
        return round(self.events / self.seconds) if self.seconds else 0

    def summary(self) -> dict:
        out = {name: getattr(self, name) for name in (
            "family", "files", "files_skipped", "files_done", "days_pruned", "records", "events", "events_landed",
            "duplicates", "outside_time_range", "dead_letters", "findings", "alerts", "seconds")}
        out["seconds"] = round(self.seconds, 2)
        out["events_per_s"] = self.events_per_s
        out["digests"] = self.digests.summary() if self.digests is not None else None
        return out


Progress = Callable[[BackfillReport, LogFile | None], None]


def run_backfill(settings: Any, store: Any, family: str, paths: list[Path], *, since: datetime | None = None,
                 until: datetime | None = None, on_progress: Progress | None = None,
                 land_events: int = LAND_EVENTS) -> BackfillReport:
    """Backfill ``paths`` into ``store`` (migrated, held by this process) with the worker's normalizing
    processes (sized from the cores; in this process with one core)."""
    from streams.detect.pipeline import Detectors
    from streams.detect.stage import DetectionStage
    from streams.enrich.policy import policy_source
    from streams.normalize.redact import installation_redactor

    started = time.monotonic()
    found = discover(paths, since=since.date() if since else None, until=until.date() if until else None)
    report = BackfillReport(family, files=len(found.logs), days_pruned=found.days_pruned)
    if found.digests:
        report.digests = verify_digests(found.digests, found.logs)
    finished = store.finished_backfill_files()
    todo = [log for log in found.logs if log.key not in finished]
    report.files_skipped = len(found.logs) - len(todo)
    detectors = Detectors.default(policy_source(settings.detection.policy_file),
                                  sigma_paths=settings.detection.sigma_rules)
    # The worker's stage, alerts not sent (backfilled alerts do not page): rules, anomaly windows, bindings.
    stage = DetectionStage.configured(settings, detectors=detectors, store=store, send_alerts=lambda _messages: None,
                                      origin="backfill")
    stage.load()
    in_range = _time_filter(since, until)
    key = settings.ingest.fingerprint_key
    pool = _pool(settings, installation_redactor(settings.data_dir, key.get_secret_value() if key else None))
    landing = _Landing(report, store, stage, in_range, family, on_progress, land_events)
    try:
        # Files are read and normalized whole in the processes, landed in order. While a landing is
        # inserted and detected, the processes normalize the files of the next one: as many in flight as
        # make a landing (from the events per file so far), so neither side waits for the other.
        ahead: deque[tuple[LogFile, Callable[[], tuple[int, Any]]]] = deque()
        processes = getattr(pool, "processes", 1)
        for log in todo:
            ahead.append((log, pool.submit_file(log.path, family)))
            if len(ahead) > processes + landing.files_per_landing():
                landing.add(*_done(ahead.popleft()))
        while ahead:
            landing.add(*_done(ahead.popleft()))
        landing.flush()
    finally:
        landing.close()
        pool.close()
    report.seconds = time.monotonic() - started
    if on_progress:
        on_progress(report, None)
    return report


def _pool(settings: Any, redactor: Any) -> Any:
    from streams.runtime import normalize_pool

    ingest = settings.ingest
    policy_file = settings.detection.policy_file
    processes = ingest.normalizing_processes()
    if processes:
        return normalize_pool.NormalizePool(processes, max_record_bytes=ingest.max_record_bytes,
                                            raw_cap=ingest.dead_letter_raw_cap, redact_bodies=ingest.redact_bodies,
                                            policy_file=policy_file, redactor=redactor,
                                            max_file_bytes=ingest.max_file_bytes)
    normalize_pool.prepare_process(policy_file, redactor.key)  # one core: here, with what a process would use
    options = (ingest.max_record_bytes, ingest.dead_letter_raw_cap, ingest.redact_bodies, ingest.max_file_bytes)

    class InThread:
        processes = 1

        def submit_file(self, path: Path, family: str) -> Callable[[], tuple[int, Any]]:
            result = normalize_pool.normalize_file(str(path), family, *options)
            return lambda: result

        def close(self) -> None:
            pass

    return InThread()


def _done(item: tuple[LogFile, Callable[[], tuple[int, Any]]]) -> tuple[LogFile, int, Any]:
    log, result = item
    records, output = result()
    return log, records, output


def _time_filter(since: datetime | None, until: datetime | None) -> pl.Expr | None:
    if since is None and until is None:
        return None
    keep = pl.lit(True)
    if since is not None:
        keep = keep & (pl.col("time") >= since)
    if until is not None:
        keep = keep & (pl.col("time") < until)
    return keep


# Normalized files held for landing at most: bounds memory when files hold a few events each.
_MAX_FILES_AHEAD = 64


class _Landing:
    """Normalized files, landed together once they hold ``land_events`` events (an insert, a dedup lookup
    and a detection commit per few files, not per file); the files are recorded as finished after that."""

    def __init__(self, report: BackfillReport, store: Any, stage: Any,
                 in_range: pl.Expr | None, family: str, on_progress: Progress | None, land_events: int) -> None:
        self.land_events = land_events
        self.report, self.store, self.stage = report, store, stage
        self.in_range, self.family, self.on_progress = in_range, family, on_progress
        self.frames: list[pl.DataFrame] = []
        self.dead_letters: list[dict] = []
        self.finished: list[LogFile] = []
        self.events = 0
        self._inserter = ThreadPoolExecutor(1, thread_name_prefix="backfill-insert")

    def close(self) -> None:
        self._inserter.shutdown(wait=True)

    def files_per_landing(self) -> int:
        """Files that make one landing, by the events per file landed so far (2 before the first)."""
        files = self.report.files_done + len(self.finished)
        if not files:
            return 2
        per_file = max(1, (self.report.events + self.events) // files)
        return max(1, min(_MAX_FILES_AHEAD, -(-self.land_events // per_file)))

    def add(self, log: LogFile, records: int, output: Any) -> None:
        self.report.records += records
        if output.frame is not None and output.frame.height:
            self.frames.append(output.frame)
            self.events += output.frame.height
        self.dead_letters.extend(output.dead_letters)
        self.finished.append(log)
        if self.events >= self.land_events:
            self.flush()

    def flush(self) -> None:
        report, store = self.report, self.store
        landed_by_file: dict[str, int] = {}
        events_by_file: dict[str, int] = {}
        if self.frames:
            frame = pl.concat(self.frames, how="vertical")
            report.events += frame.height
            events_by_file = dict(frame.group_by("kafka_topic").len().iter_rows())
            if self.in_range is not None:
                kept = frame.filter(self.in_range)
                report.outside_time_range += frame.height - kept.height
                frame = kept
            new = store.new_events(frame)
            # The insert (chDB's threads, the GIL let go) runs while the detections read the events in
            # Python: on two cores the two overlap (a landing took 1.6 s, the insert a third of it). The
            # detections' commit still follows the insert, as when the two ran one after the other.
            inserting = self._inserter.submit(store.insert_events, new)
            try:
                prepared = self.stage.prepare_decoded(new.frame, [], messages=0) if new.frame.height else None
            finally:
                inserting.result()
            report.events_landed += new.frame.height
            report.duplicates += new.duplicates
            landed_by_file = dict(new.frame.group_by("kafka_topic").len().iter_rows())
            if prepared is not None:
                self.stage.commit(prepared)
                report.findings += prepared.findings
                report.alerts += len(prepared.plan.latest)
        dead_by_file: dict[str, int] = {}
        if self.dead_letters:
            store.land_dead_letters(self.dead_letters)
            report.dead_letters += len(self.dead_letters)
            prepared = self.stage.prepare_dead_letters(self.dead_letters)
            self.stage.commit(prepared)
            report.findings += prepared.findings
            report.alerts += len(prepared.plan.latest)
            for row in self.dead_letters:
                dead_by_file[row["kafka_topic"]] = dead_by_file.get(row["kafka_topic"], 0) + 1
        # Every buffered chunk is a whole file: all of each is landed now.
        rows = []
        for log in self.finished:
            topic = file_topic(log.path)
            rows.append((str(log.path), log.size, log.mtime_ns, self.family, events_by_file.get(topic, 0),
                         landed_by_file.get(topic, 0), dead_by_file.get(topic, 0)))
        store.record_backfill_files(rows)
        report.files_done += len(self.finished)
        finished = self.finished[-1] if self.finished else None
        self.frames, self.dead_letters, self.finished, self.events = [], [], [], 0
        if self.on_progress and finished is not None:
            self.on_progress(report, finished)


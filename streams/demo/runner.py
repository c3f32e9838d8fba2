"""`aispm demo`: the main job on the embedded defaults, end to end.

Starts `aispm up` (embedded broker, worker, chDB store) unless one already runs for the data dir,
produces the demo traffic (deterministic generator with injected incidents, plus small real samples),
waits until every message was consumed and landed, reads a summary from ClickHouse (the CLI prints
it), and stops what it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from schemas.families import SOURCE_FAMILIES
from streams.runtime.broker import resolve_bootstrap
from streams.runtime.producer import RawProducer
from streams.runtime.queries import saved_query
from streams.runtime.query import QueryError, remote_query, remote_stats, running_worker
from streams.settings import Settings


class DemoError(RuntimeError):
    """The demo could not complete; the message says where it stopped."""


@dataclass(frozen=True, slots=True)
class SummaryTable:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What the run did (counts) and what the store holds afterwards (tables, for the CLI to print)."""

    run: dict[str, int]
    tables: list[SummaryTable]
    report: Path | None = None
    """The posture report (HTML) the demo wrote."""


def demo_messages(seed: int, scale: int) -> tuple[dict[str, list[bytes]], dict[str, list[bytes]]]:
    """Raw messages per family: generated traffic, then the bundled real samples; and, apart, the
    generated records that arrive late (``DemoRecord.late``: a log source's backlog), sent once the
    rest went through detection so that what they change reaches alerts already raised."""
    from streams.demo import generate_labelled
    from streams.demo.samples import real_samples

    on_time: dict[str, list[bytes]] = {family: [] for family in SOURCE_FAMILIES}
    late: dict[str, list[bytes]] = {family: [] for family in SOURCE_FAMILIES}
    for record in generate_labelled(seed, scale):
        (late if record.late else on_time)[record.family].append(record.value)
    for family, values in real_samples().items():
        on_time[family].extend(values)
    return on_time, late


def start_worker(settings: Settings, timeout_s: float = 120, env: dict[str, str] | None = None,
                 command: list[str] | None = None) -> subprocess.Popen:
    """`aispm up` (or ``command``) in a child process; returns once its query endpoint answers."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.run_dir / "worker.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command or [sys.executable, "-m", "streams.cli", "up"], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env or os.environ.copy(),
        )
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            raise DemoError(f"`aispm up` exited with code {process.returncode}:\n" + "\n".join(tail))
        if running_worker(settings) is not None:
            try:
                remote_stats(settings)
                return process
            except QueryError:
                pass
        if time.monotonic() > deadline:
            stop_worker(process)
            raise DemoError(f"the worker did not become ready within {timeout_s:.0f}s; see {log_path}")
        time.sleep(0.2)


def stop_worker(process: subprocess.Popen, timeout_s: float = 60) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.25)


def run_demo(settings: Settings, *, seed: int = 7, scale: int = 1, timeout_s: float = 300,
             console: Console | None = None) -> DemoReport:
    """Run the demo; ``console`` shows its progress (default: stderr, so the report alone is the output)."""
    console = console or Console(stderr=True)
    started = None
    if running_worker(settings) is None:
        console.print("[bold]aispm demo[/]: starting the embedded broker, worker and ClickHouse store...")
        env = os.environ.copy()
        if settings.detection.policy_file is None:
            # The demo company's policy sanctions its AI gateway, so only the injected incidents alert.
            from streams.demo import demo_policy_path

            env["AISPM_DETECTION__POLICY_FILE"] = str(demo_policy_path())
            console.print(f"policy: {demo_policy_path()} (the demo company's sanctioned AI use)")
        ensure_demo_model(settings, seed, console)
        started = start_worker(settings, env=env)
    else:
        console.print("[bold]aispm demo[/]: using the worker already running for this data dir")
    try:
        stats = remote_stats(settings)
        before, before_detection = stats["ingest"], stats["detection"]
        on_time, late = demo_messages(seed, scale)
        sent = _send_and_wait(settings, on_time, {}, before, before_detection, timeout_s, console)
        if any(late.values()):
            console.print("late log records (a backlog shipped after the rest): "
                          + ", ".join(f"{family} {len(values)}" for family, values in late.items() if values))
            sent += _send_and_wait(settings, late, {family: len(values) for family, values in on_time.items()},
                                   before, before_detection, timeout_s, console, sent_before=sent)
        detection = remote_stats(settings)["detection"]
        corrections = detection.get("identity_corrections", 0) - before_detection.get("identity_corrections", 0)
        after = remote_stats(settings)["ingest"]
        summary = {
            "messages": sent,
            "events_landed": after["events_landed"] - before["events_landed"],
            "duplicates_skipped": after["duplicates_skipped"] - before["duplicates_skipped"],
            "dead_letters": after["dead_letters"] - before["dead_letters"],
            "identity_corrections": corrections,
        }
        tables = summary_tables(settings)
        report_path = write_demo_report(settings)
        console.print(f"posture report: {report_path}")
        return DemoReport(summary, tables, report_path)
    finally:
        if started is not None:
            console.print("stopping the worker...")
            stop_worker(started)


def _send_and_wait(settings: Settings, messages: dict[str, list[bytes]], first_index: dict[str, int],
                   before: dict, before_detection: dict, timeout_s: float, console: Console, *,
                   sent_before: int = 0) -> int:
    """Produce ``messages``, wait until they landed and went through detection; returns how many were sent."""
    producer = RawProducer(settings, resolve_bootstrap(settings))
    for family, values in messages.items():
        # Keyed by position: a re-run on a fresh broker puts each record at the same partition and
        # offset, so a malformed one maps to the same dead-letter id and is not stored twice.
        offset = first_index.get(family, 0)
        producer.send(family, values, key=lambda index, family=family, offset=offset: f"{family}:{offset + index}".encode())
    report = producer.flush()
    producer.close()
    if report.failed:
        raise DemoError(f"{report.failed} messages were not delivered: {report.errors[:3]}")
    console.print(f"sent {report.messages} messages ({report.bytes / 1e6:.1f} MB): "
                  + ", ".join(f"{family} {len(values)}" for family, values in messages.items() if values))
    target = before["messages"] + sent_before + report.messages

    def landed() -> bool:
        return remote_stats(settings)["ingest"]["messages"] >= target

    wait_until(landed, timeout_s, "every demo message to be consumed and landed")
    forwarded = remote_stats(settings)["ingest"]["events_forwarded"]

    def detected() -> bool:
        done = remote_stats(settings)["detection"]["events"] - before_detection["events"]
        return done >= forwarded - before["events_forwarded"]

    wait_until(detected, timeout_s, "the detections to go through every demo event")
    return report.messages


def ensure_demo_model(settings: Settings, seed: int, console: Console) -> None:
    """Without a promoted anomaly model, train one on the demo company's benign days and promote it, so the
    worker scores the demo day's windows (the worker is not running yet: the store is free)."""
    from streams.demo.model import HISTORY_DAYS, train_demo_model
    from streams.runtime.query import exclusive_store

    with exclusive_store(settings) as store:
        store.migrate()
        if store.promoted_model_version() is not None:
            return
        console.print(f"anomaly model: training on {HISTORY_DAYS} benign days of the demo company's history...")
        version = train_demo_model(store, settings, seed=seed)
        console.print(f"anomaly model: {version} promoted")


def demo_report_path(settings: Settings) -> Path:
    return settings.data_dir / "reports" / "posture-report.html"


def write_demo_report(settings: Settings) -> Path:
    """The posture report of what the store holds now, read through the running worker, under the data dir."""
    from streams.report import write_report

    path = demo_report_path(settings).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_report(lambda sql, parameters: remote_query(settings, sql, parameters), path)
    return path


def summary_tables(settings: Settings) -> list[SummaryTable]:
    """Events by source, dead letters by reason, alerts by detection and the AI inventory (first 20)."""
    since = {"since": "1970-01-01 00:00:00"}
    tables = [SummaryTable("Events in ClickHouse by source", *remote_query(settings, saved_query("events_by_source")))]
    tables.append(SummaryTable("Dead letters by reason",
                               *remote_query(settings, saved_query("dead_letters_by_reason"), since)))
    tables.append(SummaryTable("Alerts sent to the SIEM (OCSF Detection Findings), by detection",
                               *remote_query(settings, saved_query("alerts_by_detection"), since)))
    columns, rows = remote_query(settings, saved_query("alerts_with_identity"), since)
    shown = ["detection", "address", "identity", "version", "evidence"]
    tables.append(SummaryTable("Alerts about an address: who was behind it (identity resolution)", shown,
                               [[row[columns.index(name)] for name in shown] for row in rows][:20]))
    columns, rows = remote_query(settings, saved_query("ai_inventory"), since)
    shown = ["provider", "host", "principal", "sanctioned", "calls", "model_id"]
    picked = [[row[columns.index(name)] for name in shown] for row in rows]
    tables.append(SummaryTable(f"AI inventory: {len(rows)} (service, principal) uses, unsanctioned first",
                               shown, picked[:20]))
    return tables

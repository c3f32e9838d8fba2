"""`aispm demo`: the main job on the embedded defaults, end to end.

Starts `aispm up` (embedded broker, worker, chDB store) unless one already runs for the data dir,
produces the demo traffic (deterministic generator with injected incidents, plus small real samples),
waits until every message was consumed and landed, prints a summary from ClickHouse, and stops what
it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from streams.broker import resolve_bootstrap
from streams.kafka import SOURCE_FAMILIES
from streams.producer import RawProducer
from streams.query import QueryError, remote_query, remote_stats, running_worker
from streams.queries import saved_query
from streams.settings import Settings


class DemoError(RuntimeError):
    """The demo could not complete; the message says where it stopped."""


def demo_messages(seed: int, scale: int) -> dict[str, list[bytes]]:
    """Raw messages per family: generated traffic first, then the bundled real samples."""
    from streams.demo import generate
    from streams.demo.samples import real_samples

    generated = generate(seed=seed, scale=scale)
    samples = real_samples()
    return {family: list(generated.get(family, [])) + list(samples.get(family, [])) for family in SOURCE_FAMILIES}


def start_worker(settings: Settings, timeout_s: float = 120) -> subprocess.Popen:
    """`aispm up` in a child process; returns once its query endpoint answers."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.run_dir / "worker.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "up"], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=os.environ.copy(),
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
             console: Console | None = None) -> dict[str, Any]:
    console = console or Console()
    started = None
    if running_worker(settings) is None:
        console.print("[bold]aispm demo[/]: starting the embedded broker, worker and ClickHouse store...")
        started = start_worker(settings)
    else:
        console.print("[bold]aispm demo[/]: using the worker already running for this data dir")
    try:
        before = remote_stats(settings)["ingest"]
        messages = demo_messages(seed, scale)
        producer = RawProducer(settings, resolve_bootstrap(settings))
        for family, values in messages.items():
            producer.send(family, values)
        report = producer.flush()
        if report.failed:
            raise DemoError(f"{report.failed} messages were not delivered: {report.errors[:3]}")
        console.print(f"sent {report.messages} messages ({report.bytes / 1e6:.1f} MB): "
                      + ", ".join(f"{family} {len(values)}" for family, values in messages.items()))
        target = before["messages"] + report.messages

        def landed() -> bool:
            return remote_stats(settings)["ingest"]["messages"] >= target

        wait_until(landed, timeout_s, "every demo message to be consumed and landed")
        after = remote_stats(settings)["ingest"]
        summary = {
            "messages": report.messages,
            "events_landed": after["events_landed"] - before["events_landed"],
            "duplicates_skipped": after["duplicates_skipped"] - before["duplicates_skipped"],
            "dead_letters": after["dead_letters"] - before["dead_letters"],
        }
        print_summary(settings, summary, console)
        return summary
    finally:
        if started is not None:
            console.print("stopping the worker...")
            stop_worker(started)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    return table


def print_summary(settings: Settings, summary: dict[str, Any], console: Console) -> None:
    console.print(
        f"\n[bold]This run[/]: {summary['messages']} messages -> {summary['events_landed']} new events, "
        f"{summary['duplicates_skipped']} already stored (deduplicated), {summary['dead_letters']} dead letters"
    )
    columns, rows = remote_query(settings, saved_query("events_by_source"))
    console.print(_table("Events in ClickHouse by source", columns, rows))
    columns, rows = remote_query(settings, saved_query("dead_letters_by_reason"), {"since": "1970-01-01 00:00:00"})
    console.print(_table("Dead letters by reason", columns, rows))

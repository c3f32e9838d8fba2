"""`aispm scheduler [jobs|run JOB]`: the scheduled jobs (retraining, rollups, retention) and their runs."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import click

from streams.cli.base import ExitCode, fail, settings
from streams.cli.output import Listing, emit, output_options
from streams.scheduler.jobs import JOBS

JOB_COLUMNS = ["job", "last_slot", "outcome", "last_finished", "next_run", "missed", "trigger", "summary"]


@click.group(invoke_without_command=True)
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduled jobs in the foreground until stopped: model retraining (promoted only when at
    least as good on the evaluation data), inventory and usage rollups, retention.

    `aispm up` runs them inside the worker unless AISPM_SCHEDULER__ENABLED=false; with the embedded store
    (chDB, one process) this command runs only while no worker does.
    """
    if ctx.invoked_subcommand is not None:
        return
    from streams.runtime.query import QueryError, exclusive_store
    from streams.runtime.store import StoreError
    from streams.scheduler import Scheduler

    config = settings()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with exclusive_store(config) as store:
            store.migrate()
            runner = Scheduler(store, config)
            runner.start(delay_s=0)  # a process of its own: nothing at start-up to give the cores to
            click.echo(f"aispm scheduler running: {', '.join(runner.intervals)} (Ctrl-C stops)", err=True)
            try:
                stop.wait()
            finally:
                runner.shutdown()
    except (QueryError, StoreError) as error:
        fail(str(error))


@scheduler.command()
@output_options("table", "json", "jsonl", "csv", default="table")
def jobs(fmt: str, output: Path | None) -> None:
    """Each job: its last run (slot, outcome, when it finished), its next run, slots missed while down.
    Read through the running worker when there is one."""
    from streams.runtime.query import QueryError, run_query
    from streams.runtime.store import StoreError
    from streams.scheduler.runner import LAST_RUNS_SQL, job_states

    config = settings()
    try:
        columns, rows = run_query(config, LAST_RUNS_SQL)
    except (QueryError, StoreError) as error:
        fail(str(error))
    except Exception as error:  # noqa: BLE001 -- ClickHouse's message (an old store: no scheduler_runs)
        fail(f"{(str(error).strip().splitlines() or [type(error).__name__])[0]} (`aispm db migrate`?)")
    now = time.time()
    records = [state.listing(now) for state in job_states(columns, rows, config.scheduler.intervals()).values()]
    table = [[record["job"], record["last_slot"] or "never", record["outcome"] or "", record["last_finished"] or "",
              record["next_run"], record["missed"] if record["missed"] is not None else "", record["trigger"] or "",
              summary(record["detail"])] for record in records]
    if not config.scheduler.enabled:
        click.echo("note: AISPM_SCHEDULER__ENABLED=false: workers run no jobs; `aispm scheduler` runs them", err=True)
    emit(Listing(JOB_COLUMNS, table, records=records, priority=["job", "outcome", "next_run", "last_slot"],
                 whole=["job"]), fmt, output)


@scheduler.command()
@click.argument("job", type=click.Choice(list(JOBS)))
@output_options("json", "table", default="json")
def run(job: str, fmt: str, output: Path | None) -> None:
    """Run JOB now, whether due or not, and record it as this slot's run (exit 1 when it failed)."""
    from streams.runtime.query import QueryError, exclusive_store
    from streams.runtime.store import StoreError
    from streams.scheduler import Scheduler

    config = settings()
    try:
        with exclusive_store(config) as store:
            store.migrate()
            runner = Scheduler(store, config)
            runner.mark_interrupted()
            record = runner.run_now(job)
    except (QueryError, StoreError) as error:
        fail(str(error))
    emit(Listing.of_mapping(record), fmt, output)
    if record["outcome"] == "failed":
        raise SystemExit(int(ExitCode.ERROR))


def summary(detail: dict[str, Any] | None) -> str:
    """One line of a run's detail for the table (json shows all of it)."""
    if not detail:
        return ""
    if "error" in detail:
        return str(detail["error"])
    if "version" in detail:
        return f"{detail['version']} {'promoted' if detail.get('promoted') else 'kept'}: {detail.get('reason', '')}"
    if "deleted" in detail:
        return f"deleted {sum(detail['deleted'].values())} rows before {detail['cutoff']}"
    if "partitions_compacted" in detail:
        return f"compacted {sum(len(parts) for parts in detail['partitions_compacted'].values())} partitions"
    return str(detail.get("reason", ""))

"""The `aispm` command: noun then verb, thin over library code.

Exit codes: 0 ok, 1 failure or findings, 2 usage or configuration error.
"""

from __future__ import annotations

import csv
import io
import logging
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from streams.settings import Settings, SettingsError, load_settings


def _settings(ctx: click.Context) -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        click.echo(str(error), err=True)
        ctx.exit(2)
        raise  # unreachable; keeps type checkers content


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """aispm: AI Security Posture Management over Kafka, Faust and ClickHouse."""


@main.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Run the worker (and, with no Kafka configured, the embedded broker) until stopped."""
    from streams.runtime.worker import WorkerError, run_worker

    settings = _settings(ctx)
    try:
        run_worker(settings)
    except WorkerError as error:
        _fail(str(error))


@main.command()
@click.option("--source", "family", required=True, type=click.Choice(["cloudtrail", "gateway", "audit"]),
              help="Source family of the files.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def ingest(ctx: click.Context, family: str, files: tuple[Path, ...]) -> None:
    """Send log FILES (JSON, JSON lines, CloudTrail Records files, text logs; .gz too) to the raw topic."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from streams.normalize.files import open_bytes, split_records
    from streams.runtime.broker import BrokerError, resolve_bootstrap
    from streams.runtime.kafka import ensure_topics
    from streams.runtime.producer import RawProducer

    settings = _settings(ctx)
    try:
        bootstrap = resolve_bootstrap(settings)
    except BrokerError as error:
        _fail(str(error))
    ensure_topics(settings, bootstrap)
    producer = RawProducer(settings, bootstrap)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console,
                  transient=True) as progress:
        for path in files:
            records = list(split_records(open_bytes(path)))
            task = progress.add_task(path.name, total=len(records))
            sent = producer.send(family, records, on_progress=lambda n, task=task: progress.advance(task, n),
                                 source=str(path))
            producer.report.per_file[str(path)] = sent
    report = producer.flush()
    summary = {
        "topic": producer.topics.raw[family], "files": report.per_file, "messages": report.messages,
        "bytes": report.bytes, "failed": report.failed, "errors": report.errors,
        "skipped": report.skipped, "skipped_records": report.skipped_records,
    }
    click.echo(orjson.dumps(summary).decode())
    if report.failed or report.skipped:
        sys.exit(1)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Server-side query parameter, used in the SQL as {NAME:Type}.")
@click.argument("sql")
@click.pass_context
def query(ctx: click.Context, fmt: str, params: tuple[str, ...], sql: str) -> None:
    """Run a read-only SQL query on aispm's ClickHouse database (through the running worker if any)."""
    from streams.runtime.query import QueryError, run_query
    from streams.runtime.store import StoreError

    settings = _settings(ctx)
    parameters: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--param")
        parameters[name] = value
    try:
        columns, rows = run_query(settings, sql, parameters)
    except (QueryError, StoreError) as error:
        _fail(str(error))
    except Exception as error:  # noqa: BLE001 -- ClickHouse's own message explains a bad query
        _fail(str(error).strip().splitlines()[0])
    click.echo(render_rows(columns, rows, fmt), nl=fmt != "table")


def render_rows(columns: list[str], rows: list[Any], fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps([dict(zip(columns, row)) for row in rows], default=str).decode()
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, not str: rich would read "[bold]" or "[link=...]" in log data as markup.
    table = Table()
    for column in columns:
        table.add_column(Text(_shown(column)))
    for row in rows:
        table.add_row(*(Text(_shown(value)) for value in row))
    console = Console(file=io.StringIO(), width=200)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _shown(value: Any) -> str:
    """A value as text safe for a terminal: what is not printable (C0 and C1 controls, ESC sequences,
    bidi overrides and isolates, line separators) is written as its escape, so the analyst sees it and
    the terminal does not act on it."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


@main.group()
def db() -> None:
    """ClickHouse schema."""


@db.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply the numbered DDL migrations in sql/ddl (safe to run again)."""
    from streams.runtime.query import wait_for_store_lock
    from streams.runtime.store import Store, StoreError

    settings = _settings(ctx)
    lock = wait_for_store_lock(settings, exclusive=True, wait_s=settings.query.lock_wait_s)
    if lock is None:
        _fail(f"the store of {settings.data_dir} is open in another aispm process (`aispm up` or `aispm query`)")
    try:
        with lock:
            store = Store(settings)
            applied = store.migrate()
            store.close()
    except StoreError as error:
        _fail(str(error))
    click.echo(orjson.dumps({"applied": applied}).decode())


@main.command()
@click.option("--seed", default=7, show_default=True, help="Seed of the deterministic traffic generator.")
@click.option("--scale", default=1, show_default=True, type=click.IntRange(1, 100))
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for everything to land.")
@click.pass_context
def demo(ctx: click.Context, seed: int, scale: int, timeout: float) -> None:
    """Start broker, worker and store, ingest the demo data, wait until it landed, print a summary."""
    from streams.demo.runner import DemoError, run_demo

    settings = _settings(ctx)
    try:
        run_demo(settings, seed=seed, scale=scale, timeout_s=timeout)
    except DemoError as error:
        _fail(str(error))


@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """The running worker's counters (messages, events landed, dead letters, latency)."""
    from streams.runtime.query import QueryError, remote_stats

    settings = _settings(ctx)
    try:
        click.echo(orjson.dumps(remote_stats(settings), option=orjson.OPT_INDENT_2).decode())
    except QueryError as error:
        _fail(str(error))


def _register_command_groups() -> None:
    """Command groups that live beside their library code."""
    from streams.commands.catalog import catalog
    from streams.commands.detect import detect
    from streams.commands.rules import rules

    for command in (catalog, detect, rules):
        main.add_command(command)


_register_command_groups()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()

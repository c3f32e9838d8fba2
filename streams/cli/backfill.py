"""`aispm backfill`: history from files (CloudTrail's S3 export layout too) into ClickHouse."""

from __future__ import annotations

from pathlib import Path

import click

from schemas.families import SOURCE_FAMILIES
from streams.cli.base import ExitCode, fail, parse_time, settings
from streams.cli.output import Listing, emit, output_options


@click.command()
@click.option("--source", "family", required=True, type=click.Choice(SOURCE_FAMILIES))
@click.option("--since", help="Only events from this time (ISO-8601); CloudTrail day folders before it are skipped.")
@click.option("--until", help="Only events before this time; CloudTrail day folders after it are skipped.")
@click.option("--via-kafka", is_flag=True,
              help="Replay the files into the raw topic instead, for a running worker to process.")
@output_options("json", "table", default="json")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def backfill(family: str, since: str | None, until: str | None, via_kafka: bool, fmt: str, output: Path | None,
             paths: tuple[Path, ...]) -> None:
    """Load log files and folders (plain or gzip; CloudTrail's AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD
    layout) through the stream's normalization and detections into ClickHouse. Resumable and idempotent: a
    second run adds nothing. Where CloudTrail digest files are present, each log file is checked against
    them (missing, extra or altered files are reported; exit 3). Alerts are landed marked `backfill` and
    not sent to the alerts topic."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from streams.backfill.run import run_backfill
    from streams.runtime.query import QueryError, exclusive_store
    from streams.runtime.store import StoreError

    config = settings()
    since_at, until_at = parse_time(since), parse_time(until)
    if via_kafka:
        _replay(config, family, paths, since_at, until_at)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("files", total=None, rate="")

        def on_progress(report, _log) -> None:
            elapsed = max(report.seconds, 1e-9)
            progress.update(task, total=report.files - report.files_skipped, completed=report.files_done,
                            rate=f"{report.events:,} events" + (f", {report.events / elapsed:,.0f}/s" if report.seconds else ""))

        try:
            with exclusive_store(config) as store:
                store.migrate()
                report = run_backfill(config, store, family, list(paths), since=since_at, until=until_at,
                                      on_progress=on_progress)
        except (QueryError, StoreError) as error:
            fail(str(error))
    emit(Listing.of_mapping(report.summary()), fmt, output)
    if report.digests is not None and not report.digests.clean:
        raise SystemExit(ExitCode.FINDINGS)


def _replay(config, family: str, paths: tuple[Path, ...], since_at, until_at) -> None:
    from streams.backfill.files import discover
    from streams.runtime.broker import BrokerError
    from streams.runtime.producer import send_files

    found = discover(paths, since=since_at.date() if since_at else None, until=until_at.date() if until_at else None)
    try:
        sent = send_files(config, family, [log.path for log in found.logs])
    except BrokerError as error:
        fail(str(error))
    emit(Listing.of_mapping(sent.summary()), "json", None)
    if not sent.complete:
        raise SystemExit(ExitCode.ERROR)

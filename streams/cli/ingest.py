"""`aispm ingest`: log files to the raw topic of their source family, with a progress bar on stderr."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from schemas.families import SOURCE_FAMILIES
from streams.cli.base import ExitCode, fail, settings
from streams.cli.output import Listing, emit, output_options


@click.command()
@click.option("--source", "family", required=True, type=click.Choice(SOURCE_FAMILIES),
              help="Source family of the files.")
@output_options("json", "table", default="json")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ingest(family: str, fmt: str, output: Path | None, files: tuple[Path, ...]) -> None:
    """Send log FILES (JSON, JSON lines, CloudTrail Records files, text logs; .gz too) to the raw topic.

    Exit 1 when a record was not delivered (the summary lists which).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from streams.runtime.broker import BrokerError
    from streams.runtime.producer import send_files

    config = settings()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=Console(stderr=True), transient=True) as progress:

        def on_file(path: Path, records: int) -> Callable[[int], None]:
            task = progress.add_task(path.name, total=records)
            return lambda sent: progress.advance(task, sent)

        try:
            sent = send_files(config, family, files, on_file=on_file)
        except BrokerError as error:
            fail(str(error))
    emit(Listing.of_mapping(sent.summary()), fmt, output)
    if not sent.complete:
        raise SystemExit(ExitCode.ERROR)

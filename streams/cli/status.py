"""`aispm status`: the running worker's counters."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.base import fail, settings
from streams.cli.output import Listing, emit, output_options


@click.command()
@output_options("json", "table", default="json")
def status(fmt: str, output: Path | None) -> None:
    """The running worker's counters (messages, events landed, dead letters, latency)."""
    from streams.runtime.query import QueryError, remote_stats

    try:
        stats = remote_stats(settings())
    except QueryError as error:
        fail(str(error))
    emit(Listing.of_mapping(stats), fmt, output)

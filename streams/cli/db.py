"""`aispm db migrate`: the ClickHouse schema."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.base import fail, settings
from streams.cli.output import Listing, emit, output_options


@click.group()
def db() -> None:
    """ClickHouse schema."""


@db.command()
@output_options("json", "table", default="json")
def migrate(fmt: str, output: Path | None) -> None:
    """Apply the numbered DDL migrations in sql/ddl (safe to run again)."""
    from streams.runtime.query import QueryError, migrate_store
    from streams.runtime.store import StoreError

    try:
        applied = migrate_store(settings())
    except (QueryError, StoreError) as error:
        fail(str(error))
    emit(Listing.of_mapping({"applied": applied}), fmt, output)

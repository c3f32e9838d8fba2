"""`aispm query`: read-only SQL on aispm's ClickHouse database, typed in, from a file or stdin, or saved
under sql/queries and run by name."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from streams.cli.base import fail, settings
from streams.cli.output import FORMATS, Listing, emit, output_options

if TYPE_CHECKING:
    from streams.runtime.queries import SavedQuery


class Assignment(click.ParamType):
    """``NAME=VALUE``."""

    name = "NAME=VALUE"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        name, sep, text = str(value).partition("=")
        if not sep or not name:
            self.fail(f"expected NAME=VALUE, got {value!r}", param, ctx)
        return name, text


@click.command()
@click.option("--saved", "saved_name", metavar="NAME", help="Run the saved query NAME (see --list).")
@click.option("--list", "list_saved", is_flag=True, help="List the saved queries: purpose and parameters.")
@click.option("--file", "sql_file", type=click.File("r", encoding="utf-8"), metavar="FILE",
              help="Read the SQL from FILE ('-': stdin).")
@click.option("--param", "params", multiple=True, type=Assignment(),
              help="Server-side query parameter, used in the SQL as {NAME:Type} (repeatable).")
@output_options(*FORMATS, default="table")
@click.argument("sql", required=False)
def query(saved_name: str | None, list_saved: bool, sql_file: IO[str] | None,
          params: tuple[tuple[str, str], ...], fmt: str, output: Path | None, sql: str | None) -> None:
    """Run a read-only SQL query on aispm's ClickHouse database (through the running worker if any).

    \b
    The SQL comes from one of:
      SQL            the argument; '-' reads it from stdin (aispm query - < x.sql)
      --file FILE    a file
      --saved NAME   a saved query of sql/queries (aispm query --list)
    """
    from streams.runtime.queries import SavedQueryError, load_saved_query, saved_queries

    if list_saved:
        if sql is not None or sql_file is not None or saved_name or params:
            raise click.UsageError("--list takes no query and no --param")
        emit(saved_listing(saved_queries()), fmt, output)
        return
    if [sql is not None, sql_file is not None, saved_name is not None].count(True) != 1:
        raise click.UsageError("give exactly one of SQL, --file FILE or --saved NAME (or --list)")
    parameters = dict(params)
    if saved_name is not None:
        try:
            saved = load_saved_query(saved_name)
            parameters = saved.bind(parameters)
        except SavedQueryError as error:
            raise click.UsageError(str(error)) from None
        text = saved.sql
    elif sql_file is not None:
        text = sql_file.read()
    else:
        text = click.get_text_stream("stdin").read() if sql == "-" else sql
    if not text.strip():
        raise click.UsageError("the query is empty")
    columns, rows = run(text, parameters)
    emit(Listing(columns, rows), fmt, output)


def run(sql: str, parameters: dict[str, str]) -> tuple[list[str], list]:
    from streams.runtime.query import QueryError, run_query
    from streams.runtime.store import StoreError

    config = settings()
    try:
        return run_query(config, sql, parameters)
    except (QueryError, StoreError) as error:
        fail(str(error))
    except Exception as error:  # noqa: BLE001 -- ClickHouse's own message explains a bad query
        fail((str(error).strip().splitlines() or [type(error).__name__])[0])


def saved_listing(queries: list[SavedQuery]) -> Listing:
    return Listing(
        ["name", "purpose", "parameters"],
        [[saved.name, saved.purpose, " ".join(f"{name}:{kind}" for name, kind in saved.parameters.items())]
         for saved in queries],
        records=[{"name": saved.name, "purpose": saved.purpose, "parameters": saved.parameters} for saved in queries],
        priority=["name", "parameters", "purpose"], whole=["name"],
    )

"""How every command prints data: one set of formats, ``--output FILE``, and one table renderer.

A command builds a :class:`Listing` (columns and rows for ``table``/``csv``, records for
``json``/``jsonl``) and calls :func:`emit`. Tables show log data, which an attacker may write: every
cell is shown with its control characters escaped and never read as rich markup, and a table fits the
terminal (80 columns when there is none) by folding long values and, when even that cannot fit every
column, by leaving out the least important columns and saying which.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

FORMATS = ("table", "json", "jsonl", "csv")
DEFAULT_WIDTH = 80
MIN_COLUMN_WIDTH = 8
"""No column gets narrower than this (or than its widest value, when that is narrower)."""
READABLE_COLUMN_WIDTH = 12
"""Columns are left out while the others could not each get this much (or their widest value): a few
readable columns, and the names of the rest, beat every column folded a few letters a line."""
_FRAME_PER_COLUMN = 3  # one space each side and one rule
_NO_DOCUMENT = object()

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Listing:
    """Data a command prints.

    ``table`` and ``csv`` show ``rows`` under ``columns``; ``jsonl`` prints each of ``records`` on a line
    (default: each row as a mapping of column to value) and ``json`` prints ``document`` (default: the
    records as one list).
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    records: Sequence[Any] | None = None
    document: Any = _NO_DOCUMENT
    title: str = ""
    priority: Sequence[str] = ()
    """Columns that stay longest when the terminal is too narrow for all, most important first; the
    others follow in their order and are the first left out, from the right."""
    whole: Sequence[str] = ()
    """Columns never folded (identifiers the reader copies), as long as they fit the terminal."""

    @classmethod
    def of_mapping(cls, mapping: Mapping[str, Any], title: str = "") -> Listing:
        """One record (a report, counters): ``json`` prints it as it is, a table shows it as name and
        value, nested names joined by dots."""
        return cls(["name", "value"], list(_flattened(mapping)), records=[mapping], document=mapping,
                   title=title, whole=["name"])

    def as_records(self) -> list[Any]:
        if self.records is not None:
            return list(self.records)
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _flattened(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[list[Any]]:
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            yield from _flattened(value, f"{prefix}{key}.")
        else:
            yield [f"{prefix}{key}", value]


# --- options ---------------------------------------------------------------------------------------

def output_options(*formats: str, default: str) -> Callable[[F], F]:
    """``--format`` (the given ones of FORMATS) and ``--output FILE``, passed as ``fmt`` and ``output``."""
    unknown = set(formats) - set(FORMATS)
    if unknown or default not in formats:
        raise ValueError(f"formats must be among {FORMATS} and hold the default, got {formats} / {default}")
    format_option = click.option(
        "--format", "fmt", type=click.Choice(formats), default=default, show_default=True,
        help="How to print the result.",
    )
    output_option = click.option(
        "--output", "-o", "output", type=click.Path(dir_okay=False, writable=True, path_type=Path, allow_dash=True),
        default=None, help="Write the result to FILE instead of stdout.",
    )

    def decorate(command: F) -> F:
        return format_option(output_option(command))

    return decorate


# --- writing ---------------------------------------------------------------------------------------

def emit(listing: Listing, fmt: str, output: Path | None) -> None:
    write(render(listing, fmt, width=terminal_width()), output)


def write(text: str, output: Path | None) -> None:
    """``text`` (and a final newline, unless it is empty) to ``output``, or to stdout."""
    ending = "\n" if text and not text.endswith("\n") else ""
    if output is None or str(output) == "-":
        click.echo(text + ending, nl=False)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text + ending)
    except OSError as error:
        raise click.FileError(str(output), hint=error.strerror or str(error)) from None


def terminal_width(stream: Any = None) -> int:
    """``COLUMNS`` when set, else the width of the terminal stdout is, else 80."""
    configured = os.environ.get("COLUMNS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return os.get_terminal_size((stream or sys.stdout).fileno()).columns
    except (AttributeError, ValueError, OSError):
        return DEFAULT_WIDTH


# --- rendering -------------------------------------------------------------------------------------

def render(listing: Listing, fmt: str, *, width: int = DEFAULT_WIDTH) -> str:
    if fmt == "json":
        document = listing.as_records() if listing.document is _NO_DOCUMENT else listing.document
        return _json(document)
    if fmt == "jsonl":
        return "\n".join(_json(record) for record in listing.as_records())
    if fmt == "csv":
        return _csv(listing)
    if fmt == "table":
        return render_table(listing, width=width)
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")


def render_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, *,
                width: int = DEFAULT_WIDTH) -> str:
    """Query-shaped data (column names and rows) in ``fmt``."""
    return render(Listing(columns, rows), fmt, width=width)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _json(value: Any) -> str:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def _text(value: Any) -> str:
    """A value as one cell's text: nothing for NULL, JSON for arrays, maps and tuples."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return _json(value)
    return str(value)


def _csv(listing: Listing) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if listing.columns:  # the engine names no columns for an empty result
        writer.writerow(listing.columns)
    writer.writerows([_text(value) for value in row] for row in listing.rows)
    return buffer.getvalue()


def render_table(listing: Listing, *, width: int = DEFAULT_WIDTH) -> str:
    if not listing.columns:  # the engine names no columns for an empty result
        return f"{shown(listing.title)}\n(no rows)\n" if listing.title else "(no rows)\n"
    width = max(width, MIN_COLUMN_WIDTH + _FRAME_PER_COLUMN + 1)
    headers = [shown(column) for column in listing.columns]
    cells = [[shown(_text(value)) for value in row] for row in listing.rows]
    natural = [max([cell_len(headers[i]), *(cell_len(row[i]) for row in cells)]) for i in range(len(headers))]
    room = width - 1  # the table's left edge
    whole = set(listing.whole)

    def at_most(limit: int) -> list[int]:
        return [min(natural[i] if listing.columns[i] in whole else min(natural[i], limit),
                    room - _FRAME_PER_COLUMN) for i in range(len(headers))]

    least = at_most(MIN_COLUMN_WIDTH)
    kept = _columns_that_fit(listing, at_most(READABLE_COLUMN_WIDTH), room)
    widths = _shared_widths([natural[i] for i in kept], [least[i] for i in kept],
                            room - _FRAME_PER_COLUMN * len(kept))
    left_out = [headers[i] for i in range(len(headers)) if i not in kept]
    caption = None
    if left_out:
        caption = Text(f"not shown at {width} columns: {', '.join(left_out)} "
                       "(see all with --format json or csv, or a wider terminal)")
    # Text, not str: rich would read "[bold]" or "[link=...]" in log data as markup.
    table = Table(title=Text(shown(listing.title)) if listing.title else None, title_justify="left",
                  caption=caption, caption_justify="left")
    for index, column_width in zip(kept, widths, strict=True):
        table.add_column(Text(headers[index]), width=column_width, overflow="fold")
    for row in cells:
        table.add_row(*(Text(row[index]) for index in kept))
    console = Console(file=io.StringIO(), width=width, color_system=None, markup=False, emoji=False,
                      highlight=False)
    console.print(table)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _columns_that_fit(listing: Listing, least: list[int], room: int) -> list[int]:
    """Indexes of the columns to show: all of them if each fits at ``least`` width, else the most
    important ones that do (at least one)."""
    order = [listing.columns.index(name) for name in listing.priority if name in listing.columns]
    order += [index for index in range(len(listing.columns)) if index not in order]
    kept = list(order)
    while len(kept) > 1 and sum(least[i] + _FRAME_PER_COLUMN for i in kept) > room:
        kept.pop()
    return sorted(kept)


def _shared_widths(natural: list[int], least: list[int], room: int) -> list[int]:
    """Each column's width: its natural width when all fit; otherwise each starts at its least and
    the room left is shared out evenly, so narrow columns stay whole and wide ones fold."""
    if sum(natural) <= room:
        return list(natural)
    widths = list(least)
    spare = room - sum(widths)
    while spare > 0:
        growing = sorted((i for i in range(len(widths)) if widths[i] < natural[i]),
                         key=lambda i: natural[i] - widths[i])
        if not growing:
            break
        share = max(1, spare // len(growing))
        for i in growing:
            grow = min(share, natural[i] - widths[i], spare)
            widths[i] += grow
            spare -= grow
    return widths


def shown(value: Any) -> str:
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

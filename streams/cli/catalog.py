"""`aispm catalog match|list`: look hosts up in the AI service catalog, or show what it knows."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.base import ExitCode, fail
from streams.cli.output import FORMATS, Listing, emit, output_options
from streams.enrich.catalog import Catalog, CatalogMatch, ConfigFileError, load_catalog

_CATALOG_OPTION = click.option(
    "--catalog", "catalog_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Catalog YAML to use instead of the bundled one.",
)
MATCH_COLUMNS = ["query", "host", "provider", "product", "category", "rule", "rule_kind", "source"]
RULE_COLUMNS = ["provider", "product", "category", "kind", "pattern", "source"]


def _load(catalog_path: Path | None) -> Catalog:
    try:
        return load_catalog(catalog_path)
    except ConfigFileError as error:
        fail(f"invalid catalog\n{error}", ExitCode.USAGE)


@click.group()
def catalog() -> None:
    """The AI service catalog: which hosts belong to which AI provider."""


@catalog.command()
@_CATALOG_OPTION
@output_options(*FORMATS, default="jsonl")
@click.argument("hosts", nargs=-1, required=True)
def match(catalog_path: Path | None, fmt: str, output: Path | None, hosts: tuple[str, ...]) -> None:
    """Each HOST (a host, host:port or URL): its catalog match, or null (jsonl: one line per HOST)."""
    compiled = _load(catalog_path)
    emit(match_listing([(host, compiled.match(host)) for host in hosts]), fmt, output)


def match_listing(matches: list[tuple[str, CatalogMatch | None]]) -> Listing:
    rows = [[query, *([getattr(found, name) for name in MATCH_COLUMNS[1:]] if found else [None] * 7)]
            for query, found in matches]
    return Listing(MATCH_COLUMNS, rows, records=[found.as_dict() if found else None for _, found in matches],
                   priority=["query", "provider", "product", "host"])


@catalog.command(name="list")
@_CATALOG_OPTION
@output_options(*FORMATS, default="table")
def list_rules(catalog_path: Path | None, fmt: str, output: Path | None) -> None:
    """Every catalog pattern with its provider, product, category and source."""
    compiled = _load(catalog_path)
    ordered = sorted(compiled.rules(), key=lambda rule: (rule.provider, rule.product, rule.pattern))
    rows = [[rule.provider, rule.product, rule.category, rule.kind, rule.pattern, rule.source] for rule in ordered]
    emit(Listing(RULE_COLUMNS, rows, priority=["pattern", "provider", "product", "category"], whole=["pattern"]),
         fmt, output)

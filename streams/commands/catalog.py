"""`aispm catalog match|list`: look hosts up in the AI service catalog, or show what it knows."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from streams.enrich.catalog import Catalog, ConfigFileError, load_catalog

_CATALOG_OPTION = click.option(
    "--catalog", "catalog_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Catalog YAML to use instead of the bundled one.",
)


def _load(catalog_path: Path | None) -> Catalog:
    try:
        return load_catalog(catalog_path)
    except ConfigFileError as error:
        click.echo(f"error: invalid catalog\n{error}", err=True)
        raise SystemExit(2) from None


@click.group()
def catalog() -> None:
    """The AI service catalog: which hosts belong to which AI provider."""


@catalog.command()
@_CATALOG_OPTION
@click.argument("hosts", nargs=-1, required=True)
def match(catalog_path: Path | None, hosts: tuple[str, ...]) -> None:
    """Print one JSON line per HOST (a host, host:port or URL): its catalog match, or null."""
    compiled = _load(catalog_path)
    for host in hosts:
        found = compiled.match(host)
        click.echo(orjson.dumps(found.as_dict() if found else None).decode())


@catalog.command(name="list")
@_CATALOG_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_rules(catalog_path: Path | None, fmt: str) -> None:
    """Every catalog pattern with its provider, product, category and source."""
    from streams.cli import render_rows

    compiled = _load(catalog_path)
    columns = ["provider", "product", "category", "kind", "pattern", "source"]
    rows = [[rule.provider, rule.product, rule.category, rule.kind, rule.pattern, rule.source]
            for rule in sorted(compiled.rules(), key=lambda rule: (rule.provider, rule.product, rule.pattern))]
    click.echo(render_rows(columns, rows, fmt), nl=fmt != "table")

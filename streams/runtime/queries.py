"""Analysts' saved queries: one file each under sql/queries, opening with a comment on purpose and
parameters, using ClickHouse server-side parameters only."""

from __future__ import annotations

from importlib import resources


def saved_query_names() -> list[str]:
    return sorted(entry.name.removesuffix(".sql") for entry in resources.files("sql").joinpath("queries").iterdir()
                  if entry.name.endswith(".sql"))


def saved_query(name: str) -> str:
    if name not in saved_query_names():
        raise KeyError(f"no saved query {name!r}; known: {', '.join(saved_query_names())}")
    return resources.files("sql").joinpath("queries", f"{name}.sql").read_text()

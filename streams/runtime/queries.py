"""Analysts' saved queries: one file each under sql/queries, opening with a comment on purpose and
parameters, using ClickHouse server-side parameters only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

# ClickHouse's server-side parameter: {name:Type}; the type may hold parentheses but no brace.
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}")


class SavedQueryError(ValueError):
    """A saved query that does not exist, or parameters that do not fit it; the message says which."""


@dataclass(frozen=True, slots=True)
class SavedQuery:
    name: str
    sql: str

    @property
    def purpose(self) -> str:
        """The first line of the file's leading comment."""
        first = self.sql.lstrip().splitlines()[0] if self.sql.strip() else ""
        return first.removeprefix("--").strip() if first.startswith("--") else ""

    @property
    def parameters(self) -> dict[str, str]:
        """Parameter name -> ClickHouse type, in the order the SQL first uses them (read from the SQL
        itself, so the list cannot drift from what the query needs)."""
        found: dict[str, str] = {}
        for name, type_name in _PARAMETER.findall(self.sql):
            found.setdefault(name, type_name.strip())
        return found

    def bind(self, values: Mapping[str, str]) -> dict[str, str]:
        """``values`` checked against the query's parameters: every one given, no other."""
        wanted = self.parameters
        missing = [name for name in wanted if name not in values]
        unknown = sorted(set(values) - set(wanted))
        problems = []
        if missing:
            problems.append("missing " + ", ".join(f"--param {name}=<{wanted[name]}>" for name in missing))
        if unknown:
            problems.append(f"{self.name} takes no parameter {', '.join(unknown)}")
        if problems:
            takes = ", ".join(f"{name} ({kind})" for name, kind in wanted.items()) or "none"
            raise SavedQueryError(f"{'; '.join(problems)} (parameters of {self.name}: {takes})")
        return dict(values)


def _folder() -> Traversable:
    return resources.files("sql").joinpath("queries")


def saved_query_names() -> list[str]:
    return sorted(entry.name.removesuffix(".sql") for entry in _folder().iterdir() if entry.name.endswith(".sql"))


def load_saved_query(name: str) -> SavedQuery:
    names = saved_query_names()
    if name not in names:
        raise SavedQueryError(f"no saved query {name!r}; known: {', '.join(names)}")
    return SavedQuery(name, _folder().joinpath(f"{name}.sql").read_text())


def saved_queries() -> list[SavedQuery]:
    return [load_saved_query(name) for name in saved_query_names()]


def saved_query(name: str) -> str:
    return load_saved_query(name).sql

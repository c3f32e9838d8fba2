"""Dependencies declared as used: every package the code imports is declared, bounded to its major
version, and nothing is declared that no code uses (or that the listed reason does not explain)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OWN = {"streams", "schemas", "models", "sql", "tests"}
# Declared but not imported by name, and why.
INDIRECT = {
    "aiokafka": "Faust's transport, configured through faust's broker URL",
    "chdb": "the embedded ClickHouse engine behind clickhouse-connect's chdb:// DSN",
    "chdb-core": "chdb's engine library",
    "pyarrow": "the Arrow tables polars hands clickhouse-connect (to_arrow / insert_arrow)",
    "scikit-learn": "isolation forests for anomalous access (models/, this round's anomaly issue)",
    "skops": "safe model artifacts (models/, this round's anomaly issue)",
    "apscheduler": "scheduled jobs (this round's backfill and scheduler issue)",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = {}
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0)
        specs[_normal(name)] = requirement
    return specs


def imported_distributions() -> set[str]:
    modules: set[str] = set()
    for package in ("streams", "schemas", "models"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    third_party = modules - OWN - set(sys.stdlib_module_names) - {"__future__"}
    owners = packages_distributions()
    return {_normal(owners[module][0]) for module in third_party if module in owners} | {
        f"unknown:{module}" for module in third_party if module not in owners}


def test_every_imported_package_is_declared() -> None:
    missing = imported_distributions() - set(declared())
    assert missing == set(), f"imported but not declared in pyproject.toml: {sorted(missing)}"


def test_every_declared_package_is_used() -> None:
    unused = set(declared()) - imported_distributions() - {_normal(name) for name in INDIRECT}
    assert unused == set(), f"declared but never imported: {sorted(unused)}"


def test_every_dependency_is_bounded_to_its_major_version() -> None:
    unbounded = [spec for spec in declared().values() if "==" not in spec and "<" not in spec]
    assert unbounded == []

"""The numbered DDL of sql/ddl for a ClickHouse cluster, derived statement by statement (no second copy).

With ``AISPM_CLICKHOUSE__CLUSTER=<name>`` every statement runs ``ON CLUSTER <name>``, and each table
becomes two:

- ``<table>_local``: the data, on every server, with the Replicated form of its engine
  (``ReplacingMergeTree(v)`` -> ``ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}',
  '{replica}', v)``), so replicas of a shard copy each other through ClickHouse Keeper;
- ``<table>``: a Distributed table over the ``_local`` ones, under the name the code and the analysts use.
  Rows are sharded by a hash of the table's sorting key, so the rows a Replacing/Aggregating/Summing
  merge folds together always meet on one shard and ``FINAL`` / ``GROUP BY`` stay exact.

Materialized views (names unchanged) read and write the local tables: each shard aggregates what it
stores, and the Distributed table over the target merges the shards at query time. Plain views
read the Distributed tables. ``ALTER ... ADD|DROP|MODIFY COLUMN`` goes to both tables of a pair, every other
``ALTER`` (indexes, TTL) to the local one. A statement of a form not handled here raises
``ClusterDdlError``: a new migration must either fit or extend this module (its test parses all of them).

Pure text in, text out: nothing here connects anywhere.
"""

from __future__ import annotations

import re

__all__ = ["LOCAL_SUFFIX", "REPLICA_PATH", "ClusterDdlError", "cluster_statements", "local_name"]

LOCAL_SUFFIX = "_local"
# {shard} and {replica} come from each server's <macros>; {database} and {table} ClickHouse fills itself.
REPLICA_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
REPLICA_NAME = "{replica}"

_ENGINES = ("MergeTree", "ReplacingMergeTree", "AggregatingMergeTree", "SummingMergeTree",
            "CollapsingMergeTree", "VersionedCollapsingMergeTree")
_CREATE_TABLE = re.compile(r"^CREATE TABLE (IF NOT EXISTS )?(\w+)\s*\(", re.IGNORECASE)
_ENGINE = re.compile(r"ENGINE\s*=\s*(\w+)(\s*\()?", re.IGNORECASE)
_ORDER_BY = re.compile(r"\bORDER BY\s+", re.IGNORECASE)
_CREATE_VIEW = re.compile(r"^CREATE (OR REPLACE )?VIEW (IF NOT EXISTS )?(\w+)\s+AS\s", re.IGNORECASE)
_CREATE_MV = re.compile(r"^CREATE MATERIALIZED VIEW (IF NOT EXISTS )?(\w+)\s+TO\s+(\w+)\s+AS\s", re.IGNORECASE)
_ALTER = re.compile(r"^ALTER TABLE (\w+)\s+(\w+)\s+(\w+)", re.IGNORECASE)
_TABLE_REFERENCE = re.compile(r"\b(FROM|JOIN)\s+(\w+)\b(?!\s*[.(])", re.IGNORECASE)
_COLUMN_ALTERS = {"ADD COLUMN", "DROP COLUMN", "MODIFY COLUMN", "RENAME COLUMN", "COMMENT COLUMN"}


class ClusterDdlError(ValueError):
    """A DDL statement has no cluster form here; the message names it."""


def local_name(table: str) -> str:
    return f"{table}{LOCAL_SUFFIX}"


def _quoted(cluster: str) -> str:
    return f"`{cluster}`"


def _closing(text: str, opening: int) -> int:
    """Index of the parenthesis that closes the one at ``opening`` (quotes respected)."""
    depth, quote = 0, ""
    for index in range(opening, len(text)):
        char = text[index]
        if quote:
            if char == quote and text[index - 1] != "\\":
                quote = ""
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    raise ClusterDdlError(f"unbalanced parentheses in: {text[:80]}")


def _sorting_key(tail: str, table: str) -> str:
    match = _ORDER_BY.search(tail)
    if not match:
        raise ClusterDdlError(f"{table}: no ORDER BY to shard by")
    start = match.end()
    if tail[start] == "(":
        return tail[start + 1:_closing(tail, start)].strip()
    key = re.match(r"\w+", tail[start:])
    if not key:
        raise ClusterDdlError(f"{table}: ORDER BY {tail[start:start + 40]!r} is not a column or a tuple")
    return key.group(0)


def _create_table(statement: str, match: re.Match, cluster: str, database: str) -> list[str]:
    if_not_exists, table = match.group(1) or "", match.group(2)
    body_end = _closing(statement, match.end() - 1)
    columns, tail = statement[match.end() - 1:body_end + 1], statement[body_end + 1:]
    engine = _ENGINE.search(tail)
    if not engine or engine.group(1) not in _ENGINES:
        found = engine.group(1) if engine else "none"
        raise ClusterDdlError(f"{table}: engine {found} has no Replicated form here (known: {', '.join(_ENGINES)})")
    name, replicated_args = engine.group(1), f"'{REPLICA_PATH}', '{REPLICA_NAME}'"
    if engine.group(2):
        args_end = _closing(tail, engine.end() - 1)
        args = tail[engine.end():args_end].strip()
        rest = tail[args_end + 1:]
    else:
        args, rest = "", tail[engine.end(1):]
    replicated = f"ENGINE = Replicated{name}({replicated_args}{', ' + args if args else ''})"
    local = (f"CREATE TABLE {if_not_exists}{local_name(table)} ON CLUSTER {_quoted(cluster)}\n{columns}"
             f"{tail[:engine.start()]}{replicated}{rest}")
    shard_by = f"cityHash64({_sorting_key(rest, table)})"
    distributed = (f"CREATE TABLE {if_not_exists}{table} ON CLUSTER {_quoted(cluster)} AS {local_name(table)}\n"
                   f"ENGINE = Distributed('{cluster}', '{database}', '{local_name(table)}', {shard_by})")
    return [local, distributed]


def _depth(text: str, end: int) -> int:
    depth, quote = 0, ""
    for index in range(end):
        char = text[index]
        if quote:
            quote = "" if char == quote and text[index - 1] != "\\" else quote
        elif char in "'`\"":
            quote = char
        else:
            depth += {"(": 1, ")": -1}.get(char, 0)
    return depth


def _locals_in(select: str) -> str:
    """The SELECT with the tables it reads (top-level FROM/JOIN, not ``EXTRACT(x FROM y)``) made local."""
    def local(match: re.Match) -> str:
        if _depth(select, match.start()):
            return match.group(0)
        return f"{match.group(1)} {local_name(match.group(2))}"
    return _TABLE_REFERENCE.sub(local, select)


def cluster_statements(statement: str, *, cluster: str, database: str) -> list[str]:
    """The statements that do on ``cluster`` what ``statement`` does on one server."""
    statement = statement.strip()
    on_cluster = f"ON CLUSTER {_quoted(cluster)}"
    if match := _CREATE_TABLE.match(statement):
        return _create_table(statement, match, cluster, database)
    if match := _CREATE_MV.match(statement):
        if_not_exists, view, target = match.group(1) or "", match.group(2), match.group(3)
        select = statement[match.end():]
        return [(f"CREATE MATERIALIZED VIEW {if_not_exists}{view} {on_cluster} TO {local_name(target)} "
                 f"AS {_locals_in(select)}")]
    if match := _CREATE_VIEW.match(statement):
        or_replace, if_not_exists, view = match.group(1) or "", match.group(2) or "", match.group(3)
        return [f"CREATE {or_replace}VIEW {if_not_exists}{view} {on_cluster} AS {statement[match.end():]}"]
    if match := _ALTER.match(statement):
        table, rest = match.group(1), statement[match.end(1):]
        local = f"ALTER TABLE {local_name(table)} {on_cluster}{rest}"
        if f"{match.group(2)} {match.group(3)}".upper() in _COLUMN_ALTERS:
            return [local, f"ALTER TABLE {table} {on_cluster}{rest}"]
        return [local]
    raise ClusterDdlError(f"no cluster form for: {statement.splitlines()[0][:120]}")

"""Analysts' queries: one SELECT over aispm's database, checked by the engine's own parser, run by
read-only clients whose limits the query cannot lift.

Why not rely on ClickHouse's access control: chDB has no users to grant to (``CREATE USER`` is
refused, the only user directory is users.xml), and its ``readonly=1`` still allows ``INTO OUTFILE``
(written by the embedded client), ``SYSTEM``, ``KILL QUERY``, several statements per call, ``USE``,
the ``file()`` function, the ``python()`` table function, reads of ``system.*`` and other databases,
and settings in a subquery's ``SETTINGS`` clause (they take effect inside it). So each query is:

1. canonicalized by ``formatQuerySingleLine`` — the engine parses it (the text travels as a bound
   parameter) and refuses several statements or unclosed comments;
2. parsed again with ``EXPLAIN AST`` (parse only, nothing runs; ``{name:Identifier}`` parameters are
   substituted first) and the tree checked against an allow-list: a SELECT, tables of aispm's
   database only, a few table functions, no file/dictionary/join-table/server-setting functions, no
   ``SETTINGS``, ``FORMAT`` or ``INTO OUTFILE``;
3. run, in its canonical form wrapped so that constant columns count at their real size (and
   checked again so wrapped), on a client whose session holds the limits and then ``readonly=1`` (so
   ``SETTINGS`` cannot change them): result rows and bytes, memory, threads, and
   ``max_execution_time`` — the engine cancels the query at the timeout, whoever waits for it.

Clients are a fixed pool, one query each at a time; a query that finds none free is refused
(``QueryBusy``) rather than queued.
"""

from __future__ import annotations

import queue
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.settings import QuerySettings

# Table functions an analyst may use: generated rows for calendars and buckets, inline literals.
# Everything else reads files, the network, other tables or the Python process, or runs programs.
ALLOWED_TABLE_FUNCTIONS = frozenset({"numbers", "numbers_mt", "generate_series", "generateseries", "values"})

# Scalar functions that reach past aispm's tables: files on the host, dictionaries and Join tables
# named by a string (any database), other tables' columns, the server's configuration.
DENIED_FUNCTIONS = frozenset({
    "file", "joinget", "joingetornull", "hascolumnintable", "getserversetting", "getmergetreesetting",
    "catboostevaluate",
})
DENIED_FUNCTION_PREFIXES = ("dict",)

# The AST nodes named *Query that a SELECT is made of; any other (INSERT, SYSTEM, KILL, ...) is refused.
SELECT_NODES = frozenset({"SelectWithUnionQuery", "SelectQuery", "SelectIntersectExceptQuery", "TablesInSelectQuery"})

# clickhouse-connect adds ``FORMAT Native`` to what it sends; EXPLAIN AST shows it as the last child.
_CLIENT_FORMAT = "Identifier Native"
_MATERIALIZE = "materialize("
_PLAIN_TABLE_NAME = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?")
_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A server-side placeholder, as clickhouse-connect recognizes one (its own pattern matches at least these).
_PLACEHOLDER = re.compile(r"\{\w+:[^}]+\}")


class QueryRefused(ValueError):
    """The query is not one plain SELECT over aispm's tables; the message says what was refused."""


class QueryBusy(RuntimeError):
    """Every analyst query slot is taken."""


class QueryTimeout(RuntimeError):
    """The engine cancelled the query at its timeout."""


@dataclass(frozen=True, slots=True)
class AstLine:
    depth: int
    kind: str
    text: str

    @property
    def name(self) -> str:
        return self.text.split(" ", 1)[0]


def ast_lines(rows: list[str]) -> list[AstLine]:
    """EXPLAIN AST output as (depth, node kind, rest) lines.

    Quoted identifiers may hold newlines, which split one node into several lines; those extra lines
    are checked like real ones, so such a trick can only add refusals, never hide a node.
    """
    lines = []
    for row in rows:
        for line in row.splitlines():
            stripped = line.lstrip(" ")
            kind, _, text = stripped.partition(" ")
            lines.append(AstLine(len(line) - len(stripped), kind, text))
    return lines


def refusal(lines: list[AstLine], *, database: str, other_databases: frozenset[str],
            table_functions: frozenset[str], scalar_functions: frozenset[str]) -> str | None:
    """Why the parsed query must not run, or None. Function name sets are lower-case."""
    if not lines or lines[0].kind != "SelectWithUnionQuery":
        kind = lines[0].kind if lines else "nothing"
        return f"only one SELECT may run here (got {kind})"
    top = [f"{line.kind} {line.text}".strip() for line in lines if line.depth == 1]
    if not top or not top[0].startswith("ExpressionList") or top[1:] not in ([_CLIENT_FORMAT], []):
        return "FORMAT, INTO OUTFILE and SETTINGS clauses are not allowed"
    for previous, line in zip([None, *lines], lines):
        if line.kind == "Set":
            return "SETTINGS are fixed for analysts' queries"
        if (line.kind.endswith("Query") and line.kind not in SELECT_NODES) or line.kind.startswith("Explain"):
            return f"only SELECT may run here (got {line.kind})"
        if line.kind == "Function":
            reason = _function_refusal(line.name, in_from=_is_table_expression(previous, line),
                                       table_functions=table_functions, scalar_functions=scalar_functions)
            if reason:
                return reason
        elif line.kind == "TableIdentifier":
            name = line.name
            qualified = name.split(".")
            if not _PLAIN_TABLE_NAME.fullmatch(name) or (len(qualified) == 2 and qualified[0] != database):
                return f"only the tables and views of database {database} can be read (got {name})"
        elif line.kind == "Identifier" and "." in line.name and line.name.split(".", 1)[0] in other_databases:
            return f"only the tables and views of database {database} can be read (got {line.name})"
    return None


def _is_table_expression(previous: AstLine | None, line: AstLine) -> bool:
    # A table function is the first child of its TableExpression, printed right below it.
    return previous is not None and previous.kind == "TableExpression" and previous.depth == line.depth - 1


def _function_refusal(name: str, *, in_from: bool, table_functions: frozenset[str],
                      scalar_functions: frozenset[str]) -> str | None:
    lowered = name.lower()
    allowed = ", ".join(sorted(ALLOWED_TABLE_FUNCTIONS))
    if in_from:
        if lowered not in ALLOWED_TABLE_FUNCTIONS:
            return f"table function {name} is not allowed (allowed: {allowed})"
        return None
    if lowered in DENIED_FUNCTIONS or lowered.startswith(DENIED_FUNCTION_PREFIXES):
        return f"function {name} reads outside aispm's tables and is not allowed"
    if lowered in table_functions and lowered not in scalar_functions and lowered not in ALLOWED_TABLE_FUNCTIONS:
        return f"table function {name} is not allowed (allowed: {allowed})"
    return None


def _unwrapped(column: str) -> str:
    """The analyst's column name, without the materializing wrapper's ``materialize(...)``."""
    if column.startswith(_MATERIALIZE) and column.endswith(")"):
        return column[len(_MATERIALIZE):-1]
    return column


def session_settings(limits: QuerySettings, tag: str, *, capped_results: bool = True) -> dict[str, Any]:
    """The analyst clients' session: limits first, then ``readonly=1``, after which none can change.

    The checking client's results (the parsed tree, function names) are aispm's, not the analyst's:
    they are not capped.
    """
    capped = {"max_result_rows": limits.max_rows, "max_result_bytes": limits.max_result_bytes,
              "result_overflow_mode": "throw"} if capped_results else {}
    return capped | {
        "max_memory_usage": limits.max_memory_bytes,
        "max_execution_time": limits.timeout_s,
        "timeout_overflow_mode": "throw",
        "max_threads": limits.threads,
        # Marks the pool's queries in system.processes, so closing the pool can cancel them.
        "log_comment": tag,
        "readonly": 1,
    }


def check_parameters(parameters: Mapping[str, Any]) -> None:
    for name in parameters:
        if not isinstance(name, str) or not _PARAMETER_NAME.fullmatch(name):
            raise QueryRefused(f"query parameter names are identifiers (letters, digits, _), got {name!r}")


class AnalystQueries:
    """A fixed pool of sandboxed read-only clients on one database."""

    def __init__(self, limits: QuerySettings, *, database: str,
                 open_client: Callable[[dict[str, Any]], Any]) -> None:
        self.limits = limits
        self.database = database
        self.slots = limits.concurrency
        self._tag = f"aispm-analyst-{uuid.uuid4().hex}"
        self._open_client = open_client
        # A slot is a (checking, running) pair of clients, opened on first use: a direct `aispm query`
        # needs one slot only.
        self._idle: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._opened: list[Any] = []
        for _ in range(self.slots):
            self._idle.put(None)
        self._functions: tuple[frozenset[str], frozenset[str]] | None = None

    def run(self, sql: str, parameters: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Check and run one analyst query. Raises QueryRefused, QueryBusy, QueryTimeout or the engine's error."""
        parameters = dict(parameters or {})
        check_parameters(parameters)
        try:
            slot = self._idle.get_nowait()
        except queue.Empty:
            raise QueryBusy(f"all {self.slots} analyst query slots are busy; try again shortly") from None
        try:
            if slot is None:
                slot = (self._open(capped_results=False), self._open(capped_results=True))
            checker, runner = slot
            final = self._checked(checker, sql, parameters)
            try:
                result = runner.query(final, parameters=parameters if _PLACEHOLDER.search(final) else None)
            except Exception as error:
                if getattr(error, "name", None) == "TIMEOUT_EXCEEDED":
                    raise QueryTimeout(
                        f"cancelled after {self.limits.timeout_s:g} s (AISPM_QUERY__TIMEOUT_S)") from None
                raise
            return [_unwrapped(name) for name in result.column_names], [tuple(row) for row in result.result_rows]
        finally:
            self._idle.put(slot)

    def _open(self, *, capped_results: bool) -> Any:
        client = self._open_client(session_settings(self.limits, self._tag, capped_results=capped_results))
        self._opened.append(client)
        return client

    def _checked(self, client: Any, sql: str, parameters: dict[str, Any]) -> str:
        """The text to run: the query's canonical form inside a wrapper that materializes constant
        columns (the engine counts a constant column as one value against max_result_bytes, so
        ``SELECT repeat('x', 1000000) FROM numbers(400)`` would pass the cap with 400 MB). Both the
        query and the wrapped text are checked: what runs is what passed."""
        canonical = client.query("SELECT formatQuerySingleLine({sql:String})", parameters={"sql": sql}).result_rows[0][0]
        # The formatter writes keywords in upper case: other statements are refused before EXPLAIN
        # sees them (EXPLAIN AST accepts only some; the tree check below is what decides).
        if not canonical.startswith(("SELECT ", "WITH ", "(")):
            raise self._refused(f"only one SELECT may run here (got {canonical.split(' ', 1)[0]})")
        wrapped = f"SELECT * APPLY(materialize) FROM ({canonical})"
        for text in (canonical, wrapped):
            self._check(client, text, parameters)
        return wrapped

    def _check(self, client: Any, text: str, parameters: dict[str, Any]) -> None:
        # The statement is the analyst's, so it is part of the SQL text rather than a bound value: the
        # engine formatted it above, which guarantees one statement, and EXPLAIN AST only parses it.
        bound = parameters if _PLACEHOLDER.search(text) else None
        dump = [row[0] for row in client.query(f"EXPLAIN AST {text}", parameters=bound).result_rows]
        databases = frozenset(row[0] for row in client.query("SELECT name FROM system.databases").result_rows)
        table_functions, scalar_functions = self._function_names(client)
        reason = refusal(ast_lines(dump), database=self.database, other_databases=databases - {self.database},
                         table_functions=table_functions, scalar_functions=scalar_functions)
        if reason:
            raise self._refused(reason)

    def _refused(self, reason: str) -> QueryRefused:
        return QueryRefused(f"refused: {reason}. Analysts' queries are one SELECT over the tables and views "
                            f"of database {self.database}")

    def _function_names(self, client: Any) -> tuple[frozenset[str], frozenset[str]]:
        if self._functions is None:
            table = client.query("SELECT lower(name) FROM system.table_functions").result_rows
            scalar = client.query("SELECT lower(name) FROM system.functions").result_rows
            self._functions = (frozenset(row[0] for row in table), frozenset(row[0] for row in scalar))
        return self._functions

    def cancel_running(self, control: Any) -> None:
        """Cancel this pool's running queries (``control``: a client of the same engine, not one of ours)."""
        control.command("KILL QUERY WHERE Settings['log_comment'] = {tag:String} SYNC", parameters={"tag": self._tag})

    def close(self) -> None:
        for client in self._opened:
            try:
                client.close()
            except Exception:  # noqa: BLE001, S110 -- closing must not mask the reason we are shutting down
                pass
        self._opened.clear()

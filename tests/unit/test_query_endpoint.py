"""The worker's query endpoint: loopback, token-protected, one SELECT over aispm's tables, bounded.

Every attack of issue 7 item 4 is sent with a valid token and must be refused without effect; analysts'
queries over aispm's tables and views (the saved ones included) must still run.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from streams.runtime.queries import saved_query, saved_query_names
from streams.runtime.query import QueryServer, ensure_token
from streams.runtime.store import Store
from tests.conftest import free_port, fresh_database_settings, saved_query_parameters


def call(port: int, path: str, token: str | None, payload: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers,
                                     data=json.dumps(payload).encode() if payload is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextmanager
def serving(store: Store, timeout_s: float) -> Iterator[tuple[int, str]]:
    """A QueryServer for ``store`` on a free port, its event loop in a background thread."""
    token = ensure_token(store.settings)
    port = free_port()
    server = QueryServer(store=store, stats=lambda: {"ingest": {"messages": 7}}, token=token, port=port,
                         timeout_s=timeout_s)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port, token
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture(scope="module")
def endpoint(chdb_data_dir):
    settings = fresh_database_settings(
        chdb_data_dir, query={"max_rows": 5, "max_result_bytes": 1 << 20, "max_memory_bytes": 256 << 20})
    store = Store(settings)
    store.migrate()
    with serving(store, timeout_s=30) as (port, token):
        yield port, token, settings
    store.close()


class RequestCounter(http.server.BaseHTTPRequestHandler):
    """A loopback HTTP service an SSRF would reach; it counts what it receives."""

    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"secret-from-loopback\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def loopback_service() -> Iterator[tuple[int, type[RequestCounter]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RequestCounter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], RequestCounter
    server.shutdown()


def test_token_file_is_private(endpoint) -> None:
    _, _, settings = endpoint
    assert (settings.run_dir / "query.token").stat().st_mode & 0o077 == 0


def test_requests_without_the_token_are_refused(endpoint) -> None:
    port, _, _ = endpoint
    assert call(port, "/query", None, {"sql": "SELECT 1"})[0] == 401
    assert call(port, "/query", "wrong-token", {"sql": "SELECT 1"})[0] == 401
    assert call(port, "/stats", None)[0] == 401
    assert call(port, "/health", None) == (200, {"ok": True})


def test_queries_run_with_server_side_parameters(endpoint) -> None:
    port, token, _ = endpoint
    status, body = call(port, "/query", token, {"sql": "SELECT {x:String} AS v, count() AS n FROM events",
                                                "parameters": {"x": "'; DROP TABLE events; --"}})
    assert status == 200
    assert body == {"columns": ["v", "n"], "rows": [["'; DROP TABLE events; --", 0]]}


def test_writes_are_refused_and_row_limit_holds(endpoint) -> None:
    port, token, _ = endpoint
    status, body = call(port, "/query", token, {"sql": "DROP TABLE events"})
    assert status == 403 and "SELECT" in body["error"]
    status, body = call(port, "/query", token, {"sql": "SELECT number FROM numbers(100)"})
    assert status == 400 and "limit" in body["error"].lower()
    assert call(port, "/query", token, {"sql": "SELECT count() FROM events"})[1]["rows"] == [[0]]


def test_the_endpoint_listens_on_loopback_only(endpoint) -> None:
    port, _, _ = endpoint
    import psutil

    bound = {conn.laddr.ip for conn in psutil.net_connections("tcp")
             if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port}
    assert bound == {"127.0.0.1"}


# -- item 4: each of these reads or writes outside aispm's tables, changes the engine, or lifts a limit --

REFUSED = [
    # files on the host, the endpoint's own token first
    "SELECT * FROM file('{token}', 'LineAsString')",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT file('/etc/passwd')",
    "SELECT file('{token}')",
    "SELECT * FROM `file`('/etc/passwd', 'LineAsString')",
    'SELECT * FROM "file"(\'/etc/passwd\', \'LineAsString\')',
    "SELECT arrayMap(p -> file(p), ['/etc/passwd'])",
    "SELECT * FROM events AS e JOIN file('/etc/passwd', 'LineAsString') AS f ON 1",
    "SELECT * FROM (SELECT * FROM file('/etc/passwd', 'LineAsString'))",
    "WITH f AS (SELECT * FROM file('/etc/passwd', 'LineAsString')) SELECT * FROM f",
    "SELECT count() FROM events WHERE raw IN (SELECT * FROM file('/etc/passwd', 'LineAsString'))",
    "SELECT 1 /* comment */ , file /* hidden */ ('/etc/passwd')",
    "SELECT * FROM filesystem('/etc')",
    "SELECT * FROM sqlite('/etc/passwd', 't')",
    # writes
    "INSERT INTO FUNCTION file('{out}', 'CSV') SELECT 1",
    "SELECT 1 INTO OUTFILE '{out}'",
    "SELECT 1 INTO OUTFILE '{out}' FORMAT CSV",
    "INSERT INTO events (event_id) VALUES ('x')",
    "CREATE TEMPORARY TABLE t (x UInt8)",
    "CREATE TABLE t (x UInt8) ENGINE = Memory",
    "ALTER TABLE events DELETE WHERE 1",
    "TRUNCATE TABLE events",
    "OPTIMIZE TABLE events FINAL",
    # the network
    "SELECT * FROM url('http://127.0.0.1:{loopback}/', 'LineAsString')",
    "SELECT * FROM s3('http://127.0.0.1:{loopback}/x.csv', 'LineAsString')",
    "SELECT * FROM urlCluster('default', 'http://127.0.0.1:{loopback}/', 'LineAsString')",
    "SELECT * FROM remote('127.0.0.1:9000', system.one)",
    "SELECT * FROM cluster('default', system.one)",
    # the engine and other sessions
    "SYSTEM STOP MERGES",
    "SYSTEM FLUSH LOGS",
    "KILL QUERY WHERE 1",
    "KILL QUERY WHERE 1 SYNC",
    "SET max_result_rows = 0",
    "USE system",
    "EXPLAIN SELECT 1",
    "EXPLAIN AST SELECT 1",
    "DESCRIBE TABLE events",
    "SHOW TABLES",
    "SELECT * FROM (EXPLAIN SELECT * FROM system.one)",
    "SELECT 1 PARALLEL WITH SELECT 2",
    # several statements
    "SELECT 1; SELECT 2",
    "SELECT 1; SYSTEM STOP MERGES",
    "SELECT count() FROM events; KILL QUERY WHERE 1",
    "SELECT 1 -- comment\n; SELECT 2",
    "SELECT count() FROM events /*",
    # lifting the limits in the query text
    "SELECT number FROM numbers(100) SETTINGS max_result_rows = 0",
    "SELECT number FROM numbers(100) SETTINGS result_overflow_mode = 'break'",
    "SELECT * FROM (SELECT number FROM numbers(100) SETTINGS max_result_rows = 0)",
    "SELECT * FROM (SELECT getSetting('allow_introspection_functions') SETTINGS allow_introspection_functions = 1)",
    "SELECT count() FROM numbers(10) SETTINGS max_execution_time = 0",
    "SELECT 1 FORMAT JSON",
    # other databases and the engine's own tables
    "SELECT * FROM system.processes",
    "SELECT query FROM system.query_log",
    "SELECT name FROM system.tables",
    "SELECT * FROM `system`.`settings`",
    'SELECT * FROM "system"."users"',
    "SELECT * FROM INFORMATION_SCHEMA.TABLES",
    "SELECT * FROM information_schema.columns",
    "SELECT 1 IN system.one",
    "SELECT 0 IN (system.one)",
    "SELECT * FROM view(SELECT * FROM system.processes)",
    "SELECT * FROM merge('system', '.*')",
    "SELECT * FROM mergeTreeIndex(currentDatabase(), events)",
    "SELECT * FROM python(store)",
    "SELECT * FROM input('x UInt8')",
    "SELECT * FROM executable('id', 'LineAsString', 'x String')",
    "SELECT * FROM dictionary('d')",
    "SELECT dictGet('d', 'a', toUInt64(1))",
    "SELECT joinGet('system.t', 'a', 1)",
    "SELECT hasColumnInTable('system', 'users', 'name')",
    "SELECT getServerSetting('path')",
    "SELECT * FROM {{t:Identifier}}",
    # tricks on the parser: names holding newlines, look-alike letters, clauses inside CTEs and unions
    "SELECT * FROM events AS `e\nTableExpression (children 1)\n Function numbers` JOIN file('/etc/passwd') AS f ON 1",
    "SELECT * FROM `system`.`processes\n`",
    "SELECT * FROM \u0455ystem.processes",
    "SELECT count() FROM events UNION ALL SELECT count() FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM (SELECT 1) AS s, system.one",
    "WITH x AS (SELECT 1 SETTINGS readonly = 0) SELECT * FROM x",
    "SELECT * FROM events INTO OUTFILE '{out}' APPEND",
    "FROM system.one SELECT *",
    "SELECT * FROM generateRandom('a String', 1, 100)",
]


@pytest.fixture()
def attack_paths(endpoint, tmp_path) -> dict[str, str]:
    _, _, settings = endpoint
    return {"token": str(settings.run_dir / "query.token"), "out": str(tmp_path / "written.csv")}


@pytest.mark.parametrize("template", REFUSED)
def test_every_query_of_item_4_is_refused(endpoint, attack_paths, loopback_service, template: str) -> None:
    port, token, _ = endpoint
    loopback_port, counter = loopback_service
    hits_before = counter.hits
    sql = template.format(loopback=loopback_port, **attack_paths)
    status, body = call(port, "/query", token, {"sql": sql, "parameters": {"t": "system.processes"}})
    assert status in (400, 403), body
    assert "rows" not in body
    assert token not in json.dumps(body) and "root:" not in json.dumps(body)
    assert counter.hits == hits_before, "the query reached a loopback service"
    assert not Path(attack_paths["out"]).exists(), "the query wrote a file"
    assert call(port, "/query", token, {"sql": "SELECT count() FROM events"})[0] == 200


def test_refusals_say_what_is_allowed(endpoint) -> None:
    port, token, _ = endpoint
    status, body = call(port, "/query", token, {"sql": "SELECT * FROM system.processes"})
    assert status == 403 and "system.processes" in body["error"]
    status, body = call(port, "/query", token, {"sql": "SELECT * FROM url('http://127.0.0.1:1/')"})
    assert status == 403 and "url" in body["error"] and "numbers" in body["error"]


def test_an_identifier_parameter_cannot_name_a_table_outside_aispm(endpoint) -> None:
    port, token, _ = endpoint
    sql = "SELECT count() FROM {t:Identifier}"
    assert call(port, "/query", token, {"sql": sql, "parameters": {"t": "events"}})[1]["rows"] == [[0]]
    for outside in ("system.processes", "system.one", "INFORMATION_SCHEMA.TABLES"):
        assert call(port, "/query", token, {"sql": sql, "parameters": {"t": outside}})[0] == 403


def test_parameter_names_must_be_identifiers(endpoint) -> None:
    port, token, _ = endpoint
    status, body = call(port, "/query", token, {"sql": "SELECT $x$", "parameters": {"$x$": "1"}})
    assert status == 403 and "parameter" in body["error"]


def test_result_size_is_capped_in_the_engine(endpoint) -> None:
    port, token, _ = endpoint
    status, body = call(port, "/query", token, {"sql": "SELECT repeat('x', 600000) FROM numbers(3)"})
    assert status == 400 and "limit" in body["error"].lower()


def test_memory_is_capped_in_the_engine(endpoint) -> None:
    port, token, _ = endpoint
    status, body = call(port, "/query", token, {"sql": "SELECT length(groupArray(number)) FROM numbers(100000000)"})
    assert status == 400 and "memory" in body["error"].lower()


# -- what analysts do must keep working ---------------------------------------------------------------

ANALYST_QUERIES = [
    "SELECT count() FROM events",
    "SELECT count() FROM aispm_db.events",
    "SELECT source_family, count() AS n FROM events FINAL GROUP BY source_family ORDER BY n DESC LIMIT 5",
    "WITH recent AS (SELECT actor FROM events WHERE time > now() - INTERVAL 1 DAY) SELECT count() FROM recent",
    "SELECT count() FROM events AS e INNER JOIN alerts_current AS a ON e.actor = a.principal",
    "SELECT count() FROM events WHERE actor IN (SELECT principal FROM alerts_current)",
    "SELECT count() FROM dead_letters WHERE reason != ''",
    "SELECT toStartOfHour(now()) - INTERVAL number HOUR AS hour FROM numbers(5)",
    "SELECT number FROM system_like_name_is_fine",
    "SELECT 'file' AS word, 'system.processes' AS text, 'a;b' AS semicolon",
    "SELECT count() FROM events WHERE raw LIKE '%file(%' OR raw LIKE '%FORMAT%'",
    "SELECT e.actor FROM events AS e WHERE e.actor = {actor:String} LIMIT 1",
    "SELECT x FROM values('x UInt8', 1, 2, 3)",
    "SELECT 1 UNION ALL SELECT 2",
    "FROM events SELECT count()",
    "WITH system AS (SELECT 1 AS one) SELECT one FROM system",
    "SELECT 1 AS file, 2 AS url",
]


@pytest.mark.parametrize("sql", ANALYST_QUERIES)
def test_analysts_queries_over_aispm_still_run(endpoint, sql: str) -> None:
    port, token, settings = endpoint
    if "system_like_name_is_fine" in sql:
        sql = "SELECT count() FROM events AS system_like_name_is_fine"
    sql = sql.replace("aispm_db", settings.clickhouse.database)
    status, body = call(port, "/query", token, {"sql": sql, "parameters": {"actor": "alice"}})
    assert status == 200, body


@pytest.mark.parametrize("name", saved_query_names())
def test_every_saved_query_runs_through_the_endpoint(endpoint, name: str) -> None:
    port, token, _ = endpoint
    sql = saved_query(name)
    status, body = call(port, "/query", token, {"sql": sql, "parameters": saved_query_parameters(name)})
    assert status == 200, body

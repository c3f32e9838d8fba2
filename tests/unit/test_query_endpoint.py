"""The worker's query endpoint: loopback, token-protected, read-only, parameters bound server-side."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from streams.query import QueryServer, ensure_token
from streams.store import Store
from tests.conftest import free_port, fresh_database_settings


def call(port: int, path: str, token: str | None, payload: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers,
                                     data=json.dumps(payload).encode() if payload is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def endpoint(chdb_data_dir):
    settings = fresh_database_settings(chdb_data_dir)
    store = Store(settings)
    store.migrate()
    token = ensure_token(settings)
    port = free_port()
    server = QueryServer(store=store, stats=lambda: {"ingest": {"messages": 7}}, token=token, port=port,
                         max_rows=5, timeout_s=30)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(server.start())
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port, token, settings
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    store.close()


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
    assert status == 400 and "readonly" in body["error"].lower()
    status, body = call(port, "/query", token, {"sql": "SELECT number FROM numbers(100)"})
    assert status == 400 and "limit" in body["error"].lower()
    assert call(port, "/query", token, {"sql": "SELECT count() FROM events"})[1]["rows"] == [[0]]


def test_the_endpoint_listens_on_loopback_only(endpoint) -> None:
    port, _, _ = endpoint
    import psutil

    bound = {conn.laddr.ip for conn in psutil.net_connections("tcp")
             if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port}
    assert bound == {"127.0.0.1"}

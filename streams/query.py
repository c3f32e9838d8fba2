"""The worker's local query endpoint, and the client `aispm query` uses.

chDB locks its directory to one process, so while `aispm up` runs, other shells reach the store
through this endpoint: loopback only, read-only (the store's reader client runs with readonly=2),
and every request but /health needs the bearer token kept in ``<data dir>/run/query.token`` (0600).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from streams.settings import Settings

TOKEN_FILE = "query.token"
WORKER_STATE_FILE = "worker.json"


class QueryError(RuntimeError):
    """A query failed; the message is ClickHouse's or the endpoint's explanation."""


def ensure_token(settings: Settings) -> str:
    """The endpoint token, created (readable by the owner only) on first use."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    path = settings.run_dir / TOKEN_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


class QueryServer:
    """aiohttp app on 127.0.0.1 serving /health, /stats and /query for one store."""

    def __init__(self, *, store: Any, stats: Callable[[], dict], token: str, port: int,
                 max_rows: int, timeout_s: float) -> None:
        self.store = store
        self.stats = stats
        self.token = token
        self.port = port
        self.max_rows = max_rows
        self.timeout_s = timeout_s
        self._runner: Any = None

    def _authorized(self, request: Any) -> bool:
        header = request.headers.get("Authorization", "")
        supplied = header.removeprefix("Bearer ").strip()
        return bool(supplied) and hmac.compare_digest(supplied, self.token)

    async def start(self) -> None:
        from aiohttp import web

        async def health(request: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        async def stats(request: web.Request) -> web.Response:
            if not self._authorized(request):
                return web.json_response({"error": "missing or wrong bearer token"}, status=401)
            return web.Response(body=dumps(self.stats()), content_type="application/json")

        async def query(request: web.Request) -> web.Response:
            if not self._authorized(request):
                return web.json_response({"error": "missing or wrong bearer token"}, status=401)
            try:
                body = await request.json()
                sql = body["sql"]
                parameters = body.get("parameters") or {}
                if not isinstance(sql, str) or not isinstance(parameters, dict):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                return web.json_response({"error": 'expected JSON {"sql": str, "parameters": {}}'}, status=400)
            loop = asyncio.get_running_loop()
            try:
                columns, rows = await asyncio.wait_for(
                    loop.run_in_executor(None, lambda: self.store.query(sql, parameters, max_rows=self.max_rows)),
                    self.timeout_s,
                )
            except TimeoutError:
                return web.json_response({"error": f"query exceeded {self.timeout_s}s"}, status=504)
            except Exception as exc:  # noqa: BLE001 -- ClickHouse's message is the useful answer for the analyst
                return web.json_response({"error": str(exc).strip().splitlines()[0][:2000]}, status=400)
            return web.Response(body=dumps({"columns": columns, "rows": rows}), content_type="application/json")

        app = web.Application(client_max_size=4 << 20)
        app.router.add_get("/health", health)
        app.router.add_get("/stats", stats)
        app.router.add_post("/query", query)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# --- client ------------------------------------------------------------------------------------------

def write_worker_state(settings: Settings, **state: Any) -> Path:
    path = settings.run_dir / WORKER_STATE_FILE
    path.write_text(json.dumps({"pid": os.getpid(), **state}))
    return path


def clear_worker_state(settings: Settings) -> None:
    path = settings.run_dir / WORKER_STATE_FILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_worker(settings: Settings) -> dict | None:
    """The running worker's state (pid, query port) if one runs for this data dir, else None."""
    path = settings.run_dir / WORKER_STATE_FILE
    try:
        state = json.loads(path.read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, ProcessLookupError):
        return None
    return state


def _call(settings: Settings, path: str, payload: dict | None = None, timeout: float = 120) -> Any:
    state = running_worker(settings)
    if state is None:
        raise QueryError("no aispm worker is running for this data dir")
    token = (settings.run_dir / TOKEN_FILE).read_text().strip()
    request = urllib.request.Request(
        f"http://127.0.0.1:{state['query_port']}{path}",
        data=orjson.dumps(payload) if payload is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST" if payload is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = orjson.loads(exc.read()).get("error", str(exc))
        except ValueError:
            message = str(exc)
        raise QueryError(message) from None
    except urllib.error.URLError as exc:
        raise QueryError(f"the worker's query endpoint did not answer: {exc.reason}") from None


def remote_query(settings: Settings, sql: str, parameters: dict | None = None) -> tuple[list[str], list[list]]:
    answer = _call(settings, "/query", {"sql": sql, "parameters": parameters or {}})
    return answer["columns"], answer["rows"]


def remote_stats(settings: Settings) -> dict:
    return _call(settings, "/stats", timeout=10)


def run_query(settings: Settings, sql: str, parameters: dict | None = None) -> tuple[list[str], list]:
    """Query through the running worker, or open the store directly when none runs."""
    if running_worker(settings) is not None:
        return remote_query(settings, sql, parameters)
    from streams.store import Store

    store = Store(settings)
    try:
        return store.query(sql, parameters, max_rows=settings.query.max_rows)
    finally:
        store.close()

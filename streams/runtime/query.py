"""The worker's local query endpoint, the client `aispm query` uses, and who may open the store.

chDB locks its directory to one process, so while `aispm up` runs, other shells reach the store
through this endpoint: loopback only, every request but /health needs the bearer token kept in
``<data dir>/run/query.token`` (0600), and each query runs in the store's sandbox (streams/runtime/sandbox.py):
one SELECT over aispm's tables, cancelled by the engine at its timeout, at most
``AISPM_QUERY__CONCURRENCY`` at once (more are answered 429, not queued).

``<data dir>/run/store.lock`` orders the processes that open the store: a worker holds it exclusively
from start to exit, a direct `aispm query` shares it while it runs. So `aispm up` waits for a direct
query to finish instead of failing on chDB's lock, and `aispm query` waits while a worker starts.
"""

from __future__ import annotations

import asyncio
import fcntl
import hmac
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import orjson

from streams.runtime.sandbox import QueryBusy, QueryRefused, QueryTimeout
from streams.settings import Settings

TOKEN_FILE = "query.token"
WORKER_STATE_FILE = "worker.json"
STORE_LOCK_FILE = "store.lock"

# The endpoint's own wait past the engine's timeout: the engine cancels the query at timeout_s, this
# only covers the result's way back.
_BACKSTOP_S = 10


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


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:2000]


class QueryServer:
    """aiohttp app on 127.0.0.1 serving /health, /stats and /query for one store."""

    def __init__(self, *, store: Any, stats: Callable[[], dict], token: str, port: int, timeout_s: float) -> None:
        self.store = store
        self.stats = stats
        self.token = token
        self.port = port
        self.timeout_s = timeout_s
        self.slots = store.analyst.slots
        # One thread per sandbox slot: a query never waits in an executor queue behind others.
        self._executor = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="aispm-query")
        self._in_flight = 0  # changed on the event loop only
        self._runner: Any = None

    def _authorized(self, request: Any) -> bool:
        header = request.headers.get("Authorization", "")
        supplied = header.removeprefix("Bearer ").strip()
        return bool(supplied) and hmac.compare_digest(supplied, self.token)

    def _finished(self, _future: Any) -> None:
        self._in_flight -= 1

    async def _run(self, sql: str, parameters: dict) -> tuple[int, dict]:
        if self._in_flight >= self.slots:
            return 429, {"error": f"busy: {self.slots} queries are running; try again shortly"}
        self._in_flight += 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, self.store.query, sql, parameters)
        # The slot is free when the query's thread is, not when this request gives up waiting.
        future.add_done_callback(self._finished)
        try:
            columns, rows = await asyncio.wait_for(asyncio.shield(future), self.timeout_s + _BACKSTOP_S)
        except TimeoutError:
            return 504, {"error": f"query exceeded {self.timeout_s:g} s and is being cancelled"}
        except QueryRefused as refused:
            return 403, {"error": str(refused)}
        except QueryBusy as busy:
            return 429, {"error": f"busy: {busy}"}
        except QueryTimeout as timeout:
            return 504, {"error": str(timeout)}
        except Exception as exc:  # noqa: BLE001 -- ClickHouse's message is the useful answer for the analyst
            return 400, {"error": _first_line(exc)}
        return 200, {"columns": columns, "rows": rows}

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
            status, answer = await self._run(sql, parameters)
            return web.Response(body=dumps(answer), status=status, content_type="application/json")

        app = web.Application(client_max_size=4 << 20)
        app.router.add_get("/health", health)
        app.router.add_get("/stats", stats)
        app.router.add_post("/query", query)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()

    async def stop(self) -> None:
        # Running queries are cancelled first, so closing the server does not wait out their timeouts.
        await asyncio.get_running_loop().run_in_executor(None, self.store.cancel_queries)
        if self._runner is not None:
            await self._runner.cleanup()
        self._executor.shutdown(wait=False, cancel_futures=True)


# --- who opens the store ------------------------------------------------------------------------------

class StoreLock:
    """A held flock on ``<run dir>/store.lock``; released by ``release()`` or when the process ends."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def try_store_lock(settings: Settings, *, exclusive: bool) -> StoreLock | None:
    """The store lock (exclusive for a worker, shared for a direct query) if it is free now, else None."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    # Not inherited by children (PEP 446): the embedded broker must not keep the store locked.
    fd = os.open(settings.run_dir / STORE_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return StoreLock(fd)


def wait_for_store_lock(settings: Settings, *, exclusive: bool, wait_s: float,
                        on_wait: Callable[[], None] | None = None) -> StoreLock | None:
    """The store lock, waiting up to ``wait_s`` for it; None if it stayed taken."""
    deadline = time.monotonic() + wait_s
    lock = try_store_lock(settings, exclusive=exclusive)
    if lock is None and on_wait is not None:
        on_wait()
    while lock is None and time.monotonic() < deadline:
        time.sleep(0.1)
        lock = try_store_lock(settings, exclusive=exclusive)
    return lock


@contextmanager
def exclusive_store(settings: Settings) -> Iterator[Any]:
    """The store, migrated, for a command that writes to it. chDB opens in one process only, so with the
    embedded store this holds the store lock (waiting up to ``AISPM_QUERY__LOCK_WAIT_S``) and raises
    QueryError while `aispm up` or `aispm query` has it; a ClickHouse server takes every writer at once."""
    from streams.runtime.store import Store

    lock = None
    if settings.clickhouse_dsn.startswith("chdb://"):
        lock = wait_for_store_lock(settings, exclusive=True, wait_s=settings.query.lock_wait_s)
        if lock is None:
            raise QueryError(f"the store of {settings.data_dir} is open in another aispm process "
                             "(`aispm up` or `aispm query`); the embedded store (chDB) opens in one process at a "
                             "time: stop it, or use a ClickHouse server (AISPM_CLICKHOUSE__DSN)")
    try:
        store = Store(settings)
        try:
            yield store
        finally:
            store.close()
    finally:
        if lock is not None:
            lock.release()


def migrate_store(settings: Settings) -> list[str]:
    """Apply the DDL migrations not applied yet (`aispm db migrate`), holding the store alone meanwhile.

    Returns the migrations applied now. Raises QueryError while another aispm process keeps the store
    past ``AISPM_QUERY__LOCK_WAIT_S``, StoreError when a migration cannot be applied.
    """
    with exclusive_store(settings) as store:
        return store.migrate()


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
    answer = _call(settings, "/query", {"sql": sql, "parameters": parameters or {}},
                   timeout=settings.query.timeout_s + 2 * _BACKSTOP_S)
    return answer["columns"], answer["rows"]


def remote_stats(settings: Settings) -> dict:
    return _call(settings, "/stats", timeout=10)


def run_query(settings: Settings, sql: str, parameters: dict | None = None) -> tuple[list[str], list]:
    """Query through the running worker, or open the store directly when none runs.

    While a worker starts (it holds the store but has no endpoint yet) this waits for it, up to
    ``AISPM_QUERY__LOCK_WAIT_S``; a direct query holds the store lock shared, so `aispm up` waits for it.
    """
    deadline = time.monotonic() + settings.query.lock_wait_s
    while True:
        if running_worker(settings) is not None:
            return remote_query(settings, sql, parameters)
        lock = try_store_lock(settings, exclusive=False)
        if lock is not None:
            with lock:
                return _direct_query(settings, sql, parameters)
        if time.monotonic() >= deadline:
            raise QueryError(
                f"another aispm process (a starting `aispm up`, or `aispm db migrate`) has held the store of "
                f"{settings.data_dir} for {settings.query.lock_wait_s:g} s without opening a query endpoint; "
                f"see {settings.run_dir / 'worker.log'}"
            )
        time.sleep(0.1)


def no_store_message(settings: Settings) -> str:
    return (f"there is no aispm store in {settings.data_dir} yet: run `aispm up` (it creates the store and "
            "keeps it up to date) or `aispm db migrate`")


def _direct_query(settings: Settings, sql: str, parameters: dict | None) -> tuple[list[str], list]:
    from streams.runtime.store import Store

    dsn = settings.clickhouse_dsn
    if dsn.startswith("chdb://") and not Path(dsn.removeprefix("chdb://")).exists():
        raise QueryError(no_store_message(settings))  # opening it would create an empty store
    store = Store(settings)
    try:
        if not store.migrated():
            raise QueryError(no_store_message(settings))
        return store.query(sql, parameters)
    finally:
        store.close()

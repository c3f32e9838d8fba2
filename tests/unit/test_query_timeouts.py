"""Issue 7 item 5: an analyst's slow query is cancelled by the engine at its timeout, never holds the
lock landing needs, and a full endpoint answers 429 instead of queueing without bound."""

from __future__ import annotations

import threading
import time

import pytest

from streams.runtime.store import Store
from tests.conftest import fresh_database_settings
from tests.unit.test_query_endpoint import call, serving
from tests.unit.test_store import event

# About 10 s of CPU uncancelled (numbers() scans ~100M rows/s here); the store cancels it at 2 s.
SLOW_QUERY = "SELECT count() FROM numbers(1000000000) WHERE sipHash64(number) = 7"


@pytest.fixture(scope="module")
def store(chdb_data_dir):
    store = Store(fresh_database_settings(chdb_data_dir, query={"timeout_s": 2, "concurrency": 1}))
    store.migrate()
    yield store
    store.close()


def running_analyst_queries(store: Store) -> int:
    # The writer client is the store's own: it sees every session's queries, the analyst's cannot.
    return store.client.query(
        "SELECT count() FROM system.processes WHERE query LIKE '%sipHash64(number) = 7%' "
        "AND query NOT LIKE '%system.processes%'").result_rows[0][0]


def wait_until_running(store: Store, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 30
    while not running_analyst_queries(store):
        assert thread.is_alive(), "the slow query ended before it was seen running"
        assert time.monotonic() < deadline, "the slow query never started"
        time.sleep(0.02)


def test_a_slow_query_is_cancelled_while_landing_goes_on(store: Store) -> None:
    order: list[str] = []
    outcome: dict[str, BaseException] = {}

    def analyst() -> None:
        try:
            store.query(SLOW_QUERY)
        except Exception as error:  # noqa: BLE001 -- the test inspects it below
            outcome["error"] = error
        order.append("query ended")

    thread = threading.Thread(target=analyst)
    thread.start()
    wait_until_running(store, thread)
    landed = store.land_events([event("while-a-slow-query-runs")])
    order.append("landed")
    thread.join(60)
    assert order == ["landed", "query ended"]
    assert landed.inserted == 1
    assert "TIMEOUT_EXCEEDED" in str(outcome.get("error")) or "cancelled" in str(outcome.get("error"))
    assert running_analyst_queries(store) == 0


def test_the_endpoint_answers_504_at_the_timeout_and_429_when_full(store: Store) -> None:
    with serving(store, timeout_s=2) as (port, token):
        answers: dict[str, tuple[int, dict]] = {}
        slow = threading.Thread(target=lambda: answers.update(slow=call(port, "/query", token, {"sql": SLOW_QUERY})))
        slow.start()
        wait_until_running(store, slow)
        status, body = call(port, "/query", token, {"sql": "SELECT 1"})
        assert status == 429 and "busy" in body["error"]
        slow.join(60)
        assert answers["slow"][0] == 504
        assert "2" in answers["slow"][1]["error"] and "cancelled" in answers["slow"][1]["error"]
        assert running_analyst_queries(store) == 0
        assert call(port, "/query", token, {"sql": "SELECT 1"}) == (200, {"columns": ["1"], "rows": [[1]]})


def test_closing_the_store_cancels_running_analyst_queries(chdb_data_dir) -> None:
    store = Store(fresh_database_settings(chdb_data_dir, query={"timeout_s": 600}))
    store.migrate()
    outcome: dict[str, BaseException] = {}

    def analyst() -> None:
        try:
            store.query(SLOW_QUERY.replace("1000000000", "100000000000"))
        except Exception as error:  # noqa: BLE001 -- the test inspects it below
            outcome["error"] = error

    thread = threading.Thread(target=analyst, daemon=True)
    thread.start()
    wait_until_running(store, thread)
    closer = threading.Thread(target=store.close, daemon=True)
    closer.start()
    closer.join(30)
    thread.join(30)
    assert not closer.is_alive(), "shutdown waited for the analyst's query"
    assert "error" in outcome

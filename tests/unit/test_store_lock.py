"""Issue 7 items 9 and 10: `aispm up` and `aispm query` take turns on the store instead of failing on
chDB's directory lock, and a query on a data dir with no store says what to run."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.runtime.query import QueryError, run_query, try_store_lock
from streams.runtime.store import Store
from streams.runtime.worker import WorkerError, lock_store
from streams.settings import Settings
from tests.conftest import fresh_database_settings


def release_later(lock, order: list[str], delay_s: float = 0.5) -> threading.Timer:
    def release() -> None:
        order.append("released")
        lock.release()

    timer = threading.Timer(delay_s, release)
    timer.start()
    return timer


def test_a_starting_worker_waits_for_a_direct_query(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, query={"lock_wait_s": 30})
    direct_query = try_store_lock(settings, exclusive=False)
    order: list[str] = []
    timer = release_later(direct_query, order)
    with lock_store(settings):
        order.append("worker has the store")
    timer.join()
    assert order == ["released", "worker has the store"]


def test_a_worker_refuses_clearly_when_the_store_stays_in_use(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, query={"lock_wait_s": 0.3})
    with try_store_lock(settings, exclusive=False), pytest.raises(WorkerError, match="aispm query"):
        lock_store(settings)


def test_a_second_worker_is_refused_while_the_first_holds_the_store(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, query={"lock_wait_s": 0.3})
    with lock_store(settings), pytest.raises(WorkerError):
        lock_store(settings)


def test_a_direct_query_waits_while_a_worker_starts(chdb_data_dir) -> None:
    settings = fresh_database_settings(chdb_data_dir, query={"lock_wait_s": 30})
    store = Store(settings)
    store.migrate()
    store.close()
    starting_worker = try_store_lock(settings, exclusive=True)
    assert starting_worker is not None
    order: list[str] = []
    timer = release_later(starting_worker, order)
    columns, rows = run_query(settings, "SELECT count() AS n FROM events")
    order.append("queried")
    timer.join()
    assert order == ["released", "queried"]
    assert (columns, rows) == (["n"], [(0,)])


def test_a_direct_query_gives_up_on_a_worker_that_never_opens_its_endpoint(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, query={"lock_wait_s": 0.3})
    with try_store_lock(settings, exclusive=True), pytest.raises(QueryError, match="worker.log"):
        run_query(settings, "SELECT 1")


def test_a_query_on_a_fresh_data_dir_says_what_to_run(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "fresh")
    with pytest.raises(QueryError, match=r"`aispm up`.*`aispm db migrate`"):
        run_query(settings, "SELECT count() FROM events")
    assert not (tmp_path / "fresh" / "clickhouse").exists(), "asking must not create a store"


def test_a_query_on_a_store_never_migrated_says_what_to_run(chdb_data_dir) -> None:
    settings = fresh_database_settings(chdb_data_dir)
    with pytest.raises(QueryError, match=r"`aispm up`.*`aispm db migrate`"):
        run_query(settings, "SELECT count() FROM events")


def test_the_cli_says_what_to_run_instead_of_unknown_table(tmp_path) -> None:
    result = CliRunner().invoke(main, ["query", "SELECT count() FROM events"],
                                env={"AISPM_DATA_DIR": str(tmp_path / "fresh")})
    assert result.exit_code == 1
    assert "aispm up" in result.output and "UNKNOWN_TABLE" not in result.output
    assert "Traceback" not in result.output


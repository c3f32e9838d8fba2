"""The cluster form of the DDL (streams/runtime/cluster.py): every generated statement is parsed by the real
engine (chDB's ``formatQuery``), each table becomes a Replicated local table plus a Distributed one, and with
no cluster set the store runs the files exactly as written.

What only a ClickHouse cluster can show (no Keeper or remote_servers here): that the ON CLUSTER statements
run on every server, that replicas converge, and that inserts through the Distributed tables land on the
shard their sorting key hashes to.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.runtime.cluster import REPLICA_PATH, ClusterDdlError, cluster_statements, local_name
from streams.runtime.store import SCHEMA_MIGRATIONS, Store, connect, migrations
from streams.settings import Settings
from tests.conftest import fresh_database_settings

CLUSTER = "aispm-prod"
DATABASE = "aispm"
_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+)\s*\(.*?ENGINE = (\w+)", re.DOTALL)


def _single_node_statements() -> list[str]:
    return [SCHEMA_MIGRATIONS] + [statement for migration in migrations() for statement in migration.statements()]


def _cluster_statements() -> list[str]:
    return [out for statement in _single_node_statements()
            for out in cluster_statements(statement, cluster=CLUSTER, database=DATABASE)]


@pytest.fixture(scope="module")
def engine(chdb_data_dir: Path):
    return connect(Settings(data_dir=chdb_data_dir))


def _formatted(engine, statement: str) -> str:
    return engine.query("SELECT formatQuery({q:String})", parameters={"q": statement}).result_rows[0][0]


def test_every_generated_statement_parses_in_the_engine(engine) -> None:
    statements = _cluster_statements()
    assert len(statements) > len(_single_node_statements())
    for statement in statements:
        formatted = _formatted(engine, statement)
        assert f"ON CLUSTER `{CLUSTER}`" in formatted, formatted
    # The parser is a real judge: a statement broken the way a bad transform would break it is refused.
    broken = statements[0].replace("MergeTree(", "MergeTree", 1)
    with pytest.raises(Exception, match="Syntax error"):
        _formatted(engine, broken)


def test_each_table_becomes_a_replicated_local_table_and_a_distributed_one(engine) -> None:
    single = {match.group(1): match.group(2) for statement in _single_node_statements()
              if (match := _TABLE.match(statement))}
    assert {"events", "alerts", "ai_inventory", "ai_usage_1m", "schema_migrations"} <= set(single)
    formatted = [_formatted(engine, statement) for statement in _cluster_statements()]
    for table, single_engine in single.items():
        local = [text for text in formatted if text.startswith(f"CREATE TABLE IF NOT EXISTS {local_name(table)} ")]
        assert len(local) == 1, table
        assert f"ENGINE = Replicated{single_engine}('{REPLICA_PATH}', '{{replica}}'" in local[0], local[0]
        distributed = [text for text in formatted if text.startswith(f"CREATE TABLE IF NOT EXISTS {table} ")]
        assert len(distributed) == 1, table
        assert f"AS {local_name(table)}" in distributed[0]
        assert f"ENGINE = Distributed('{CLUSTER}', '{DATABASE}', '{local_name(table)}', cityHash64(" in distributed[0]
    # No table keeps a non-replicated MergeTree engine.
    assert not [text for text in formatted if re.search(r"ENGINE = (?!Replicated|Distributed)\w*MergeTree", text)]


def test_engine_arguments_and_sorting_key_carry_over() -> None:
    local, distributed = cluster_statements(
        "CREATE TABLE IF NOT EXISTS t (k String, v UInt64, s Array(String)) ENGINE = ReplacingMergeTree(v) "
        "PARTITION BY toYYYYMM(now()) ORDER BY (k, v) TTL now() + INTERVAL 1 DAY",
        cluster="c", database="db")
    assert local == ("CREATE TABLE IF NOT EXISTS t_local ON CLUSTER `c`\n(k String, v UInt64, s Array(String)) "
                     f"ENGINE = ReplicatedReplacingMergeTree('{REPLICA_PATH}', '{{replica}}', v) "
                     "PARTITION BY toYYYYMM(now()) ORDER BY (k, v) TTL now() + INTERVAL 1 DAY")
    assert distributed.endswith("ENGINE = Distributed('c', 'db', 't_local', cityHash64(k, v))")


def test_views_alters_and_what_has_no_cluster_form() -> None:
    (view,) = cluster_statements("CREATE MATERIALIZED VIEW IF NOT EXISTS m TO agg AS SELECT EXTRACT(HOUR FROM t) "
                                 "AS h, count() AS n FROM events AS e JOIN other USING (id) GROUP BY h",
                                 cluster="c", database="db")
    assert view == ("CREATE MATERIALIZED VIEW IF NOT EXISTS m ON CLUSTER `c` TO agg_local AS SELECT "
                    "EXTRACT(HOUR FROM t) AS h, count() AS n FROM events_local AS e JOIN other_local USING (id) "
                    "GROUP BY h")
    (plain,) = cluster_statements("CREATE VIEW IF NOT EXISTS v AS SELECT * FROM alerts FINAL",
                                  cluster="c", database="db")
    assert plain == "CREATE VIEW IF NOT EXISTS v ON CLUSTER `c` AS SELECT * FROM alerts FINAL"
    assert cluster_statements("ALTER TABLE events ADD COLUMN IF NOT EXISTS x String", cluster="c", database="db") == [
        "ALTER TABLE events_local ON CLUSTER `c` ADD COLUMN IF NOT EXISTS x String",
        "ALTER TABLE events ON CLUSTER `c` ADD COLUMN IF NOT EXISTS x String"]
    assert cluster_statements("ALTER TABLE events ADD INDEX i x TYPE minmax", cluster="c", database="db") == [
        "ALTER TABLE events_local ON CLUSTER `c` ADD INDEX i x TYPE minmax"]
    with pytest.raises(ClusterDdlError, match="engine Log"):
        cluster_statements("CREATE TABLE t (a String) ENGINE = Log", cluster="c", database="db")
    with pytest.raises(ClusterDdlError, match="no cluster form"):
        cluster_statements("INSERT INTO t VALUES (1)", cluster="c", database="db")
    with pytest.raises(ClusterDdlError, match="ORDER BY"):
        cluster_statements("CREATE TABLE t (a String) ENGINE = MergeTree PRIMARY KEY a", cluster="c", database="db")


def test_without_a_cluster_the_store_runs_the_files_as_written(chdb_data_dir: Path) -> None:
    store = Store(fresh_database_settings(chdb_data_dir))
    try:
        assert store.cluster is None
        for statement in _single_node_statements():
            assert store._ddl(statement) == [statement]
        store.migrate()
        engines = dict(store.client.query(
            "SELECT name, engine FROM system.tables WHERE database = currentDatabase()").result_rows)
        assert engines["events"] == "ReplacingMergeTree" and not any(name.endswith("_local") for name in engines)
    finally:
        store.close()


def test_cluster_setting_needs_a_server_and_a_plain_name(engine) -> None:
    assert Settings(clickhouse={"dsn": "https://ch:8443", "cluster": CLUSTER}).clickhouse.cluster == CLUSTER
    with pytest.raises(ValidationError, match="needs a ClickHouse server"):
        Settings(clickhouse={"cluster": CLUSTER})
    with pytest.raises(ValidationError, match="cluster name"):
        Settings(clickhouse={"dsn": "https://ch:8443", "cluster": "a`; DROP"})
    # The session setting the cluster writer sends is one the engine knows (an unknown one fails every insert).
    assert engine.query("SELECT count() FROM system.settings WHERE name = 'distributed_foreground_insert'"
                        ).result_rows == [(1,)]

"""The store against the real ClickHouse engine (chDB), one fresh directory per test module."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from schemas.event import EVENT_FIELDS, validate_event, with_defaults
from streams.normalize.batch import EVENTS
from streams.runtime.queries import saved_query, saved_query_names
from streams.runtime.store import NewEvents, Store, StoreError, event_key
from tests.conftest import fresh_database_settings, saved_query_parameters


@pytest.fixture(scope="module")
def store(chdb_data_dir) -> Store:
    store = Store(fresh_database_settings(chdb_data_dir))
    store.migrate()
    yield store
    store.close()


def event(event_id: str, **fields) -> dict:
    base = {
        "schema_version": 1, "event_id": event_id, "time": 1_763_625_600_000, "source_family": "gateway",
        "source_format": "envoy", "class_uid": 4002, "activity_id": 6, "type_uid": 400206, "actor": "alice",
        "actor_type": "", "src_ip": "10.0.0.1", "user_agent": "curl/8", "action": "POST", "service": "api.openai.com",
        "target_host": "api.openai.com", "target_url": "https://api.openai.com/v1/chat", "target_resource": "",
        "outcome": "success", "status_code": 200, "status_detail": "", "bytes_in": 10, "bytes_out": None,
        "cloud_account": "", "cloud_region": "", "kafka_topic": "t", "kafka_partition": 0, "kafka_offset": 1,
        "raw": "{}", "ai_provider": "", "ai_product": "", "ai_category": "", "ai_model": "", "ai_sanctioned": None,
    }
    return base | fields


def count(store: Store, table: str, where: str = "1") -> int:
    return store.scalar(f"SELECT count() FROM {table} WHERE {where}")


def test_migrations_are_idempotent_and_recorded(store: Store) -> None:
    assert store.migrate() == []
    # system.* is the store's own view: analysts' queries may not read it.
    names = {row[0] for row in store.client.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase()").result_rows}
    assert {"events", "dead_letters", "schema_migrations", "schema_state"} <= names
    assert "TTL" in store.client.query("SELECT create_table_query FROM system.tables WHERE name = 'events' "
                                       "AND database = currentDatabase()").result_rows[0][0]


@pytest.mark.parametrize("table", ["events", "dead_letters"])
def test_tables_that_hold_raw_records_merge_column_by_column(store: Store, table: str) -> None:
    # A row-wise merge holds a block of whole rows (raw records among them) per part merged.
    settings = store.client.query("SELECT engine_full FROM system.tables WHERE name = {t:String} AND "
                                  "database = currentDatabase()", parameters={"t": table}).result_rows[0][0]
    assert "vertical_merge_algorithm_min_rows_to_activate = 1" in settings
    assert "vertical_merge_algorithm_min_columns_to_activate = 1" in settings


def test_a_column_by_column_merge_still_keeps_one_row_per_event(store: Store) -> None:
    # Two writers racing the same event into two parts: the merge folds them into one whole row.
    frame = EVENTS.frame([with_defaults(event("vertical-merge", raw='{"n": 1}', actor="vm"))])
    for _ in range(2):  # as each writer would, both having found the id not stored yet
        store.insert_events(NewEvents(frame, [event_key("vertical-merge")], 0))
    assert count(store, "events", "event_id = 'vertical-merge'") == 2
    store.client.command("OPTIMIZE TABLE events FINAL")
    rows = store.client.query("SELECT actor, raw, status_code FROM events WHERE event_id = 'vertical-merge'").result_rows
    assert rows == [("vm", '{"n": 1}', 200)]


def test_an_edited_applied_migration_is_refused(chdb_data_dir) -> None:
    store = Store(fresh_database_settings(chdb_data_dir))
    store.migrate()
    store.client.command("ALTER TABLE schema_migrations UPDATE checksum = 'edited' WHERE version = 1")
    with pytest.raises(StoreError, match="changed after it was applied"):
        store.migrate()
    store.close()


def test_an_event_delivered_twice_counts_once(store: Store) -> None:
    batch = [event("dup-1"), event("dup-2"), event("dup-1", kafka_offset=9)]
    first = store.land_events(batch)
    second = store.land_events(batch)
    assert (first.inserted, second.inserted, second.duplicates) == (2, 0, 3)
    assert count(store, "events", "event_id LIKE 'dup-%'") == 2


def test_the_analyst_connection_is_read_only(store: Store) -> None:
    for statement in ("INSERT INTO events (event_id) VALUES ('x')", "DROP TABLE events",
                      "SELECT 1 SETTINGS readonly = 0"):
        with pytest.raises(Exception, match="readonly|READONLY|refused"):
            store.query(statement)
    assert count(store, "events", "event_id = 'x'") == 0


def test_query_parameters_are_bound_server_side(store: Store) -> None:
    store.land_events([event("param-1", actor="o'brien; DROP TABLE events --")])
    _, rows = store.query("SELECT event_id FROM events WHERE actor = {actor:String}",
                          {"actor": "o'brien; DROP TABLE events --"})
    assert rows == [("param-1",)]


@pytest.mark.parametrize("name", saved_query_names())
def test_every_saved_query_runs(store: Store, name: str) -> None:
    sql = saved_query(name)
    assert sql.lstrip().startswith("--"), "a saved query opens with a comment on purpose and parameters"
    store.query(sql, saved_query_parameters(name))


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    actor=_text, target_host=_text, raw=_text, status_code=st.none() | st.integers(0, 999),
    bytes_in=st.none() | st.integers(0, 2**62), time=st.integers(0, 4_102_444_800_000),
    ai_provider=_text, ai_sanctioned=st.none() | st.booleans(),
)
def test_round_trip_event_insert_select_equal(store: Store, actor, target_host, raw, status_code, bytes_in, time,
                                              ai_provider, ai_sanctioned) -> None:
    original = validate_event(event(f"rt-{uuid.uuid4()}", actor=actor,
                                    target_host=target_host, raw=raw, status_code=status_code, bytes_in=bytes_in,
                                    time=time, ai_provider=ai_provider, ai_sanctioned=ai_sanctioned))
    store.land_events([dict(original)])
    columns, rows = store.query(
        f"SELECT {', '.join(EVENT_FIELDS)} FROM events WHERE event_id = {{id:String}}", {"id": original["event_id"]})
    assert len(rows) == 1
    back = dict(zip(columns, rows[0]))
    stored_time = back.pop("time")
    epoch = dt.datetime(1970, 1, 1)
    assert (stored_time.replace(tzinfo=None) - epoch) // dt.timedelta(milliseconds=1) == original["time"]
    assert back == {key: value for key, value in with_defaults(dict(original)).items() if key != "time"}


def test_the_tables_have_the_columns_of_their_row_models(store: Store) -> None:
    """schemas/ is the one definition of each row shape: the DDL must agree with it, column for column."""
    from streams.runtime.store import ALERT_EVENTS, ALERTS, DEAD_LETTERS, EVENTS, IP_BINDINGS

    extra = {"events": {"ingested_at", "event_key"}, "alert_events": {"recorded_at"}, "alerts": set(),
             "dead_letters": set(), "ip_bindings": {"landed_at"}}
    for table, schema in (("events", EVENTS), ("dead_letters", DEAD_LETTERS), ("alerts", ALERTS),
                          ("alert_events", ALERT_EVENTS), ("ip_bindings", IP_BINDINGS)):
        rows = store.client.query("SELECT name, type FROM system.columns WHERE database = {db:String} "
                                  "AND table = {t:String}", parameters={"db": store.database, "t": table}).result_rows
        stored = {name: kind for name, kind in rows}
        assert set(stored) - extra[table] == set(schema.columns), table
        for name in schema.time_columns:
            assert stored[name].startswith("DateTime64(3"), (table, name)


def test_ip_bindings_keep_their_latest_version_and_read_by_address_and_time(store: Store) -> None:
    from streams.enrich.identity import Binding

    login = Binding(ip="10.50.0.23", valid_from=1_000, valid_to=90_000_000, identity="ben@corp.example",
                    kind="user", source="zpa_session", confidence=0.95, event_id="e1", seen_at=1_000,
                    binding_id="zpa-s1")
    logout = Binding(**{**login.row(), "valid_to": 7_200_000, "event_id": "e2", "seen_at": 7_200_000})
    other = Binding(ip="10.20.1.57", valid_from=1_000, valid_to=2_000, identity="x", kind="device",
                    source="dhcp_lease", confidence=0.8, event_id="e3", seen_at=1_000)
    store.land_ip_bindings([login, other])
    store.land_ip_bindings([logout, logout])
    assert store.ip_bindings(since_ms=0, ips=["10.50.0.23"]) == [logout]
    assert {b.ip for b in store.ip_bindings(since_ms=3_000)} >= {"10.50.0.23"}
    assert "10.20.1.57" not in {b.ip for b in store.ip_bindings(since_ms=3_000)}
    assert store.ip_bindings(since_ms=0, ips=[]) == []


def test_an_event_without_the_optional_ai_fields_lands_as_not_ai_use(store: Store) -> None:
    from schemas.event import EVENT_DEFAULTS

    legacy = {key: value for key, value in event("legacy-v1-1").items() if key not in EVENT_DEFAULTS}
    validate_event(legacy)
    assert store.land_events([legacy]).inserted == 1
    rows = store.client.query("SELECT ai_provider, ai_sanctioned FROM events WHERE event_id = 'legacy-v1-1'").result_rows
    assert rows == [("", None)]

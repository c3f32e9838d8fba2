"""ClickHouse access: clients (chDB in-process or a server over HTTP), migrations, batch landing.

One ``Store`` per process. chDB locks its directory to one process, so while a worker runs, other
processes reach its store through the worker's query endpoint (streams/runtime/query.py) instead.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from models.features import FEATURES
from schemas.alert import AlertEvent, AlertRow
from schemas.columns import FrameSchema
from schemas.dead_letter import DeadLetterRow
from schemas.event import EVENT_DEFAULTS, NormalizedEvent
from streams.detect.alerts import AlertTally
from streams.enrich.identity import Binding
from streams.normalize.batch import as_dicts
from streams.runtime.cluster import cluster_statements
from streams.runtime.sandbox import AnalystQueries
from streams.settings import Settings

if TYPE_CHECKING:
    from models.registry import ModelVersion
    from streams.detect.graph.facts import AssetFact, EdgeFact

log = logging.getLogger(__name__)

EVENTS = FrameSchema.of(NormalizedEvent)
DEAD_LETTERS = FrameSchema.of(DeadLetterRow)
ALERTS = FrameSchema.of(AlertRow)
ALERT_EVENTS = FrameSchema.of(AlertEvent)
IP_BINDINGS = FrameSchema.of(Binding)
# Optional event fields an event may lack, as their defaults (None needs no filling).
_EVENT_FILLS = {name: default for name, default in EVENT_DEFAULTS.items() if default is not None}

# Ids looked up per dedup query: keeps the query (and, over HTTP, its URL) well under server limits.
_DEDUP_CHUNK = 5000


def event_key(event_id: str) -> int:
    """The events table's 64-bit lookup key of an event id (stable across processes and versions)."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "little")


# access_windows' columns, in the DDL's order (without landed_at, which the table fills).
_ACCESS_WINDOW_COLUMNS: tuple[str, ...] = (
    "actor", "population", "family", "window_start", "window_end", "first_event", "last_event", "known_principal",
    *FEATURES, "new_action_items", "new_network_items", "new_user_agent_items", "new_region_items", "raw_score",
    "score", "anomalous", "model_version", "feature_version", "explanation")
_CLOSED_UNTIL = "closed_until"


SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, checksum String, "
    "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version"
)


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message says why and what to do."""


def _redacted_dsn(dsn: str) -> str:
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return dsn


def connect(settings: Settings, *, database: str | None = None, session: dict[str, Any] | None = None) -> Any:
    """A clickhouse-connect client for the configured DSN (chDB or HTTP(S) server).

    ``session``: settings applied to every query of the client, in order (the analysts' clients end
    with ``readonly=1``, after which no query can change any of them).
    """
    import clickhouse_connect

    dsn = settings.clickhouse_dsn
    kwargs: dict[str, Any] = {"dsn": dsn}
    if database:
        kwargs["database"] = database
    if session:
        kwargs["settings"] = session
    if not dsn.startswith("chdb://"):
        if settings.clickhouse.username:
            kwargs["username"] = settings.clickhouse.username
        if settings.clickhouse.password is not None:
            kwargs["password"] = settings.clickhouse.password.get_secret_value()
    else:
        (settings.data_dir.resolve()).mkdir(parents=True, exist_ok=True)
    try:
        return clickhouse_connect.get_client(**kwargs)
    except Exception as exc:  # noqa: BLE001 -- every failure becomes a StoreError that says where
        message = str(exc)
        if "Cannot lock file" in message or "already running" in message:
            raise StoreError(
                f"the embedded ClickHouse store {_redacted_dsn(dsn)} is open in another process (a running "
                "`aispm up`?). Query it through that worker, or stop it first."
            ) from None
        raise StoreError(f"cannot open ClickHouse at {_redacted_dsn(dsn)}: {message.splitlines()[0][:300]}") from None


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self) -> list[str]:
        body = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        return [part.strip() for part in body.split(";") if part.strip()]


def migrations() -> list[Migration]:
    """The numbered DDL files in sql/ddl, in order."""
    found = []
    for entry in resources.files("sql").joinpath("ddl").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"two migrations share a number: {versions}")
    return found


@dataclass(frozen=True, slots=True)
class LandResult:
    inserted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class NewEvents:
    """The rows of a checked events frame that are not stored yet (first of each id), ready to insert."""

    frame: pl.DataFrame
    keys: list[int]
    """Each row's ``event_key``."""
    duplicates: int

    @property
    def events(self) -> list[dict]:
        return as_dicts(self.frame)


class Store:
    """The ClickHouse database aispm writes to and analysts read from. Thread-safe (one lock)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database = settings.clickhouse.database
        self.cluster = settings.clickhouse.cluster
        admin = connect(settings)
        on_cluster = f" ON CLUSTER `{self.cluster}`" if self.cluster else ""
        admin.command("CREATE DATABASE IF NOT EXISTS {db:Identifier}" + on_cluster, parameters={"db": self.database})
        # On a cluster the writer inserts through Distributed tables: wait until the shards have the rows, so
        # the next batch's "stored already?" lookup sees them.
        self.client = connect(settings, database=self.database,
                              session={"distributed_foreground_insert": 1} if self.cluster else None)
        # Analysts' queries run on their own sandboxed clients: they share no lock with landing.
        self.analyst = AnalystQueries(settings.query, database=self.database,
                                      open_client=lambda session: connect(settings, database=self.database,
                                                                          session=session))
        self._lock = threading.Lock()

    # -- schema ------------------------------------------------------------------------------------
    def _ddl(self, statement: str) -> list[str]:
        """``statement`` as written for one server, or its ON CLUSTER form (streams/runtime/cluster.py)."""
        if not self.cluster:
            return [statement]
        return cluster_statements(statement, cluster=self.cluster, database=self.database)

    def migrate(self) -> list[str]:
        """Apply every DDL file not yet applied; refuse if an applied one was edited. Safe to repeat."""
        applied_now = []
        with self._lock:
            for statement in self._ddl(SCHEMA_MIGRATIONS):
                self.client.command(statement)
            done = {row[0]: row[1] for row in self.client.query(
                "SELECT version, any(checksum) FROM schema_migrations GROUP BY version").result_rows}
            for migration in migrations():
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise StoreError(
                            f"migration {migration.version:04d}_{migration.name}.sql changed after it was "
                            "applied; add a new numbered migration instead of editing an applied one"
                        )
                    continue
                for statement in migration.statements():
                    for command in self._ddl(statement):
                        self.client.command(command)
                self.client.insert(
                    "schema_migrations", [[migration.version, migration.name, migration.checksum]],
                    column_names=["version", "name", "checksum"],
                )
                applied_now.append(f"{migration.version:04d}_{migration.name}")
            self._apply_ttl()
        return applied_now

    def retention_tables(self) -> tuple[tuple[str, str], ...]:
        """(table, column) of each table kept for ``AISPM_CLICKHOUSE__TTL_DAYS``, counted from that
        column: the tables' TTL and the scheduler's retention job both read this."""
        return (("events", "ingested_at"), ("dead_letters", "received_at")) + self._extra_ttl_tables()

    def _apply_ttl(self) -> None:
        days = self.settings.clickhouse.ttl_days
        tables = self.retention_tables()
        # The state names the tables too, so a table added by a later migration gets its TTL.
        wanted = f"{days}:{','.join(table for table, _ in tables)}"
        current = self.client.query(
            "SELECT argMax(value, updated_at) FROM schema_state WHERE key = 'ttl_days'").result_rows
        if current and current[0][0] == wanted:
            return
        # Retention counts from ingestion, not event time: a backfill of last year's logs must stay
        # queryable for the TTL after it was loaded instead of expiring on arrival.
        for table, column in tables:
            if self.cluster:  # the local tables hold the rows; the days inline, as ON CLUSTER sends the text
                for command in self._ddl(f"ALTER TABLE {table} MODIFY TTL toDateTime({column}) + "
                                         f"toIntervalDay({int(days)})"):
                    self.client.command(command)
                continue
            self.client.command(
                f"ALTER TABLE {table} MODIFY TTL toDateTime({column}) + toIntervalDay({{days:UInt32}})",
                parameters={"days": days},
            )
        self.client.insert("schema_state", [["ttl_days", wanted]], column_names=["key", "value"])

    def _extra_ttl_tables(self) -> tuple[tuple[str, str], ...]:
        rows = self.client.query(
            "SELECT name FROM system.tables WHERE database = {db:String} AND name IN ('alerts', 'alert_events') "
            "ORDER BY name DESC",
            parameters={"db": self.database},
        ).result_rows
        columns = {"alerts": "updated_at", "alert_events": "recorded_at"}
        return tuple((name, columns[name]) for (name,) in rows)

    # -- writing -----------------------------------------------------------------------------------
    def land_events(self, events: list[dict]) -> LandResult:
        """Insert events not stored yet (by event_id), as one Arrow batch."""
        new = self.new_events(EVENTS.frame(events).with_columns(
            pl.col(name).fill_null(default) for name, default in _EVENT_FILLS.items()))
        self.insert_events(new)
        return LandResult(new.frame.height, new.duplicates)

    def new_events(self, frame: pl.DataFrame) -> NewEvents:
        """The rows of a checked events frame whose ids are neither stored nor earlier in the frame."""
        first = frame.filter(pl.col("event_id").is_first_distinct()) if frame.height else frame
        if first.height == 0:
            return NewEvents(first, [], frame.height)
        ids = first["event_id"].to_list()
        keys = [event_key(event_id) for event_id in ids]
        times = first["time"].dt.epoch("ms")
        with self._lock:
            known = self._stored_event_ids(keys, times.min(), times.max())
        if known:
            kept = [event_id not in known for event_id in ids]
            first = first.filter(pl.Series(kept, dtype=pl.Boolean))
            keys = [key for key, keep in zip(keys, kept, strict=True) if keep]
        return NewEvents(first, keys, frame.height - first.height)

    def insert_events(self, new: NewEvents) -> None:
        if not new.keys:
            return
        frame = new.frame.with_columns(pl.Series("event_key", new.keys, dtype=pl.UInt64()))
        with self._lock:
            self.client.insert_arrow("events", frame.to_arrow())

    def _stored_event_ids(self, keys: list[int], lo_ms: int, hi_ms: int) -> set[str]:
        stored: set[str] = set()
        for start in range(0, len(keys), _DEDUP_CHUNK):
            rows = self.client.query(
                "SELECT event_id FROM events WHERE event_key IN {keys:Array(UInt64)} AND time BETWEEN "
                "fromUnixTimestamp64Milli({lo:Int64}) AND fromUnixTimestamp64Milli({hi:Int64})",
                parameters={"keys": keys[start:start + _DEDUP_CHUNK], "lo": lo_ms, "hi": hi_ms},
            ).result_rows
            stored.update(row[0] for row in rows)
        return stored

    def land_dead_letters(self, rows: list[dict]) -> LandResult:
        if not rows:
            return LandResult(0, 0)
        frame = DEAD_LETTERS.frame(rows).unique(subset="dead_letter_id", keep="first", maintain_order=True)
        with self._lock:
            known = self._known_ids("dead_letters", "dead_letter_id", frame["dead_letter_id"].to_list())
            if known:
                frame = frame.filter(~pl.col("dead_letter_id").is_in(list(known)))
            if frame.height:
                self.client.insert_arrow("dead_letters", frame.to_arrow())
        return LandResult(frame.height, len(rows) - frame.height)

    def land_alerts(self, rows: list[dict]) -> int:
        """Insert alert rows (new alerts and count updates; ReplacingMergeTree keeps the latest)."""
        if not rows:
            return 0
        frame = ALERTS.frame(rows)
        with self._lock:
            self.client.insert_arrow("alerts", frame.to_arrow())
        return frame.height

    def land_alert_events(self, events: list[AlertEvent]) -> None:
        """Record the events behind alerts (idempotent: a pair recorded twice counts once)."""
        if not events:
            return
        frame = ALERT_EVENTS.frame({name: [getattr(item, name) for item in events] for name in ALERT_EVENTS.columns})
        with self._lock:
            self.client.insert_arrow("alert_events", frame.to_arrow())

    def alert_tallies(self, alert_ids: list[str], batch_event_ids: list[str]) -> dict[str, AlertTally]:
        """Count, first and last event time of each alert from its recorded events; ``prior`` counts
        the events that are not in ``batch_event_ids`` (those recorded by earlier batches)."""
        tallies: dict[str, AlertTally] = {}
        for start in range(0, len(alert_ids), _DEDUP_CHUNK):
            with self._lock:
                rows = self.client.query(
                    "SELECT alert_id, uniqExact(event_id), uniqExactIf(event_id, NOT has({batch:Array(String)}, "
                    "event_id)), toUnixTimestamp64Milli(min(event_time)), toUnixTimestamp64Milli(max(event_time)) "
                    "FROM alert_events WHERE alert_id IN {ids:Array(String)} GROUP BY alert_id",
                    parameters={"ids": alert_ids[start:start + _DEDUP_CHUNK], "batch": batch_event_ids},
                ).result_rows
            for alert_id, count, prior, first, last in rows:
                tallies[alert_id] = AlertTally(alert_id, int(count), int(prior), int(first), int(last))
        return tallies

    def load_rule_state(self) -> dict[str, dict]:
        """Every key the stateful rules last saved (deleted keys left out)."""
        with self._lock:
            rows = self.client.query(
                "SELECT key, argMax(value, version) AS latest FROM detection_state GROUP BY key HAVING latest != ''"
            ).result_rows
        return {key: orjson.loads(value) for key, value in rows}

    def save_rule_state(self, changes: dict[str, dict | None]) -> None:
        """Save changed keys (``None``: deleted) in one insert, so a batch's state lands whole or not at all."""
        if not changes:
            return
        version = time.time_ns()
        keys = list(changes)
        values = ["" if value is None else orjson.dumps(value).decode() for value in changes.values()]
        frame = pl.DataFrame({"key": keys, "value": values, "version": [version] * len(keys)},
                             schema={"key": pl.String, "value": pl.String, "version": pl.UInt64})
        with self._lock:
            self.client.insert_arrow("detection_state", frame.to_arrow())

    # -- identity bindings (streams/enrich/identity.py) ---------------------------------------------
    def land_ip_bindings(self, bindings: list[Binding]) -> None:
        """Insert bindings (a binding landed twice, or a later version of it, replaces itself)."""
        if not bindings:
            return
        frame = IP_BINDINGS.frame({name: [getattr(b, name) for b in bindings] for name in IP_BINDINGS.columns})
        with self._lock:
            self.client.insert_arrow("ip_bindings", frame.to_arrow())

    def ip_bindings(self, *, since_ms: int, ips: list[str] | None = None) -> list[Binding]:
        """The latest version of every binding still valid at ``since_ms`` (of ``ips``, when given)."""
        where = "valid_to >= fromUnixTimestamp64Milli({since:Int64})"
        parameters: dict[str, Any] = {"since": since_ms}
        if ips is not None:
            if not ips:
                return []
            where += " AND ip IN {ips:Array(String)}"
            parameters["ips"] = ips
        with self._lock:
            rows = self.client.query(
                "SELECT binding_id, ip, toUnixTimestamp64Milli(valid_from), toUnixTimestamp64Milli(valid_to), "
                "identity, kind, source, confidence, shared, event_id, toUnixTimestamp64Milli(seen_at) "
                f"FROM ip_bindings FINAL WHERE {where}", parameters=parameters).result_rows
        return [Binding(ip=ip, valid_from=int(lo), valid_to=int(hi), identity=identity, kind=kind, source=source,
                        confidence=float(confidence), event_id=event_id, seen_at=int(seen), shared=bool(shared),
                        binding_id=binding_id)
                for binding_id, ip, lo, hi, identity, kind, source, confidence, shared, event_id, seen in rows]

    def open_alerts(self, principals: list[str], *, since_ms: int) -> list[dict]:
        """The current row of each alert of ``principals`` seen since ``since_ms`` (for corrections)."""
        if not principals:
            return []
        with self._lock:
            result = self.client.query(
                "SELECT alert_id, detection, title, severity, principal, provider, "
                "toUnixTimestamp64Milli(first_seen) AS first_seen, toUnixTimestamp64Milli(last_seen) AS last_seen, "
                "count, description, remediation, techniques, context, event_id, ocsf "
                "FROM alerts FINAL WHERE principal IN {principals:Array(String)} "
                "AND last_seen >= fromUnixTimestamp64Milli({since:Int64})",
                parameters={"principals": principals, "since": since_ms})
        return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]

    def _known_ids(self, table: str, column: str, ids: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), _DEDUP_CHUNK):
            rows = self.client.query(
                f"SELECT {column} FROM {table} WHERE {column} IN {{ids:Array(String)}}",
                parameters={"ids": ids[start:start + _DEDUP_CHUNK]},
            ).result_rows
            known.update(row[0] for row in rows)
        return known

    def land_graph_facts(self, assets: list[AssetFact], edges: list[EdgeFact]) -> None:
        """The AI asset graph's facts (``ai_assets``, ``ai_edges``); rows keyed by fact and event replace
        their own copies, so a redelivered batch lands nothing new."""
        from streams.detect.graph.rows import asset_frame, edge_frame

        with self._lock:
            if assets:
                self.client.insert_arrow("ai_assets", asset_frame(assets).to_arrow())
            if edges:
                self.client.insert_arrow("ai_edges", edge_frame(edges).to_arrow())

    def load_graph_facts(self) -> tuple[list[AssetFact], list[EdgeFact]]:
        """Every landed fact the path watch folds (``streams.detect.graph.watch``): the saved queries' rows as of the
        end of time, an edge's history reduced to its first opening and latest fact, runtime uses to the last."""
        from streams.detect.graph.rows import asset_facts_of_rows, edge_facts_of_rows
        from streams.runtime.queries import load_saved_query

        parameters = {"at": "2299-12-31 23:59:59.999"}
        with self._lock:
            assets = self.client.query(load_saved_query("graph_asset_facts").sql, parameters=parameters).result_rows
            edges = self.client.query(load_saved_query("graph_edges_as_of").sql, parameters=parameters).result_rows
        return asset_facts_of_rows(assets), edge_facts_of_rows(edges)

    # -- anomaly models ------------------------------------------------------------------------------
    def land_model_version(self, stored: ModelVersion) -> None:
        with self._lock:
            self.client.insert("model_registry", [stored.row()], column_names=list(stored.COLUMNS))

    def promote_model(self, version: str, *, by: str, reason: str) -> None:
        with self._lock:
            self.client.insert("model_promotions", [[version, by, reason]],
                               column_names=["version", "promoted_by", "reason"])

    def model_versions(self) -> list[ModelVersion]:
        """Every version, newest first, without their blobs (``model_version`` loads one whole)."""
        return self._model_rows(blobs=False)

    def model_version(self, version: str) -> ModelVersion | None:
        found = self._model_rows(blobs=True, version=version)
        return found[0] if found else None

    def promoted_model_version(self) -> str | None:
        with self._lock:
            rows = self.client.query("SELECT argMax(version, promoted_at), count() FROM model_promotions").result_rows
        return rows[0][0] if rows and rows[0][1] else None

    def _model_rows(self, *, blobs: bool, version: str | None = None) -> list[ModelVersion]:
        from models.registry import ModelVersion

        lineage = ", ".join(name for name in ModelVersion.COLUMNS if name not in ("artifact", "baseline"))
        blob_columns = "artifact, baseline" if blobs else "'' AS artifact, '' AS baseline"
        where = "WHERE version = {version:String}" if version is not None else ""
        sql = (f"SELECT {lineage}, {blob_columns}, promoted FROM model_registry AS r FINAL LEFT JOIN "
               "(SELECT version, max(promoted_at) AS promoted FROM model_promotions GROUP BY version) AS p "
               f"USING (version) {where} ORDER BY created_at DESC")
        with self._lock:
            result = self.client.query(sql, parameters={"version": version} if version is not None else None,
                                       column_formats={"artifact": "bytes", "baseline": "bytes"})
        out = []
        for row in result.result_rows:
            values = dict(zip(result.column_names, row, strict=True))
            promoted = values.pop("promoted")
            out.append(ModelVersion(**values, promoted_at=promoted if promoted and promoted.year > 1970 else None))
        return out

    def land_access_windows(self, windows: pl.DataFrame) -> None:
        times = ("window_start", "window_end", "first_event", "last_event")
        frame = windows.select(
            *(pl.from_epoch(pl.col(name), time_unit="ms").dt.replace_time_zone("UTC").alias(name)
              if name in times else pl.col(name) for name in _ACCESS_WINDOW_COLUMNS))
        with self._lock:
            self.client.insert_arrow("access_windows", frame.to_arrow())

    def load_principal_history(self) -> tuple[pl.DataFrame, dict[str, int]]:
        """The principals' history as last saved, and per source family the edge up to which windows were closed."""
        with self._lock:
            table = self.client.query_arrow(
                "SELECT scope, kind, item, first_seen, last_seen, windows, events FROM principal_history FINAL "
                "WHERE NOT evicted")
        frame = pl.from_arrow(table).with_columns(pl.col("kind").cast(pl.String))
        markers = frame.filter((pl.col("kind") == _CLOSED_UNTIL) & (pl.col("scope") == ""))
        history = frame.filter(pl.col("kind") != _CLOSED_UNTIL).sort("scope", "kind", "item")
        return history, dict(markers.select("item", "windows").iter_rows())

    def save_principal_history(self, changes: pl.DataFrame, evicted: pl.DataFrame,
                               closed_until: dict[str, int]) -> None:
        """Changed and evicted items with the families' new edges, in one insert (the newest version wins)."""
        families = list(closed_until)
        marker = pl.DataFrame({"scope": [""] * len(families), "kind": [_CLOSED_UNTIL] * len(families),
                               "item": families, "first_seen": [0] * len(families), "last_seen": [0] * len(families),
                               "windows": list(closed_until.values()), "events": [0] * len(families)},
                              schema=changes.schema)
        frame = pl.concat([changes.with_columns(pl.lit(False).alias("evicted")),
                           evicted.with_columns(pl.lit(True).alias("evicted")),
                           marker.with_columns(pl.lit(False).alias("evicted"))]).with_columns(
            pl.lit(time.time_ns(), dtype=pl.UInt64).alias("version"))
        with self._lock:
            self.client.insert_arrow("principal_history", frame.to_arrow())

    def finished_backfill_files(self) -> set[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every file a backfill finished."""
        with self._lock:
            rows = self.client.query("SELECT path, size, mtime_ns FROM backfill_files FINAL").result_rows
        return {(path, int(size), int(mtime)) for path, size, mtime in rows}

    def record_backfill_files(self, rows: list[tuple[str, int, int, str, int, int, int]]) -> None:
        """Finished files: (path, size, mtime_ns, family, events, landed, dead letters), one insert."""
        if not rows:
            return
        with self._lock:
            self.client.insert("backfill_files", [list(row) for row in rows],
                               column_names=["path", "size", "mtime_ns", "source_family", "events", "landed",
                                             "dead_letters"])

    def events_frame(self, since_ms: int, until_ms: int) -> pl.DataFrame:
        """The stored events of [since, until) with the columns anomaly features read, as one frame."""
        with self._lock:
            table = self.client.query_arrow(
                # Not "AS time": ClickHouse would read the alias, not the column, in WHERE.
                "SELECT event_id, toUnixTimestamp64Milli(time) AS time_ms, source_family, actor, actor_type, action, service, "
                "target_resource, src_ip, user_agent, cloud_region, outcome, class_uid, activity_id, ai_provider, "
                "bytes_in, bytes_out FROM events FINAL WHERE time >= fromUnixTimestamp64Milli({lo:Int64}) "
                "AND time < fromUnixTimestamp64Milli({hi:Int64}) AND actor != ''",
                parameters={"lo": since_ms, "hi": until_ms})
        return pl.from_arrow(table).rename({"time_ms": "time"})

    # -- scheduled jobs ------------------------------------------------------------------------------
    def delete_before(self, table: str, column: str, cutoff: datetime) -> int:
        """Delete the rows of ``table`` whose ``column`` is before ``cutoff``, waiting for the mutation;
        the number deleted (no mutation at all when there is none: a mutation rewrites parts)."""
        parameters = {"table": table, "column": column, "cutoff": cutoff}
        where = "{column:Identifier} < {cutoff:DateTime64(3)}"
        with self._lock:
            expired = int(self.client.query(f"SELECT count() FROM {{table:Identifier}} WHERE {where}",
                                            parameters=parameters).result_rows[0][0])
            if expired:
                self.client.command(f"ALTER TABLE {{table:Identifier}} DELETE WHERE {where}", parameters=parameters,
                                    settings={"mutations_sync": 2})
        return expired

    def compact(self, table: str) -> list[str]:
        """Merge each partition of ``table`` that holds more than one part into one (``OPTIMIZE ... FINAL``),
        so its rows are summed or aggregated once instead of at every read; the partitions merged."""
        with self._lock:
            partitions = [row[0] for row in self.client.query(
                "SELECT partition_id FROM system.parts WHERE database = {db:String} AND table = {table:String} "
                "AND active GROUP BY partition_id HAVING count() > 1 ORDER BY partition_id",
                parameters={"db": self.database, "table": table}).result_rows]
            for partition in partitions:
                self.client.command("OPTIMIZE TABLE {table:Identifier} PARTITION ID {partition:String} FINAL",
                                    parameters={"table": table, "partition": partition})
        return partitions

    def record_job_run(self, row: dict[str, Any]) -> None:
        """One row of ``scheduler_runs`` (a run's start or its end)."""
        with self._lock:
            self.client.insert("scheduler_runs", [list(row.values())], column_names=list(row))

    def job_runs(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Rows of the scheduler's own query of ``scheduler_runs`` (streams/scheduler/runs.py)."""
        with self._lock:
            result = self.client.query(sql)
        return list(result.column_names), list(result.result_rows)

    # -- reading -----------------------------------------------------------------------------------
    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Run one analyst's query: a single SELECT over this database, within the configured limits
        (streams/runtime/sandbox.py). Returns (column names, rows)."""
        return self.analyst.run(sql, parameters)

    def scalar(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        """First column of the first row of an analyst's query."""
        _, rows = self.query(sql, parameters)
        return rows[0][0] if rows else None

    def migrated(self) -> bool:
        """Whether aispm's schema was created here (by `aispm up` or `aispm db migrate`)."""
        with self._lock:
            return bool(self.client.command("EXISTS TABLE schema_migrations"))

    def cancel_queries(self) -> None:
        """Cancel the analysts' queries running now: shutting down does not wait for them."""
        with self._lock:
            try:
                self.analyst.cancel_running(self.client)
            except Exception:  # a server may refuse KILL QUERY; the queries then end at their timeout
                log.warning("could not cancel running analysts' queries", exc_info=True)

    def close(self) -> None:
        self.cancel_queries()
        with self._lock:
            self.analyst.close()
            try:
                self.client.close()
            except Exception:  # noqa: BLE001, S110 -- closing must not mask the reason we are shutting down
                pass

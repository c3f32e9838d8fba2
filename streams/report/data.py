"""What the posture report shows, read from the store with the analysts' saved queries (sql/queries).

Every number in the report comes from one of those files, run with server-side parameters, so an analyst
can run the same query (`aispm query --saved NAME`) and get the same rows. ``query`` is whatever runs SQL
on the store: the worker's endpoint or the store itself (``streams.runtime.query.run_query``), or an open
``Store.query`` in a process that holds the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.runtime.queries import load_saved_query

QueryFn = Callable[[str, dict[str, str]], tuple[list[str], list]]

# Bucket lengths the time charts choose from: the shortest that keeps a chart under MAX_BUCKETS bars.
BUCKETS_S = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400)
MAX_BUCKETS = 150
PROBE_BUCKETS = 2000
DEFAULT_WINDOW = timedelta(days=7)
"""Without --since, the report covers the week up to the last stored event."""
TOP_PRINCIPALS = 15
INVENTORY_ROWS = 200
ANOMALOUS_WINDOWS = 200
NEW_SERVICES_WINDOW = timedelta(hours=24)
"""Without --since, a service is new when first seen in the last day before the last stored event."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def moment(value: Any) -> datetime:
    """A time from a result row: a datetime from the store, an ISO string through the worker's endpoint."""
    if isinstance(value, datetime):
        found = value
    else:
        found = datetime.fromisoformat(str(value))
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def parameter_time(value: datetime) -> str:
    """A DateTime64(3) parameter value, in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def bucket_for(span: timedelta, most: int = MAX_BUCKETS) -> int:
    """The shortest bucket length that cuts ``span`` into at most ``most`` buckets."""
    seconds = max(span.total_seconds(), 1)
    return next((bucket for bucket in BUCKETS_S if seconds / bucket <= most), BUCKETS_S[-1])


@dataclass(frozen=True, slots=True)
class PostureData:
    """The report's sections as rows (column -> value), each from the saved query its name says."""

    generated_at: datetime
    since: datetime | None
    """--since as given (None: the DEFAULT_WINDOW before the last stored event)."""
    start: datetime
    end: datetime
    """The window reported on: from ``since`` to just past the last stored event."""
    bucket_s: int
    """The time charts' bucket length."""
    new_since: datetime
    """Services first seen from here on are new."""
    chart_start: datetime | None = None
    chart_end: datetime | None = None
    """The part of the window with AI use, which the usage charts span."""
    events_by_source: list[dict] = field(default_factory=list)
    usage: list[dict] = field(default_factory=list)
    """ai_usage_over_time: bucket, provider, calls, unsanctioned_calls, bytes."""
    principals: list[dict] = field(default_factory=list)
    """ai_usage_by_principal."""
    new_services: list[dict] = field(default_factory=list)
    """ai_services_first_seen since ``new_since``."""
    alerts: list[dict] = field(default_factory=list)
    """alerts_by_detection: detection, severity, alerts, findings, principals."""
    anomaly: list[dict] = field(default_factory=list)
    """anomaly_scores_over_time."""
    anomalous: list[dict] = field(default_factory=list)
    """anomalous_windows, highest score first."""
    inventory: list[dict] = field(default_factory=list)
    """ai_inventory, unsanctioned first."""
    frameworks: list[dict] = field(default_factory=list)
    """alerts_by_framework: framework, id, alerts, findings, detections."""
    assets: list[dict] = field(default_factory=list)
    """The AI assets that existed at the window's end (``Asset.record``, the graph's inventory)."""
    open_paths: list[dict] = field(default_factory=list)
    """The attack paths open at the window's end (``Path.record``)."""
    path_alerts: list[dict] = field(default_factory=list)
    """attack_path_alerts: the paths that were open at some time in the window, as alerted."""

    @property
    def has_events(self) -> bool:
        return bool(self.events_by_source)


def saved(query: QueryFn, name: str, **values: str) -> list[dict]:
    """Rows of the saved query ``name`` (its parameters checked by the query's own list)."""
    found = load_saved_query(name)
    columns, rows = query(found.sql, found.bind(values))
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _align(at: datetime, bucket_s: int) -> datetime:
    """The start of the bucket holding ``at`` (ClickHouse's toStartOfInterval aligns to the epoch too)."""
    return _EPOCH + timedelta(seconds=(at - _EPOCH).total_seconds() // bucket_s * bucket_s)


def collect(query: QueryFn, *, since: datetime | None = None, now: datetime | None = None) -> PostureData:
    """Read every section of the report from the store, over [since, the last stored event]; without
    ``since``, over the DEFAULT_WINDOW before the last stored event."""
    now = now or datetime.now(UTC)
    sources = saved(query, "events_by_source")
    last = max((moment(row["last_event"]) for row in sources), default=None)
    if last is None or (since is not None and last < since):
        start = since or now
        return PostureData(now, since, start, start, BUCKETS_S[0], start)
    start = since if since is not None else last - DEFAULT_WINDOW
    end = last + timedelta(milliseconds=1)
    sources = [row for row in sources if moment(row["last_event"]) >= start]
    # The time charts span the AI use found in the window (a stray old sample should not stretch them):
    # a coarse pass finds where it is, then the charts' buckets are chosen from that span.
    probe_s = bucket_for(end - start, PROBE_BUCKETS)
    probe = saved(query, "ai_usage_over_time", since=parameter_time(start), until=parameter_time(end),
                  bucket_s=str(probe_s))
    if probe:
        used_from = max(start, min(moment(row["bucket"]) for row in probe))
        used_until = min(end, max(moment(row["bucket"]) for row in probe) + timedelta(seconds=probe_s))
    else:
        used_from, used_until = start, end
    bucket_s = bucket_for(used_until - used_from)
    chart_start = _align(used_from, bucket_s)
    window = {"since": parameter_time(start), "until": parameter_time(end)}
    new_since = since if since is not None else max(start, last - NEW_SERVICES_WINDOW)
    return PostureData(
        generated_at=now, since=since, start=start, end=end, bucket_s=bucket_s, new_since=new_since,
        chart_start=chart_start, chart_end=used_until, events_by_source=sources,
        usage=saved(query, "ai_usage_over_time", since=parameter_time(chart_start), until=parameter_time(used_until),
                    bucket_s=str(bucket_s)),
        principals=saved(query, "ai_usage_by_principal", **window, limit=str(TOP_PRINCIPALS)),
        new_services=saved(query, "ai_services_first_seen", since=parameter_time(new_since)),
        alerts=saved(query, "alerts_by_detection", since=parameter_time(start)),
        anomaly=saved(query, "anomaly_scores_over_time", **window, bucket_s=str(bucket_s)),
        anomalous=saved(query, "anomalous_windows", **window, limit=str(ANOMALOUS_WINDOWS)),
        inventory=saved(query, "ai_inventory", since=parameter_time(start)),
        frameworks=saved(query, "alerts_by_framework", since=parameter_time(start)),
        path_alerts=saved(query, "attack_path_alerts", since=parameter_time(start)),
        **_graph_at(query, end),
    )


def _graph_at(query: QueryFn, at: datetime) -> dict[str, list[dict]]:
    """The asset inventory and the open attack paths as of ``at``, as ``aispm inventory`` and ``aispm paths``
    fold them from the graph's facts."""
    from streams.detect.graph.inventory import inventory, load_graph
    from streams.detect.graph.paths import find_paths

    graph = load_graph(lambda name, parameters: query(load_saved_query(name).sql, parameters), at)
    return {"assets": [asset.record() for asset in inventory(graph)],
            "open_paths": [path.record() for path in find_paths(graph)]}

"""deploy/grafana's dashboard against the real schema and the real metrics: every ClickHouse panel's SQL, with
Grafana's macros expanded as the ClickHouse data source expands them, runs on the engine after the
migrations and returns the rows seeded for it; every PromQL panel names metrics and labels the worker
exports; deploy/clickhouse/analyst.sql parses in the engine.

Not shown here (no Grafana runs): that Grafana loads the provisioning and draws the panels.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.detect.stage import DetectionMetrics
from streams.runtime.ingest import IngestMetrics
from streams.runtime.metrics import StatsCollector, render_metrics
from streams.runtime.store import Store
from tests.conftest import fresh_database_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = json.loads((DEPLOY / "grafana" / "dashboards" / "aispm.json").read_text())
NOW = datetime.now(UTC).replace(microsecond=0)
FROM, TO = NOW - timedelta(hours=24), NOW + timedelta(hours=1)


def _panels(datasource_type: str) -> list[dict]:
    return [panel for panel in DASHBOARD["panels"] if panel.get("datasource", {}).get("type") == datasource_type]


def expand_macros(sql: str, *, start: datetime, end: datetime, interval_s: int = 60) -> str:
    """Grafana ClickHouse data source macros, expanded to what the plugin sends; any other macro fails."""
    since, until = int(start.timestamp()), int(end.timestamp())
    expanded = re.sub(r"\$__timeFilter\((\w+)\)",
                      lambda m: f"{m.group(1)} >= toDateTime({since}) AND {m.group(1)} <= toDateTime({until})", sql)
    expanded = re.sub(r"\$__timeInterval\((\w+)\)",
                      lambda m: f"toStartOfInterval(toDateTime({m.group(1)}), INTERVAL {interval_s} second)", expanded)
    expanded = expanded.replace("$__fromTime", f"toDateTime({since})").replace("$__toTime", f"toDateTime({until})")
    unknown = re.findall(r"\$\w+", expanded)
    assert not unknown, f"macro or variable this test does not expand: {unknown}"
    return expanded


@pytest.fixture(scope="module")
def store(chdb_data_dir: Path):
    store = Store(fresh_database_settings(chdb_data_dir))
    store.migrate()
    hour_ago = (NOW - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    seed = [
        # An unsanctioned AI call: the materialized views fill ai_usage_1m and ai_inventory from it.
        ("INSERT INTO events (schema_version, event_id, time, ingested_at, source_family, source_format, actor, "
        "target_host, bytes_in, ai_provider, ai_product, ai_sanctioned) VALUES "
        f"(1, 'e1', '{hour_ago}', '{hour_ago}', 'gateway', 'squid', 'dave', 'api.openai.com', 100, 'openai', "
        "'chatgpt', false)"),
        ("INSERT INTO alerts (alert_id, detection, title, severity, principal, provider, first_seen, last_seen, count) "
        f"VALUES ('a1', 'shadow_ai_egress', 'Shadow AI', 'medium', 'dave', 'openai', '{hour_ago}', '{hour_ago}', 1)"),
        ("INSERT INTO access_windows (actor, population, family, window_start, window_end, anomalous, score, "
        f"explanation) VALUES ('dave', 'people', 'cloudtrail', '{hour_ago}', '{hour_ago}', true, 4.2, 'new network')"),
        ("INSERT INTO dead_letters (dead_letter_id, received_at, source_family, reason) VALUES "
        f"('d1', '{hour_ago}', 'gateway', 'truncated_json')"),
    ]
    for statement in seed:
        store.client.command(statement)
    yield store
    store.close()


def test_the_dashboard_covers_what_analysts_ask() -> None:
    titles = " ".join(panel["title"].lower() for panel in DASHBOARD["panels"])
    for topic in ("ai calls", "unsanctioned", "alerts", "anomal", "dead letters", "lag", "latency"):
        assert topic in titles, topic
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    provisioned = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "aispm.yaml").read_text())
    uids = {source["uid"]: source["type"] for source in provisioned["datasources"]}
    for panel in DASHBOARD["panels"]:
        for target in [panel, *panel.get("targets", [])]:
            if "datasource" in target:
                assert uids[target["datasource"]["uid"]] == target["datasource"]["type"], panel["title"]


@pytest.mark.parametrize("panel", _panels("grafana-clickhouse-datasource"), ids=lambda panel: panel["title"])
def test_each_clickhouse_panel_runs_on_the_real_schema_and_finds_its_rows(store, panel: dict) -> None:
    (target,) = panel["targets"]
    assert target["editorType"] == "sql"
    sql = expand_macros(target["rawSql"], start=FROM, end=TO)
    columns, rows = store.query(sql)
    assert rows, f"{panel['title']}: no rows for the seeded data\n{sql}"
    if target["queryType"] == "timeseries":
        assert columns[0] == "time"


def test_macros_expand_to_a_real_time_filter(store) -> None:
    # The expansion is a real filter: a range that excludes the seeded rows finds none.
    (panel,) = [panel for panel in DASHBOARD["panels"] if panel["title"] == "Dead letters by reason"]
    sql = expand_macros(panel["targets"][0]["rawSql"], start=FROM - timedelta(days=10), end=FROM - timedelta(days=9))
    assert store.query(sql)[1] == []
    with pytest.raises(AssertionError, match=r"\$__unknown"):
        expand_macros("SELECT 1 WHERE $__unknown(x)", start=FROM, end=TO)


def _exported_metrics() -> dict[str, set[str]]:
    ingest, detection = IngestMetrics(), DetectionMetrics()
    ingest.note_assignment({("raw.gateway", 0)}, added=True)
    ingest.note_delivered({("raw.gateway", 0): 10})
    ingest.record_batch(messages=10, landed=9, duplicates=0, dead=Counter(truncated_json=1), latencies_ms=[20.0] * 9,
                        forwarded=9, families=Counter(gateway=10), sources=Counter({("gateway", "squid"): 9}),
                        offsets={("raw.gateway", 0): 10})
    with ingest.timed("insert"):
        pass
    detection.count_alerts([{"detection": "shadow_ai_egress", "severity": "medium"}])

    def stats() -> dict:
        return {"ingest": ingest.snapshot(), "detection": detection.snapshot(),
                "anomaly": {"windows_closed": 1, "windows_scored": 1, "anomalies": 0, "late_events": 0},
                "ingest_running": True}

    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(render_metrics(StatsCollector(stats, ingest)).decode()):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return labels


def test_each_prometheus_panel_names_exported_metrics_and_labels() -> None:
    exported = _exported_metrics()
    panels = _panels("prometheus")
    assert len(panels) >= 5
    for panel in panels:
        for target in panel["targets"]:
            expression = target["expr"]
            names = set(re.findall(r"\baispm_\w+", expression))
            assert names, expression
            for name in names:
                assert name in exported, f"{panel['title']}: {name} is not exported"
            grouped = {label.strip() for group in re.findall(r"by \(([^)]*)\)", expression)
                       for label in group.split(",")} - {"le"}
            for label in grouped:
                assert any(label in exported[name] for name in names), f"{panel['title']}: no label {label}"


def test_analyst_sql_parses_in_the_engine(store) -> None:
    text = (DEPLOY / "clickhouse" / "analyst.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    statements = [part.strip() for part in body.split(";") if part.strip()]
    assert any(statement.startswith("GRANT SELECT ON aispm.*") for statement in statements)
    formatted = [store.scalar("SELECT formatQuery({q:String})", {"q": statement}) for statement in statements]
    assert any("readonly = 1" in text for text in formatted)
    assert any("CHANGEABLE_IN_READONLY" in text for text in formatted)
    with pytest.raises(Exception, match="Syntax error"):
        store.scalar("SELECT formatQuery({q:String})", {"q": "GRANT SELECT ON aispm.* TOO analyst"})

"""A store holding the demo company's day as the worker would land it: every family's events enriched
under the demo policy, the alerts the rules raise, and access windows scored by a model trained on the
benign history (with the anomaly alerts). What the report tests share."""

from __future__ import annotations

from datetime import UTC, datetime

from models.registry import pack
from streams.demo import demo_policy_path, generate
from streams.demo.samples import real_samples
from streams.detect.alerts import MemoryLedger
from streams.detect.anomaly import AnomalyStage
from streams.detect.graph.alerts import path_finding
from streams.detect.graph.extract import compact, extract_facts
from streams.detect.graph.facts import AssetFact, EdgeFact
from streams.detect.graph.watch import PathWatch
from streams.detect.pipeline import Detectors
from streams.enrich.policy import policy_source
from streams.normalize import normalize_message
from streams.normalize.base import RecordMeta
from streams.runtime.store import Store
from streams.settings import AnomalySettings
from tests.anomaly_data import demo_day, trained_on_history

HOUR_MS = 3_600_000


def demo_events(extra: dict[str, list[bytes]] | None = None) -> tuple[Detectors, list[dict]]:
    """The demo day's messages (and ``extra`` ones) normalized and enriched under the demo policy."""
    detectors = Detectors.default(policy_source(demo_policy_path()))
    messages = generate(seed=7)
    samples = real_samples()
    events: list[dict] = []
    for family in ("cloudtrail", "gateway", "audit"):
        values = list(messages.get(family, [])) + list(samples.get(family, [])) + list((extra or {}).get(family, []))
        for position, value in enumerate(values):
            events.extend(normalize_message(family, value, RecordMeta("demo", 0, position)).events)
    detectors.enrich(events)
    return detectors, events


def land_demo(store: Store, extra: dict[str, list[bytes]] | None = None) -> dict[str, int]:
    """Land the demo day in ``store`` (migrated); returns what landed."""
    detectors, events = demo_events(extra)
    landed = store.land_events(events)
    findings = detectors.detect(events, {}).findings
    ledger = MemoryLedger()
    alerts = detectors.alerts(findings, ledger, HOUR_MS).rows
    store.land_alerts(alerts)
    # The asset graph's facts, and the alerts of the attack paths they open (as the detection stage raises them).
    facts = compact(extract_facts(events).facts)
    assets = [fact for fact in facts if isinstance(fact, AssetFact)]
    edges = [fact for fact in facts if isinstance(fact, EdgeFact)]
    store.land_graph_facts(assets, edges)
    by_id = {event["event_id"]: event for event in events}
    path_findings = [path_finding(new, by_id[new.event_id]) for new in PathWatch().new_paths(assets, edges)]
    path_alerts = detectors.alerts(path_findings, ledger, HOUR_MS).rows
    store.land_alerts(path_alerts)
    # Anomaly scores: the demo day's CloudTrail windows through the worker's stage and a promoted model.
    run = trained_on_history(7)
    moment = datetime(2026, 11, 20, tzinfo=UTC)
    stored = pack(run.model, trained_from="test", train_since=moment, train_until=moment, events=1,
                  windows_by_population=run.windows_by_population(), metrics="{}", trained_by="test",
                  alerts_per_1000=10)
    store.land_model_version(stored)
    store.promote_model(stored.version, by="test", reason="")
    stage = AnomalyStage(store=store, settings=AnomalySettings(lateness_s=0, close_every_s=0),
                         wall_clock_ms=lambda: 4_000_000_000_000.0)
    stage.load()
    frame, _labels = demo_day()
    anomalies = []
    ordered = frame.sort("time")
    for start in range(0, ordered.height, 400):
        closed = stage.observe(ordered.slice(start, 400))
        if closed is not None:
            stage.commit(closed)
            anomalies.extend(closed.findings)
    anomaly_alerts = detectors.alerts(anomalies, ledger, HOUR_MS).rows
    store.land_alerts(anomaly_alerts)
    return {"events": landed.inserted, "alerts": len(alerts), "anomaly_alerts": len(anomaly_alerts),
            "assets": len(assets), "path_alerts": len(path_alerts)}

"""Every detection over a batch of normalized events, in one place both the stream and offline mode use.

``Detectors`` holds what detections need (catalog, the current policy, the rule engine) and offers:
- ``enrich``: AI enrichment of events before they land (provider, product, model, sanctioned), which
  feeds the AI inventory and per-minute usage tables;
- ``detect``: findings of every rule (shadow AI, credential exposure, posture and threat rules, Sigma
  rules), with rule errors reported rather than raised;
- ``alerts``: findings -> OCSF alerts (one per key per tumbling window), with the rows for the
  ``alerts`` table; an alert's count is the number of distinct events its ledger holds, so a
  redelivered event never counts twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from schemas.finding import Finding
from streams.detect.alerts import AlertEvent, AlertLedger, AlertTally, alert_for, alert_id_of
from streams.detect.base import RuleContext
from streams.detect.engine import RuleEngine, RuleError, load_rules
from streams.enrich import enrich_events
from streams.enrich.catalog import Catalog, default_catalog
from streams.enrich.policy import Policy

__all__ = ["AlertBatch", "AlertPlan", "DetectionResult", "Detectors", "alert_row"]


@dataclass(slots=True)
class DetectionResult:
    findings: list[Finding] = field(default_factory=list)
    rule_errors: list[RuleError] = field(default_factory=list)


@dataclass(slots=True)
class AlertBatch:
    ocsf: list[dict] = field(default_factory=list)
    """Alerts to send to the SIEM: new ones and updated counts."""
    rows: list[dict] = field(default_factory=list)
    """The same alerts as rows of the ``alerts`` table."""


@dataclass
class Detectors:
    catalog: Catalog
    policy: Callable[[], Policy]
    engine: RuleEngine

    @classmethod
    def default(cls, policy: Callable[[], Policy] | None = None,
                sigma_paths: Iterable[str | Path] = ()) -> Detectors:
        """The bundled catalog, ``policy`` (discovery mode without one), the built-in and Sigma rules."""
        return cls(default_catalog(), policy or Policy.discovery, RuleEngine(load_rules(sigma_paths)))

    # -- enrichment ------------------------------------------------------------------------------------
    def enrich(self, events: list[dict]) -> int:
        """Set the ``ai_*`` fields of AI-use events in place; returns how many were AI use."""
        return enrich_events(events, self.catalog, self.policy())

    # -- detection -------------------------------------------------------------------------------------
    def detect(self, events: list[dict], rule_state: MutableMapping[str, dict]) -> DetectionResult:
        ctx = RuleContext(state=rule_state, catalog=self.catalog, policy=self.policy())
        result = DetectionResult()
        for event in events:
            evaluation = self.engine.run(event, ctx)
            result.findings.extend(evaluation.findings)
            result.rule_errors.extend(evaluation.errors)
        return result

    # -- alerts ----------------------------------------------------------------------------------------
    @staticmethod
    def alerts(findings: list[Finding], ledger: AlertLedger, window_ms: int) -> AlertBatch:
        """Findings -> alerts, in one step (offline; the stream does the ledger's I/O between the two)."""
        plan = AlertPlan.of(findings, window_ms)
        return plan.render(ledger.record(plan.events))


@dataclass(slots=True)
class AlertPlan:
    """A batch's findings grouped into alerts, before the ledger says what each alert's count is."""

    events: list[AlertEvent]
    """The (alert, event) pairs to record, each once."""
    latest: dict[str, Finding]
    """Per alert id, the batch's newest finding: its event is the alert's evidence."""

    @classmethod
    def of(cls, findings: list[Finding], window_ms: int) -> AlertPlan:
        pairs: dict[tuple[str, str], AlertEvent] = {}
        latest: dict[str, Finding] = {}
        for finding in findings:
            alert_id = alert_id_of(finding, window_ms)
            event = finding.event
            event_id = str(event.get("event_id", ""))
            pairs.setdefault((alert_id, event_id), AlertEvent(alert_id, event_id, event["time"], finding.detection))
            current = latest.get(alert_id)
            if current is None or event["time"] >= current.event["time"]:
                latest[alert_id] = finding
        return cls(list(pairs.values()), latest)

    def render(self, tallies: dict[str, AlertTally], now_ms: int | None = None) -> AlertBatch:
        """One OCSF alert and one ``alerts`` row per alert the batch touched, with the ledger's count."""
        updated_at = int(time.time() * 1000) if now_ms is None else now_ms
        batch = AlertBatch()
        for alert_id, finding in self.latest.items():
            tally = tallies[alert_id]
            ocsf = alert_for(finding, tally)
            batch.ocsf.append(ocsf)
            batch.rows.append(alert_row(finding, alert_id, tally.count, tally.first_seen_ms, tally.last_seen_ms,
                                        ocsf, updated_at))
        return batch


def alert_row(finding: Finding, alert_id: str, count: int, first_seen_ms: int, last_seen_ms: int,
              ocsf: dict[str, Any], updated_at_ms: int) -> dict[str, Any]:
    return {
        "alert_id": alert_id, "detection": finding.detection, "title": finding.title,
        "severity": finding.severity, "principal": finding.principal, "provider": finding.provider,
        "first_seen": first_seen_ms, "last_seen": last_seen_ms, "count": count,
        "description": finding.description, "remediation": finding.remediation,
        "techniques": list(finding.techniques),
        "context": orjson.dumps(finding.context, default=str).decode(),
        "event_id": str(finding.event.get("event_id", "")),
        "ocsf": orjson.dumps(ocsf, default=str).decode(), "updated_at": updated_at_ms,
    }

"""Every detection over a batch of normalized events, in one place both the stream and offline mode use.

``Detectors`` holds what detections need (catalog, the current policy, the rule engine) and offers:
- ``enrich``: AI enrichment of events before they land (provider, product, model, sanctioned), which
  feeds the AI inventory and per-minute usage tables;
- ``detect``: findings of the shadow-AI, cloud-runtime and credential-exposure detections and of the
  posture rules, with rule errors reported rather than raised;
- ``alerts``: findings -> deduplicated OCSF alerts (one per key per window), with the rows for the
  ``alerts`` table. A finding for an event already counted towards its alert (a redelivered batch)
  does not count again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from streams.alerts import AlertDeduper, AlertEmit, alert_for
from streams.catalog import Catalog, default_catalog
from streams.detections import bedrock_runtime, credential_exposure, shadow_ai
from streams.detections.finding import Finding
from streams.policy import Policy
from streams.rules.engine import RuleEngine, RuleError, load_rules

__all__ = ["AlertBatch", "DetectionResult", "Detectors"]

# Per alert key, how many recent event ids are remembered to recognise a redelivered event.
_RECENT_EVENT_IDS = 64


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
    repeats_ignored: int = 0


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
        policy = self.policy()
        found = 0
        for event in events:
            use = shadow_ai.usage_of(event, self.catalog)
            if use is None:
                continue
            found += 1
            verdict = policy.evaluate(event.get("actor", ""), event.get("src_ip", ""), use.provider, use.product)
            event.update(ai_provider=use.provider, ai_product=use.product, ai_category=use.category,
                         ai_model=use.model_id, ai_sanctioned=verdict.sanctioned)
        return found

    # -- detection -------------------------------------------------------------------------------------
    def detect(self, events: list[dict], rule_state: MutableMapping[str, dict]) -> DetectionResult:
        policy = self.policy()
        result = DetectionResult()
        for event in events:
            family = event.get("source_family")
            if family == "gateway":
                result.findings.extend(shadow_ai.detect(event, self.catalog, policy))
                result.findings.extend(credential_exposure.detect(event, self.catalog, policy))
            elif family == "cloudtrail":
                result.findings.extend(bedrock_runtime.detect(event, self.catalog, policy))
                evaluation = self.engine.run(event, rule_state)
                result.findings.extend(evaluation.findings)
                result.rule_errors.extend(evaluation.errors)
        return result

    # -- alerts ----------------------------------------------------------------------------------------
    @staticmethod
    def alerts(findings: list[Finding], deduper: AlertDeduper,
               counted: MutableMapping[str, list[str]]) -> AlertBatch:
        """Deduplicated alerts for ``findings``. ``counted`` maps alert key -> recent event ids."""
        batch = AlertBatch()
        now_ms = int(time.time() * 1000)
        # Within one batch, repeats of an alert collapse into its latest state: the SIEM gets one
        # message per alert per batch, not one per finding (and only that one is rendered).
        latest: dict[str, tuple[Finding, AlertEmit]] = {}
        for finding in findings:
            key = finding.key()
            event_id = str(finding.event.get("event_id", ""))
            recent = list(counted.get(key) or [])
            if event_id and event_id in recent:
                batch.repeats_ignored += 1
                continue
            counted[key] = (recent + [event_id])[-_RECENT_EVENT_IDS:]
            emit = deduper.observe(finding)
            previous = latest.get(emit.alert_id)
            if previous is not None and previous[1].is_new:
                # The SIEM has not seen this alert yet: send it once, as new, with the batch's count.
                emit = replace(emit, kind="new")
            latest[emit.alert_id] = (finding, emit)
        for finding, emit in latest.values():
            ocsf = alert_for(finding, emit)
            batch.ocsf.append(ocsf)
            batch.rows.append(alert_row(finding, emit.alert_id, emit.count, emit.first_seen_ms, emit.last_seen_ms,
                                        ocsf, now_ms))
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

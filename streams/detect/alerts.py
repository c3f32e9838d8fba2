"""Findings -> SIEM alerts: windowed dedup, and the OCSF Detection Finding every SIEM can ingest.

One alert per ``finding.key()`` per tumbling window of event time (``alert_id_of``); its count is
the number of distinct events behind it, kept by an ``AlertLedger`` (a ClickHouse table in the stream,
a dict offline), so a redelivered or replayed event never counts twice and a lost worker loses nothing.

``to_ocsf`` renders an alert as an OCSF 1.x Detection Finding (class 2004). The normalized event goes
in as evidence without its raw record: the raw text is already redacted, but an alert travels further
than the event store, so it carries only the mapped fields.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol

import orjson

from schemas.alert import AlertEvent
from schemas.finding import Finding
from streams.normalize.base import stable_id

__all__ = [
    "OCSF_VERSION",
    "AlertBatch",
    "AlertEvent",
    "AlertLedger",
    "AlertPlan",
    "AlertTally",
    "MemoryLedger",
    "alert_for",
    "alert_id_of",
    "alert_row",
    "to_ocsf",
    "window_start",
]

OCSF_VERSION = "1.5.0"


def _product_version() -> str:
    try:
        return metadata.version("aispm")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


PRODUCT = {"name": "aispm", "vendor_name": "aispm project", "version": _product_version()}
# How sure a detection is: a rule matched what it describes (High); a model found a window unusual (Medium).
_CONFIDENCE = {"rule": (3, "High"), "model": (2, "Medium")}

DETECTION_FINDING_CLASS = 2004
FINDINGS_CATEGORY = 2
_ACTIVITIES = {"create": (1, "Create"), "update": (2, "Update")}
_SEVERITY_IDS = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
STATUS_NEW = 1

# Finding types by detection; posture and threat rules fall back to the generic type.
_FINDING_TYPES = {
    "shadow_ai_egress": "Shadow AI",
    "shadow_ai_cloud_runtime": "Shadow AI",
    "ai_credential_exposure": "Credential Exposure",
}
_DEFAULT_FINDING_TYPE = "AI Security Posture"

# ATT&CK names for the techniques aispm's detections cite (OCSF's attack object wants a name).
_ATTACK_NAMES = {
    "T1078": "Valid Accounts", "T1078.004": "Cloud Accounts", "T1496": "Resource Hijacking",
    "T1552": "Unsecured Credentials", "T1567": "Exfiltration Over Web Service",
}

# Normalized-event fields that go into the alert's evidence (everything except the raw record).
_EVIDENCE_FIELDS = (
    "event_id", "time", "source_family", "source_format", "class_uid", "activity_id", "actor", "actor_type",
    "src_ip", "user_agent", "action", "service", "target_host", "target_url", "target_resource", "outcome",
    "status_code", "status_detail", "bytes_in", "bytes_out", "cloud_account", "cloud_region", "kafka_topic",
    "kafka_partition", "kafka_offset",
)


def to_ocsf(finding: Finding, count: int, first_seen_ms: int, last_seen_ms: int, alert_id: str, *,
            update: bool = False) -> dict[str, Any]:
    """One alert as an OCSF Detection Finding dict (JSON-able).

    ``update`` marks a re-emission of an open alert with a higher count (activity Update, same uid).
    """
    event = finding.event
    activity_id, activity_name = _ACTIVITIES["update" if update else "create"]
    severity_id = _SEVERITY_IDS[finding.severity]
    alert: dict[str, Any] = {
        "activity_id": activity_id,
        "activity_name": activity_name,
        "category_uid": FINDINGS_CATEGORY,
        "category_name": "Findings",
        "class_uid": DETECTION_FINDING_CLASS,
        "class_name": "Detection Finding",
        "type_uid": DETECTION_FINDING_CLASS * 100 + activity_id,
        "type_name": f"Detection Finding: {activity_name}",
        "time": last_seen_ms,
        "start_time": first_seen_ms,
        "end_time": last_seen_ms,
        "count": count,
        "severity_id": severity_id,
        "severity": finding.severity.capitalize(),
        "status_id": STATUS_NEW,
        "status": "New",
        "message": finding.title,
        "metadata": {
            "version": OCSF_VERSION,
            "product": dict(PRODUCT),
            # One record per emission; the alert itself is finding_info.uid.
            "uid": f"{alert_id}:{count}",
            "correlation_uid": alert_id,
            # With "backfill" for alerts raised over history: landed and counted, never sent to page anyone.
            "labels": [finding.detection, *([finding.context["origin"]] if finding.context.get("origin") else [])],
        },
        "finding_info": {
            "uid": alert_id,
            "title": finding.title,
            "desc": finding.description,
            "types": [_FINDING_TYPES.get(finding.detection, _DEFAULT_FINDING_TYPE)],
            "analytic": {"name": finding.detection, "uid": finding.detection, "type": "Rule", "type_id": 1},
            "first_seen_time": first_seen_ms,
            "last_seen_time": last_seen_ms,
            "data_sources": [event.get("source_format") or event.get("source_family") or "unknown"],
        },
        "remediation": {"desc": finding.remediation},
        "evidences": [_evidence(event)],
        "observables": _observables(finding),
        "unmapped": {
            "dedup_key": finding.key(),
            "principal": finding.principal,
            "provider": finding.provider,
            "techniques": list(finding.techniques),
            "context": _jsonable(finding.context),
        },
    }
    confidence_id, confidence = _CONFIDENCE["model" if "model_version" in finding.context else "rule"]
    alert["confidence_id"], alert["confidence"] = confidence_id, confidence
    attacks = [{"technique": {"uid": technique, "name": _ATTACK_NAMES[technique]}}
               for technique in finding.techniques if technique in _ATTACK_NAMES]
    if attacks:
        alert["finding_info"]["attacks"] = attacks
    resource = _resource(finding)
    if event.get("cloud_account") and event.get("source_family") == "cloudtrail":
        alert["cloud"] = {
            "provider": "AWS",
            "region": event.get("cloud_region") or None,
            "account": {"name": event["cloud_account"], "uid": event["cloud_account"], "type_id": 10,
                        "type": "AWS Account"},
        }
        if alert["cloud"]["region"] is None:
            del alert["cloud"]["region"]
        # `cloud`, and a resource's `region`, belong to OCSF's cloud profile: say it is used.
        alert["metadata"]["profiles"] = ["cloud"]
    if resource:
        if "region" in resource and "cloud" not in alert:
            resource["data"]["region"] = resource.pop("region")  # no cloud profile without a cloud
        alert["resources"] = [resource]
    return alert


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: rules may put sets, tuples or datetimes in a finding's context."""
    return orjson.loads(orjson.dumps(value, default=_json_fallback, option=orjson.OPT_NON_STR_KEYS))


def _json_fallback(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _evidence(event: dict) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "name": event.get("source_format") or "event",
        "data": {name: event[name] for name in _EVIDENCE_FIELDS if event.get(name) not in (None, "")},
    }
    # actor / src_endpoint / dst_endpoint are OCSF 1.x Evidence Artifacts attributes.
    if event.get("actor"):
        evidence["actor"] = {"user": {"name": event["actor"], "uid": event["actor"],
                                      **({"type": event["actor_type"]} if event.get("actor_type") else {})}}
    if event.get("src_ip"):
        evidence["src_endpoint"] = {"ip": event["src_ip"]}
    if event.get("target_host"):
        evidence["dst_endpoint"] = {"hostname": event["target_host"]}
    if event.get("source_family") == "cloudtrail" and event.get("action"):
        evidence["api"] = {"operation": event["action"]}
    elif event.get("source_format") == "zeek_dns" and event.get("target_host"):
        evidence["query"] = {"hostname": event["target_host"]}
    elif event.get("target_url"):
        url = {"url_string": event["target_url"]}
        if event.get("target_host"):
            url["hostname"] = event["target_host"]
        evidence["url"] = url
    return evidence


def _resource(finding: Finding) -> dict[str, Any] | None:
    """The AI service or model the finding is about, when the detection named one."""
    context = finding.context
    product, model, host = context.get("product"), context.get("model_id"), context.get("host")
    if not (finding.provider or product or model):
        return None
    resource: dict[str, Any] = {"type": "AI Model" if model else "AI Service",
                                "data": {"provider": finding.provider}}
    if product:
        resource["name"] = str(product)
    if model or host:
        resource["uid"] = str(model or host)
    if "name" not in resource and "uid" not in resource:  # OCSF wants one of them; the provider names it
        resource["name"] = str(finding.provider)
    if finding.event.get("cloud_region"):
        resource["region"] = finding.event["cloud_region"]
    if context.get("category"):
        resource["data"]["category"] = context["category"]
    return resource


def _observables(finding: Finding) -> list[dict[str, Any]]:
    event = finding.event
    observables = []
    if event.get("actor"):
        observables.append({"name": "evidences[0].actor.user.name", "type_id": 4, "type": "User Name",
                            "value": event["actor"]})
    if event.get("src_ip"):
        observables.append({"name": "evidences[0].src_endpoint.ip", "type_id": 2, "type": "IP Address",
                            "value": event["src_ip"]})
    if event.get("target_host"):
        observables.append({"name": "evidences[0].dst_endpoint.hostname", "type_id": 1, "type": "Hostname",
                            "value": event["target_host"]})
    return observables


# --- alerts from findings --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AlertTally:
    """An alert's state after a batch's events were recorded against it."""

    alert_id: str
    count: int
    """Distinct events behind the alert, whatever was delivered twice."""
    prior: int
    """Of those, the events recorded before (outside) this batch: 0 means the alert is new."""
    first_seen_ms: int
    last_seen_ms: int

    @property
    def is_new(self) -> bool:
        return self.prior == 0


class AlertLedger(Protocol):
    """Where the events behind each alert are recorded. Recording the same event twice changes nothing."""

    def record(self, events: list[AlertEvent]) -> dict[str, AlertTally]:
        """Record ``events``; the tally of every alert they touch (by alert id)."""
        ...


def window_start(time_ms: int, window_ms: int) -> int:
    """Start of the tumbling window (aligned to the epoch) that ``time_ms`` falls in."""
    if window_ms <= 0:
        raise ValueError("window_ms must be positive")
    return time_ms - time_ms % window_ms


def alert_id_of(finding: Finding, window_ms: int) -> str:
    """One alert per ``finding.key()`` per tumbling window of event time.

    The id is a pure function of the finding: a replay, a redelivery, a restarted worker or another
    worker all name the same alert for the same finding, with no state to lose or to agree on.
    """
    return stable_id("alert", finding.key(), str(window_start(finding.event["time"], window_ms)))


class MemoryLedger:
    """An ``AlertLedger`` in memory (offline detection, tests): every alert's event ids."""

    def __init__(self) -> None:
        self._events: dict[str, dict[str, int]] = {}

    def record(self, events: list[AlertEvent]) -> dict[str, AlertTally]:
        batch: dict[str, set[str]] = {}
        for item in events:
            self._events.setdefault(item.alert_id, {}).setdefault(item.event_id, item.event_time)
            batch.setdefault(item.alert_id, set()).add(item.event_id)
        tallies = {}
        for alert_id, in_batch in batch.items():
            recorded = self._events[alert_id]
            times = recorded.values()
            tallies[alert_id] = AlertTally(alert_id, len(recorded), len(recorded.keys() - in_batch),
                                           min(times), max(times))
        return tallies


def alert_for(finding: Finding, tally: AlertTally) -> dict[str, Any]:
    """The OCSF alert to send for ``tally`` (a Create for a new alert, an Update for a higher count)."""
    return to_ocsf(finding, tally.count, tally.first_seen_ms, tally.last_seen_ms, tally.alert_id,
                   update=not tally.is_new)


@dataclass(slots=True)
class AlertBatch:
    ocsf: list[dict] = field(default_factory=list)
    """Alerts to send to the SIEM: new ones and updated counts."""
    rows: list[dict] = field(default_factory=list)
    """The same alerts as rows of the ``alerts`` table."""


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

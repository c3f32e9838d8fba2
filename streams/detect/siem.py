"""The alerts topic's formats: an OCSF Detection Finding as it is, as an ECS document, or as a Splunk HEC event.

Every alert is built once, as OCSF (``alerts.to_ocsf``); the other formats are renderings of that dict,
so the three carry the same alert. The field mapping is documented in ``SIEM-FORMATS.md`` beside this file.
ClickHouse keeps the OCSF form whatever the topic carries.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["ALERT_FORMATS", "ECS_VERSION", "AlertFormat", "HecOptions", "render_alert", "to_ecs", "to_hec"]

AlertFormat = Literal["ocsf", "ecs", "hec"]
ALERT_FORMATS: tuple[AlertFormat, ...] = ("ocsf", "ecs", "hec")

# The ECS release whose field reference (tests/samples/ecs/ecs_fields.json) the documents are checked against.
ECS_VERSION = "9.4.0"

_OUTCOMES = {"success": "success", "failure": "failure"}


@dataclass(frozen=True, slots=True)
class HecOptions:
    """The HEC envelope's metadata (https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector)."""

    sourcetype: str = "aispm:ocsf:detection_finding"
    index: str | None = None
    """None: the HEC token's default index."""
    host: str | None = None
    """None: this machine's name."""


def render_alert(alert: dict[str, Any], fmt: AlertFormat, hec: HecOptions | None = None) -> dict[str, Any]:
    """``alert`` (an OCSF Detection Finding) in the alerts topic's format ``fmt``."""
    if fmt == "ocsf":
        return alert
    if fmt == "ecs":
        return to_ecs(alert)
    if fmt == "hec":
        return to_hec(alert, hec or HecOptions())
    raise ValueError(f"unknown alert format {fmt!r} (one of {', '.join(ALERT_FORMATS)})")


def _iso(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _threat(attacks: list[dict]) -> dict[str, Any] | None:
    """ECS ``threat``: one framework, the techniques, sub-techniques and tactics as parallel arrays.

    ECS names a single framework per document, so ATT&CK's entries go there when the alert has any and
    ATLAS's only when it has no other; every id stays in ``aispm.techniques`` either way."""
    attack_entries = [attack for attack in attacks if not attack["technique"]["uid"].startswith("AML.")]
    framework, entries = ("MITRE ATT&CK", attack_entries) if attack_entries else ("MITRE ATLAS", attacks)
    if not entries:
        return None
    techniques: dict[str, str] = {}
    subtechniques: dict[str, str] = {}
    tactics: dict[str, str] = {}
    for attack in entries:
        techniques.setdefault(attack["technique"]["uid"], attack["technique"]["name"])
        if "sub_technique" in attack:
            subtechniques.setdefault(attack["sub_technique"]["uid"], attack["sub_technique"]["name"])
        if "tactic" in attack:
            tactics.setdefault(attack["tactic"]["uid"], attack["tactic"]["name"])
    threat: dict[str, Any] = {"framework": framework,
                              "technique": {"id": list(techniques), "name": list(techniques.values())}}
    if subtechniques:
        threat["technique"]["subtechnique"] = {"id": list(subtechniques), "name": list(subtechniques.values())}
    if tactics:
        threat["tactic"] = {"id": list(tactics), "name": list(tactics.values())}
    return threat


def to_ecs(alert: dict[str, Any]) -> dict[str, Any]:
    """An Elastic Common Schema document for one OCSF alert (``event.kind: alert``)."""
    info = alert["finding_info"]
    evidence = alert["evidences"][0] if alert.get("evidences") else {}
    data = evidence.get("data", {})
    unmapped = alert.get("unmapped", {})
    document: dict[str, Any] = {
        "@timestamp": _iso(alert["time"]),
        "ecs": {"version": ECS_VERSION},
        "message": alert["message"],
        "event": {
            "kind": "alert",
            "category": ["intrusion_detection"],
            "type": ["info"],
            "id": alert["metadata"]["uid"],
            "code": info["analytic"]["uid"],
            "severity": alert["severity_id"],
            "start": _iso(alert["start_time"]),
            "end": _iso(alert["end_time"]),
            "created": _iso(alert["time"]),
            "dataset": "aispm.alerts",
            "module": "aispm",
            "provider": info["data_sources"][0],
        },
        "rule": {"id": info["analytic"]["uid"], "name": info["title"], "description": info.get("desc", ""),
                 "category": info["types"][0], "ruleset": "aispm"},
        "observer": {"vendor": alert["metadata"]["product"]["vendor_name"],
                     "product": alert["metadata"]["product"]["name"],
                     "version": alert["metadata"]["product"]["version"], "type": "detection"},
        "tags": list(alert["metadata"].get("labels", [])),
        "aispm": {
            "alert_id": info["uid"],
            "count": alert["count"],
            "activity": alert["activity_name"],
            "is_alert": alert.get("is_alert", True),
            "confidence": alert.get("confidence", ""),
            "severity": alert["severity"],
            "principal": unmapped.get("principal", ""),
            "provider": unmapped.get("provider", ""),
            "techniques": list(unmapped.get("techniques", [])),
            "remediation": alert.get("remediation", {}).get("desc", ""),
            "context": unmapped.get("context", {}),
            "ocsf_version": alert["metadata"]["version"],
        },
    }
    if data.get("action"):
        document["event"]["action"] = data["action"]
    if data.get("outcome"):
        document["event"]["outcome"] = _OUTCOMES.get(data["outcome"], "unknown")
    if threat := _threat(info.get("attacks", [])):
        document["threat"] = threat
    if data.get("actor"):
        document["user"] = {"name": data["actor"], "id": data["actor"]}
    if data.get("src_ip"):
        document["source"] = {"ip": data["src_ip"]}
    if data.get("target_host"):
        document["destination"] = {"domain": data["target_host"]}
    if data.get("target_url"):
        document["url"] = {"full": data["target_url"]}
    if data.get("user_agent"):
        document["user_agent"] = {"original": data["user_agent"]}
    if cloud := alert.get("cloud"):
        document["cloud"] = {"provider": cloud["provider"].lower(), "account": {"id": cloud["account"]["uid"]}}
        if cloud.get("region"):
            document["cloud"]["region"] = cloud["region"]
    related_ips = [ip for ip in (data.get("src_ip"),) if ip]
    related_users = [user for user in (data.get("actor"),) if user]
    if related_ips or related_users:
        document["related"] = {**({"ip": related_ips} if related_ips else {}),
                               **({"user": related_users} if related_users else {})}
    return document


def to_hec(alert: dict[str, Any], options: HecOptions) -> dict[str, Any]:
    """A Splunk HTTP Event Collector event: the OCSF alert as ``event``, searchable metadata in ``fields``."""
    info = alert["finding_info"]
    unmapped = alert.get("unmapped", {})
    fields = {
        "alert_id": info["uid"],
        "detection": info["analytic"]["uid"],
        "severity": alert["severity"].lower(),
        "activity": alert["activity_name"].lower(),
        "principal": unmapped.get("principal", ""),
        "provider": unmapped.get("provider", ""),
        "techniques": [str(technique) for technique in unmapped.get("techniques", [])],
        "ocsf_class_uid": str(alert["class_uid"]),
    }
    event: dict[str, Any] = {
        "time": alert["time"] / 1000,
        "host": options.host or socket.gethostname(),
        "source": f"aispm:{info['analytic']['uid']}",
        "sourcetype": options.sourcetype,
        "event": alert,
        "fields": {name: value for name, value in fields.items() if value not in ("", [])},
    }
    if options.index:
        event["index"] = options.index
    return event

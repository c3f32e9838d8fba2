"""What every detection produces: one finding about one normalized event.

Shadow-AI detections and posture rules both return ``Finding`` objects; the alert path (dedup window,
OCSF Detection Finding, alerts topic and table) takes them from there, whoever made them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.remediation import RemediationAction

# What an alert shows of its event (``evidences[].data``), and all it reads of it besides the raw record.
EVIDENCE_FIELDS = (
    "event_id", "time", "source_family", "source_format", "class_uid", "activity_id", "actor", "actor_type",
    "src_ip", "user_agent", "action", "service", "target_host", "target_url", "target_resource", "outcome",
    "status_code", "status_detail", "bytes_in", "bytes_out", "cloud_account", "cloud_region", "kafka_topic",
    "kafka_partition", "kafka_offset",
)

Severity = Literal["informational", "low", "medium", "high", "critical"]


@dataclass(frozen=True, slots=True)
class Finding:
    detection: str
    """Stable id of the detection or rule that fired, e.g. ``shadow_ai_egress`` or ``bedrock_logging_deleted``."""
    title: str
    severity: Severity
    principal: str
    """Who did it: the event's actor, else its source IP."""
    event: dict
    """The normalized event that triggered it."""
    description: str
    remediation: str
    provider: str = ""
    """AI provider involved, when there is one (``openai``, ``aws-bedrock``...)."""
    context: dict[str, Any] = field(default_factory=dict)
    """Why it fired, for the analyst: host or API call seen, missing policy clause, what is sanctioned."""
    techniques: tuple[str, ...] = ()
    """MITRE ATT&CK / ATLAS technique ids."""
    dedup_key: str = ""
    """Findings with equal keys inside one window become one alert. Empty: detection|principal|provider."""
    actions: tuple[RemediationAction, ...] = ()
    """Machine-readable remediation, filled from this finding (``remediation`` stays the runbook text)."""
    begun_by: tuple[str, int] | None = None
    """(event id, epoch ms) of what began what it reports, where that is not its event: an attack path
    begins at a fact that may be older than the event that completed it (facts read out of time order).
    Its alert counts that event and windows by that moment, so every reading order counts alike."""

    def key(self) -> str:
        return self.dedup_key or f"{self.detection}|{self.principal}|{self.provider}"

"""Alerts as the store holds them: one row per update of an alert, and the events behind each alert.

An alert is rendered for SIEMs as an OCSF Detection Finding (streams/detect/alerts.py); these are its
rows for analysts.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import TypedDict

from schemas.columns import TimeMs, UInt64


class AlertRow(TypedDict):
    alert_id: str
    """One alert per detection key per tumbling window of event time."""
    detection: str
    title: str
    severity: str
    principal: str
    provider: str
    first_seen: TimeMs
    last_seen: TimeMs
    count: UInt64
    """Distinct events behind the alert (``alert_events``)."""
    description: str
    remediation: str
    remediation_actions: str
    """The machine-readable remediation actions, as a JSON array (``[]``: none)."""
    techniques: list[str]
    context: str
    """Why it fired, as JSON."""
    event_id: str
    """The event whose finding the row was rendered from."""
    ocsf: str
    """The alert exactly as sent to the alerts topic."""
    updated_at: TimeMs


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One event behind one alert: the unit an alert's count is made of (a row of ``alert_events``)."""

    alert_id: str
    event_id: str
    event_time: TimeMs
    detection: str


ALERT_FIELDS: tuple[str, ...] = tuple(AlertRow.__annotations__)

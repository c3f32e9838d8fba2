"""The one definition of every row shape: the normalized event, the dead letter, the alert and the events
behind it, the finding, and the source families. The store derives its columns from these."""

from schemas.alert import AlertEvent, AlertRow
from schemas.dead_letter import DeadLetterRow
from schemas.event import EVENT_FIELDS, SCHEMA_VERSION, NormalizedEvent, validate_event, with_defaults
from schemas.families import SOURCE_FAMILIES, SourceFamily
from schemas.finding import Finding, Severity
from schemas.remediation import RemediationAction

__all__ = [
    "EVENT_FIELDS", "SCHEMA_VERSION", "SOURCE_FAMILIES", "AlertEvent", "AlertRow", "DeadLetterRow", "Finding",
    "NormalizedEvent", "RemediationAction", "Severity", "SourceFamily", "validate_event", "with_defaults",
]

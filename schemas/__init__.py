"""Pydantic schemas shared by the pipeline: the normalized event and the dead letter."""

from schemas.event import EVENT_FIELDS, SCHEMA_VERSION, NormalizedEvent, validate_event

__all__ = ["EVENT_FIELDS", "SCHEMA_VERSION", "NormalizedEvent", "validate_event"]

"""A record that did not normalize, as the dead-letter table and topic hold it."""

from __future__ import annotations

from typing_extensions import TypedDict

from schemas.columns import Int32, Int64, TimeMs, UInt64
from schemas.families import SourceFamily


class DeadLetterRow(TypedDict):
    dead_letter_id: str
    """One delivery of one record (topic, partition, offset, position): a redelivery maps to the same id."""
    received_at: TimeMs
    produced_at: TimeMs
    """When the record was produced to its raw topic (the Kafka message's timestamp; a file's modification
    time in a backfill), else ``received_at``. A redelivery is received again, but produced at the same
    moment: what the record's alert is windowed by (``streams.detect.unreadable_records``)."""
    source_family: SourceFamily
    reason: str
    """Short machine-readable code: ``malformed_json``, ``bad_encoding``, ``too_deep``, ``duplicate_key`` ..."""
    detail: str
    """What was wrong and where, never the record's content (credentials redacted regardless)."""
    kafka_topic: str
    kafka_partition: Int32
    kafka_offset: Int64
    raw_size: UInt64
    """Size of the original record, whatever ``raw`` keeps of it."""
    raw_truncated: bool
    raw: bytes
    """The original bytes up to the configured cap, credentials redacted."""


DEAD_LETTER_FIELDS: tuple[str, ...] = tuple(DeadLetterRow.__annotations__)

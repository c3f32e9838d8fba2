"""Where a raw record came from, and the dead-letter row (``schemas.dead_letter``) of one that failed.

The stream, a backfill and offline detection make their dead letters here, so a record that fails has
the same id, reasons and redaction wherever it was read.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.normalize import Failure
from streams.normalize.base import stable_id
from streams.normalize.redact import Redactor, default_redactor

__all__ = ["RawMessage", "dead_letter_row"]


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One raw record's message: its family, where it was (a Kafka topic, partition and offset; a file is
    ``file:<path>``, 0, the record's index) and when it was produced (epoch ms; 0: not known)."""

    family: str
    topic: str
    partition: int
    offset: int
    value: bytes | None
    timestamp_ms: int


# Bytes redacted past the stored cap, so that a secret the cap cuts through is still whole (and found).
_REDACTION_MARGIN = 8 << 10


def dead_letter_row(message: RawMessage, failure: Failure, index: int, received_at_ms: int,
                    raw_cap: int, redactor: Redactor | None = None) -> dict:
    redactor = redactor or default_redactor()
    # Redacted as bytes: a record that is not UTF-8 keeps its other bytes, never a credential.
    window = failure.raw[:raw_cap + _REDACTION_MARGIN]
    raw = redactor.redact_bytes(window)
    return {
        # One delivery of one record: a redelivered batch maps to the same ids and is dropped on landing.
        "dead_letter_id": stable_id(message.topic, str(message.partition), str(message.offset), str(index)),
        "received_at": received_at_ms,
        "produced_at": message.timestamp_ms or received_at_ms,
        "source_family": message.family,
        "reason": failure.reason,
        "detail": redactor.redact_text(failure.detail)[:1000],
        "kafka_topic": message.topic,
        "kafka_partition": message.partition,
        "kafka_offset": message.offset,
        "raw_size": len(failure.raw),
        "raw_truncated": len(raw) > raw_cap or len(window) < len(failure.raw),
        "raw": raw[:raw_cap],
    }

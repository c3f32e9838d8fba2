"""The landing process (``AISPM_ROLE=land``): the events and dead-letters topics into the store.

With the embedded store only one process can open chDB, so several workers split the work: ingest
workers (``AISPM_ROLE=ingest``, as many as the raw topics have partitions) normalize and forward every
event and dead letter, and open no store; this one process consumes what they forward, drops what is
stored already, lands the rest and runs the detections on it.

Per batch of events-topic messages, in this order (the agent in streams/runtime/agents.py):
1. ``new``: decode, and keep the events neither stored nor earlier in the batch (an ingest worker that
   died after forwarding and before committing has its batch forwarded again by the worker that takes
   its partitions over: those copies are dropped here);
2. the detection stage prepares and commits on those new events alone (alerts, rule state, windows);
3. ``insert``: the new events go into ``events``;
4. the messages are acknowledged.
A crash before 3 redelivers a batch whose events are not stored: detected again, which changes no
count (every detection step is idempotent). A crash after 3 redelivers events that are all stored: they
go nowhere. In the other order (insert, then detect) such a crash would lose their alerts.
"""

from __future__ import annotations

import base64
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl
from pydantic import TypeAdapter

from schemas.dead_letter import DeadLetterRow
from streams.detect.stage import decode_messages

__all__ = ["EventsLander", "LandingBatch", "dead_letter_of_message", "dead_letter_rows"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LandingBatch:
    messages: int
    new: Any
    """``Store.new_events`` of the batch's Arrow frames (``.frame``, ``.keys``, ``.duplicates``), or None."""
    events: list[dict]
    """Events that came as JSON arrays (not from an aispm ingest worker): detected, not landed."""
    bad_messages: int

    @property
    def frame(self) -> pl.DataFrame | None:
        return None if self.new is None else self.new.frame


class EventsLander:
    def __init__(self, store: Any, metrics: Any = None) -> None:
        self.store = store
        self.metrics = metrics
        """``IngestMetrics``: what was landed and dropped shows in `aispm status` and /metrics."""

    def new(self, values: list[bytes]) -> LandingBatch:
        frame, events, bad = decode_messages(values)
        new = self.store.new_events(frame) if frame is not None else None
        return LandingBatch(len(values), new, events, bad)

    def insert(self, batch: LandingBatch) -> None:
        if batch.new is None:
            return
        self.store.insert_events(batch.new)
        if self.metrics is not None:
            self.metrics.record_batch(messages=batch.messages, landed=batch.new.frame.height,
                                      duplicates=batch.new.duplicates, dead=Counter(), latencies_ms=[])

    def land_dead_letters(self, values: list[bytes]) -> None:
        rows = dead_letter_rows(values)
        self.store.land_dead_letters(rows)
        if self.metrics is not None and rows:
            self.metrics.record_batch(messages=0, landed=0, duplicates=0,
                                      dead=Counter(row["reason"] for row in rows), latencies_ms=[])


def dead_letter_rows(values: list[bytes]) -> list[dict]:
    """The rows of dead-letters topic messages; a message aispm did not write is logged and skipped."""
    rows = []
    for value in values:
        try:
            rows.append(dead_letter_of_message(value))
        except (ValueError, TypeError, KeyError, AttributeError) as error:  # not ours: skipped, not retried
            log.error("skipping a dead-letters message aispm did not write: %s", error)
    return rows


def dead_letter_of_message(value: bytes) -> dict:
    """The dead-letter row a dead-letters topic message holds (``ingest.dead_letter_message`` reversed);
    raises ``ValueError`` (or ``TypeError``) unless it holds every field of the row, each of its kind."""
    row = orjson.loads(value)
    if not isinstance(row, dict):
        raise TypeError("a dead-letters message holds an object")
    if "raw" in row:
        row["raw"] = row["raw"].encode("utf-8")
    else:
        row["raw"] = base64.b64decode(row.pop("raw_base64"))
    row.setdefault("produced_at", row.get("received_at"))  # written by a worker from before the field
    # Checked here, where it can cost this message alone: the agent that reads it alerts on it and lands
    # it, and retries a step that raises until it succeeds, which a wrong row never would.
    return _DEAD_LETTER.validate_python(row)


_DEAD_LETTER = TypeAdapter(DeadLetterRow)

"""Offline mode: the stream's normalization and detections over files, without Kafka or ClickHouse.

For triage, tests and backfill: the same pure functions the worker runs, with dicts for state.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl

from streams.detect.identity import IdentityStage
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from streams.normalize import Failure, normalize_message
from streams.normalize.base import RecordMeta
from streams.normalize.batch import check_events
from streams.normalize.dead_letters import RawMessage, dead_letter_row
from streams.normalize.files import (
    DEFAULT_MAX_FILE_BYTES,
    UnreadableFile,
    file_topic,
    open_bytes,
    split_records,
    written_ms,
)
from streams.normalize.redact import Redactor, default_redactor


@dataclass
class OfflineResult:
    alerts: dict[str, dict] = field(default_factory=dict)
    """Latest OCSF alert per alert id (its count is final for the files read)."""
    events: int = 0
    dead_letters: int = 0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    findings: int = 0
    rule_errors: list[str] = field(default_factory=list)

    def alerts_in_order(self) -> list[dict]:
        """The alerts, oldest first (by their first finding's time)."""
        return sorted(self.alerts.values(), key=lambda alert: alert["finding_info"]["first_seen_time"])

    def summary(self) -> dict:
        return {"events": self.events, "dead_letters": self.dead_letters,
                "dead_letter_reasons": self.dead_letter_reasons, "findings": self.findings,
                "alerts": len(self.alerts), "rule_errors": self.rule_errors[:20]}


@dataclass
class NormalizedBatch:
    events: list[dict]
    """Normalized and enriched events, in file order."""
    dead_letters: list[dict]
    """Rows of the records that failed (``schemas.dead_letter``), as a backfill of the files makes them."""


def normalized_batches(family: str, paths: Iterable[Path], detectors: Detectors, *, batch_size: int = 2000,
                       redactor: Redactor | None = None,
                       max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Iterator[NormalizedBatch]:
    """The files' records normalized and enriched as the stream does it, ``batch_size`` events at a time;
    a file that cannot be read is one dead letter."""
    events: list[dict] = []
    dead: list[dict] = []
    redactor = redactor or default_redactor()
    for path in paths:
        topic, written, received = file_topic(path), written_ms(path), int(time.time() * 1000)
        try:
            values = split_records(open_bytes(path, max_file_bytes))
        except UnreadableFile as error:
            dead.append(dead_letter_row(RawMessage(family, topic, 0, 0, b"", written),
                                        Failure(error.reason, error.detail, error.raw), 0, received, 0, redactor))
            continue
        for index, value in enumerate(values):
            normalized = normalize_message(family, value, RecordMeta(str(path), -1, index), redactor=redactor)
            message = RawMessage(family, topic, 0, index, value, written)
            # The raw record is not kept offline (a cap of 0): the alerts read where it was and why.
            dead.extend(dead_letter_row(message, failure, position, received, 0, redactor)
                        for position, failure in enumerate(normalized.failures))
            events.extend(normalized.events)
            if len(events) >= batch_size:
                detectors.enrich(events)
                yield NormalizedBatch(events, dead)
                events, dead = [], []
    if events or dead:
        detectors.enrich(events)
        yield NormalizedBatch(events, dead)


def normalized_frame(family: str, paths: Iterable[Path], detectors: Detectors, *,
                     redactor: Redactor | None = None) -> tuple[pl.DataFrame, int]:
    """Every event of the files as one checked frame, and how many records became dead letters."""
    frames, dead_letters = [], 0
    for batch in normalized_batches(family, paths, detectors, redactor=redactor):
        checked = check_events(batch.events)
        dead_letters += len(batch.dead_letters) + len(checked.rejected)
        frames.append(checked.frame)
    return (pl.concat(frames) if frames else check_events([]).frame), dead_letters


def detect_files(family: str, paths: Iterable[Path], detectors: Detectors, *, window_ms: int,
                 batch_size: int = 2000, redactor: Redactor | None = None,
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> OfflineResult:
    """``redactor`` fingerprints the credentials it redacts: pass the installation's so fingerprints
    (and the alerts keyed on them) match the worker's; without one they hold within this process only."""
    result = OfflineResult()

    def collect(messages: list[tuple[bytes, bytes]]) -> None:
        for _key, value in messages:
            alert = orjson.loads(value)
            result.alerts[alert["finding_info"]["uid"]] = alert

    # The stream's own detection stage, with its store in memory: the same findings, alerts and counts.
    store = MemoryDetectionStore()
    stage = DetectionStage(detectors=detectors, store=store, send_alerts=collect, window_ms=window_ms,
                           identity=IdentityStage(store=store))  # as the worker's (DetectionStage.configured)
    for batch in normalized_batches(family, paths, detectors, batch_size=batch_size, redactor=redactor,
                                    max_file_bytes=max_file_bytes):
        result.events += len(batch.events)
        for row in batch.dead_letters:
            result.dead_letters += 1
            result.dead_letter_reasons[row["reason"]] = result.dead_letter_reasons.get(row["reason"], 0) + 1
        preparing = [stage.prepare_events(batch.events)] if batch.events else []
        for prepared in preparing + [stage.prepare_dead_letters(batch.dead_letters)]:
            stage.commit(prepared)
            result.findings += prepared.findings
            result.rule_errors.extend(prepared.errors)
    return result

"""Offline mode: the stream's normalization and detections over files, without Kafka or ClickHouse.

For triage, tests and backfill: the same pure functions the worker runs, with dicts for state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from streams.normalize import normalize_message
from streams.normalize.base import RecordMeta
from streams.normalize.files import open_bytes, split_records
from streams.normalize.redact import Redactor


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


def detect_files(family: str, paths: Iterable[Path], detectors: Detectors, *, window_ms: int,
                 batch_size: int = 2000, redactor: Redactor | None = None) -> OfflineResult:
    """``redactor`` fingerprints the credentials it redacts: pass the installation's so fingerprints
    (and the alerts keyed on them) match the worker's; without one they hold within this process only."""
    result = OfflineResult()

    def collect(messages: list[tuple[bytes, bytes]]) -> None:
        for _key, value in messages:
            alert = orjson.loads(value)
            result.alerts[alert["finding_info"]["uid"]] = alert

    # The stream's own detection stage, with its store in memory: the same findings, alerts and counts.
    stage = DetectionStage(detectors=detectors, store=MemoryDetectionStore(), send_alerts=collect,
                           window_ms=window_ms)
    batch: list[dict] = []

    def flush() -> None:
        detectors.enrich(batch)
        prepared = stage.prepare_events(batch)
        stage.commit(prepared)
        result.findings += prepared.findings
        result.rule_errors.extend(prepared.errors)
        batch.clear()

    for path in paths:
        for index, value in enumerate(split_records(open_bytes(path))):
            normalized = normalize_message(family, value, RecordMeta(str(path), -1, index), redactor=redactor)
            result.events += len(normalized.events)
            for failure in normalized.failures:
                result.dead_letters += 1
                result.dead_letter_reasons[failure.reason] = result.dead_letter_reasons.get(failure.reason, 0) + 1
            batch.extend(normalized.events)
            if len(batch) >= batch_size:
                flush()
    if batch:
        flush()
    return result

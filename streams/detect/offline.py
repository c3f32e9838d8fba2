"""Offline mode: the stream's normalization and detections over files, without Kafka or ClickHouse.

For triage, tests and backfill: the same pure functions the worker runs, with dicts for state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from streams.detect.alerts import MemoryLedger
from streams.detect.pipeline import Detectors
from streams.normalize import normalize_message
from streams.normalize.base import RecordMeta
from streams.normalize.files import open_bytes, split_records


@dataclass
class OfflineResult:
    alerts: dict[str, dict] = field(default_factory=dict)
    """Latest OCSF alert per alert id (its count is final for the files read)."""
    events: int = 0
    dead_letters: int = 0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    findings: int = 0
    rule_errors: list[str] = field(default_factory=list)


def detect_files(family: str, paths: Iterable[Path], detectors: Detectors, *, window_ms: int,
                 batch_size: int = 2000) -> OfflineResult:
    result = OfflineResult()
    ledger = MemoryLedger()
    rule_state: dict[str, dict] = {}
    batch: list[dict] = []

    def flush() -> None:
        detectors.enrich(batch)
        detection = detectors.detect(batch, rule_state)
        result.findings += len(detection.findings)
        result.rule_errors.extend(f"{e.rule_id} on {e.event_id}: {e.error}" for e in detection.rule_errors)
        alerts = detectors.alerts(detection.findings, ledger, window_ms)
        for alert in alerts.ocsf:
            result.alerts[alert["finding_info"]["uid"]] = alert
        batch.clear()

    for path in paths:
        for index, value in enumerate(split_records(open_bytes(path))):
            normalized = normalize_message(family, value, RecordMeta(str(path), -1, index))
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

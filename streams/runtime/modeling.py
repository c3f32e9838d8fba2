"""Anomaly-model steps that `aispm model` and the scheduler's retraining share: events to train or
evaluate on (log files, or stored history), and a new version fitted and packed with its lineage."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from streams.settings import AnomalySettings

if TYPE_CHECKING:
    from models.registry import ModelVersion
    from models.scoring import AnomalyModel
    from streams.runtime.store import Store

__all__ = ["file_events", "load_version", "read_labels", "stored_events", "train_version"]


def file_events(family: str, files: tuple[Path, ...] | list[Path]) -> tuple[pl.DataFrame, int]:
    """The events of log files, normalized and enriched as the stream does, and how many records of the
    files did not normalize (dead letters, left out)."""
    from streams.detect.offline import normalized_frame
    from streams.detect.pipeline import Detectors
    from streams.enrich.policy import Policy

    discovery = Policy.discovery()
    return normalized_frame(family, files, Detectors.default(lambda: discovery))


def read_labels(path: Path) -> set[str]:
    """Labelled event ids, one per line (CloudTrail eventID or the normalized event_id)."""
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def stored_events(store: Store, since: datetime, until: datetime) -> tuple[pl.DataFrame, str]:
    """The stored events of [since, until) and how a model's lineage names them."""
    events = store.events_frame(int(since.timestamp() * 1000), int(until.timestamp() * 1000))
    return events, f"clickhouse events {since.isoformat()} .. {until.isoformat()}"


def train_version(events: pl.DataFrame, anomaly: AnomalySettings, *, trained_from: str,
                  trained_by: str) -> ModelVersion:
    """A new model version fitted on ``events``, packed with its lineage (not stored yet). Raises
    ValueError when there are too few windows to train on."""
    from models.training import train

    run = train(events, window_ms=anomaly.window_s * 1000, alerts_per_1000=anomaly.alerts_per_1000,
                history_items=anomaly.history_items)
    return run.version(trained_from=trained_from, trained_by=trained_by)


def load_version(store: Store, version: str) -> AnomalyModel | None:
    """The stored model ``version``, checked as the worker checks it (digests, trusted types); None when
    there is no such version. Raises ``models.registry.ModelRefused`` when it must not be used."""
    from models.registry import unpack

    stored = store.model_version(version)
    return None if stored is None else unpack(stored)

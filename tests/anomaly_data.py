"""The demo company's CloudTrail as event frames, and a model trained on its benign days: what the
anomaly tests share."""

from __future__ import annotations

from functools import cache

import polars as pl

from models.training import TrainingRun, train
from streams.demo import generate_history, generate_labelled
from streams.demo.simulation import DemoRecord
from streams.detect.pipeline import Detectors
from streams.enrich.policy import Policy
from streams.normalize import normalize_message
from streams.normalize.base import RecordMeta
from streams.normalize.batch import check_events

WINDOW = 600_000


def cloudtrail_frame(records: list[DemoRecord]) -> tuple[pl.DataFrame, dict[str, str]]:
    """The CloudTrail records normalized and enriched (a checked events frame), and each event's label."""
    discovery = Policy.discovery()
    detectors = Detectors.default(lambda: discovery)
    events, labels = [], {}
    for position, record in enumerate(records):
        if record.family != "cloudtrail":
            continue
        for normalized in normalize_message("cloudtrail", record.value, RecordMeta("demo", 0, position)).events:
            events.append(normalized)
            labels[normalized["event_id"]] = record.label
    detectors.enrich(events)
    return check_events(events).frame, labels


@cache
def trained_on_history(days: int = 7) -> TrainingRun:
    history, _ = cloudtrail_frame(generate_history(7, days=days))
    return train(history, window_ms=WINDOW, alerts_per_1000=10, history_items=500)


@cache
def demo_day() -> tuple[pl.DataFrame, dict[str, str]]:
    return cloudtrail_frame(generate_labelled(7))

"""An anomaly model trained on the demo company's benign history, for `aispm demo` and `make bench`."""

from __future__ import annotations

from typing import Any

HISTORY_DAYS = 7


def train_demo_model(store: Any, settings: Any, *, seed: int = 7, days: int = HISTORY_DAYS,
                     trained_by: str = "aispm demo") -> str:
    """Fit on ``days`` benign days of demo traffic (every family), record it in the registry, promote it."""
    from models.training import train
    from streams.demo.generator import generate_history
    from streams.detect.pipeline import Detectors
    from streams.normalize import normalize_message
    from streams.normalize.batch import check_events

    events = [event for record in generate_history(seed, days)
              for event in normalize_message(record.family, record.value).events]
    Detectors.default().enrich(events)
    frame = check_events(events).frame
    run = train(frame, window_ms=settings.anomaly.window_s * 1000, alerts_per_1000=settings.anomaly.alerts_per_1000,
                history_items=settings.anomaly.history_items)
    stored = run.version(trained_from=f"demo history: {days} benign days, seed {seed}", trained_by=trained_by)
    store.land_model_version(stored)
    store.promote_model(stored.version, by=trained_by, reason="trained on the demo history")
    return stored.version

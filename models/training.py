"""Training a model version from events, and evaluating one against labelled events.

Both take a frame of normalized events (from files, or from ClickHouse history) in any order; the
features code orders by window itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import orjson
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

from models.features import bounded, history_of, window_events, window_features
from models.registry import ModelVersion, pack
from models.scoring import AnomalyModel, fit, score

__all__ = ["Evaluation", "TrainingRun", "evaluate", "train"]


@dataclass
class TrainingRun:
    model: AnomalyModel
    windows: pl.DataFrame
    """The training windows, scored by the model just fitted."""
    events: pl.DataFrame
    """The events it was trained on."""
    alerts_per_1000: float

    def version(self, *, trained_from: str, trained_by: str) -> ModelVersion:
        """The registry row of this run: the packed model with its lineage."""
        times = self.events["time"]
        if times.dtype != pl.Int64:
            times = times.dt.epoch("ms")
        return pack(self.model, trained_from=trained_from, trained_by=trained_by,
                    train_since=datetime.fromtimestamp(times.min() / 1000, UTC),
                    train_until=datetime.fromtimestamp(times.max() / 1000, UTC), events=self.events.height,
                    windows_by_population=self.windows_by_population(),
                    metrics=orjson.dumps(self.metrics()).decode(), alerts_per_1000=self.alerts_per_1000)

    def windows_by_population(self) -> dict[str, int]:
        return dict(self.windows.group_by("population").len().sort("population").iter_rows())

    def metrics(self) -> dict:
        scored = self.windows.filter(pl.col("score").is_not_null())
        return {
            "training_windows": self.windows.height,
            "scored_windows": scored.height,
            "unscored_populations": sorted(set(self.windows["population"]) - set(self.model.forests)),
            "training_alerts_per_1000": round(1000 * scored["anomalous"].mean(), 2) if scored.height else None,
            "score_p50": _quantile(scored, 0.5),
            "score_p99": _quantile(scored, 0.99),
        }


def _quantile(frame: pl.DataFrame, q: float) -> float | None:
    return round(float(frame["score"].quantile(q)), 4) if frame.height else None


def train(events: pl.DataFrame, *, window_ms: int, alerts_per_1000: float, history_items: int,
          seed_history: pl.DataFrame | None = None, random_state: int = 0) -> TrainingRun:
    windows = window_features(events, window_ms, seed_history)
    history = bounded(history_of(events, window_ms, seed_history), history_items)
    model = fit(windows, window_ms=window_ms, alerts_per_1000=alerts_per_1000, history=history,
                random_state=random_state)
    if not model.forests:
        raise ValueError(f"too few windows to train on: {dict(windows.group_by('population').len().iter_rows())}; "
                         "every population needs at least 50 (more history, or a shorter window)")
    return TrainingRun(model, score(model, windows), events, alerts_per_1000)


@dataclass
class Evaluation:
    windows: pl.DataFrame
    """Every window of the evaluated events, scored, with ``positive``."""
    model: AnomalyModel

    def summary(self) -> dict:
        scored = self.windows.filter(pl.col("score").is_not_null())
        truth = scored["positive"].to_numpy()
        scores = scored["score"].to_numpy()
        flagged = scored["anomalous"].to_numpy()
        both = 0 < truth.sum() < len(truth)
        true_positives = int((flagged & truth).sum())
        return {
            "windows": scored.height,
            "positives": int(truth.sum()),
            "unscored_windows": self.windows.height - scored.height,
            "roc_auc": round(float(roc_auc_score(truth, scores)), 4) if both else None,
            "average_precision": round(float(average_precision_score(truth, scores)), 4) if both else None,
            "precision": round(float(true_positives / flagged.sum()), 4) if flagged.sum() else None,
            "recall": round(float(true_positives / truth.sum()), 4) if truth.sum() else None,
            "threshold": round(self.model.threshold, 4),
            "model_version": self.model.version,
            "flagged": int(flagged.sum()),
            "highest_negative_score": round(float(np.max(scores[~truth])), 4) if (~truth).any() else None,
            "lowest_positive_score": round(float(np.min(scores[truth])), 4) if truth.any() else None,
        }


def evaluate(model: AnomalyModel, events: pl.DataFrame, labelled_event_ids: set[str]) -> Evaluation:
    """Score the events' windows against the model's baseline; a window is positive when it holds a
    labelled event."""
    windows = score(model, window_features(events, model.window_ms, model.history))
    labelled = (window_events(events, model.window_ms)
                .filter(pl.col("event_id").is_in(list(labelled_event_ids)))
                .select("actor", "family", "window_start").unique().with_columns(pl.lit(True).alias("positive")))
    windows = (windows.join(labelled, on=["actor", "family", "window_start"], how="left")
               .with_columns(pl.col("positive").fill_null(False)))
    return Evaluation(windows, model)

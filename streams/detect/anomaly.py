"""Anomalous access in the stream: per-principal tumbling windows, closed by event time, scored in batches.

The detection stage hands every decoded events batch to ``AnomalyStage.observe``. Open windows are held
compacted (``models.features.compact``: equal behaviour folds into one row, so memory grows with
distinct behaviour, not with events). Redeliveries come from two places, and both count once: after a
restart Faust delivers again what it had not acknowledged, which is among the stored events the stage
reloads (their keys are kept until those windows close); a batch retried after a failure repeats the
last batch (whose keys are kept until the next). Each source family keeps its own event-time watermark, because
each family's logs arrive on their own schedule (a CloudTrail export lags the proxy logs by minutes): a
family's window closes when the newest event time of that family (capped at the wall clock plus five
minutes: a forged future timestamp cannot close windows early) passes its end by
``AnomalySettings.lateness_s``; an event for a window already closed is counted as late and left out.

Closed windows are scored with the promoted model (``aispm model promote``; checked again every
``reload_s``, a model that fails to load is refused and the last good one kept; with none, windows are
still kept and no anomaly alerts are raised), the outliers explained and turned into findings for the
stage's alert path, and the principals' history updated.

History starts, on a store that has none, as the promoted model's training baseline (what the model
learned normal from), and grows with every closed window.

Restarts: the stage persists, after the batch's alerts were recorded, the closed windows
(``access_windows``, replaced by key) and then, in one insert, the changed history with the edge it
covers (``principal_history``). The detection agent also calls ``observe`` on a timer, so windows that fall due
while no batch arrives (the end of a replay, a quiet source) close too. On load it reads that history and refills the open windows from the
stored events after the edge. A crash before the history insert closes the same windows again on
restart: the same rows, the same alert ids, nothing counted twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import polars as pl

from models.features import (
    COMPACT_COLUMNS,
    FEATURE_VERSION,
    HISTORY_SCHEMA,
    bounded,
    compact,
    empty_history,
    features_of,
    history_of_rows,
    prepared,
)
from schemas.finding import Finding

if TYPE_CHECKING:
    from models.registry import ModelVersion
    from models.scoring import AnomalyModel
    from streams.settings import AnomalySettings

__all__ = ["DETECTION", "AnomalyStage", "AnomalyStore", "ClosedWindows"]

log = logging.getLogger(__name__)

DETECTION = "anomalous_access"
FUTURE_TOLERANCE_MS = 300_000
_MAX_PARTS = 32


class AnomalyStore(Protocol):
    def promoted_model_version(self) -> str | None: ...
    def model_version(self, version: str) -> ModelVersion | None: ...
    def load_principal_history(self) -> tuple[pl.DataFrame, dict[str, int]]: ...
    def events_frame(self, since_ms: int, until_ms: int) -> pl.DataFrame: ...
    def land_access_windows(self, windows: pl.DataFrame) -> None: ...
    def save_principal_history(self, changes: pl.DataFrame, evicted: pl.DataFrame,
                               closed_until: dict[str, int]) -> None: ...


@dataclass
class ClosedWindows:
    """What one batch closed: scored windows, the findings of the outliers, the history change."""

    windows: pl.DataFrame
    findings: list[Finding]
    changes: pl.DataFrame
    evicted: pl.DataFrame
    closed_until: dict[str, int]
    """Per source family: windows starting before this are closed."""
    saved: bool = False


@dataclass
class AnomalyMetrics:
    windows_closed: int = 0
    windows_scored: int = 0
    anomalies: int = 0
    late_events: int = 0
    redelivered_events: int = 0
    open_rows: int = 0
    model_version: str = ""
    model_error: str = ""
    def snapshot(self) -> dict:
        return dict(vars(self))


class AnomalyStage:
    def __init__(self, *, store: AnomalyStore, settings: AnomalySettings,
                 wall_clock_ms: Callable[[], float] = lambda: time.time() * 1000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.window_ms = settings.window_s * 1000
        self.lateness_ms = settings.lateness_s * 1000
        self.history_items = settings.history_items
        self.reload_s = settings.reload_s
        self.close_every_s = settings.close_every_s
        self._closed_at: float | None = None
        self._wall_clock_ms = wall_clock_ms
        self._monotonic = monotonic
        self.metrics = AnomalyMetrics()
        self.model: AnomalyModel | None = None
        self.history = empty_history()
        self.closed_until: dict[str, int] = {}
        self.watermarks: dict[str, int] = {}
        self._parts: list[pl.DataFrame] = []
        """The open windows' rows, one compacted frame per batch (compacted together when closing)."""
        self._reloaded = np.empty(0, dtype=np.uint64)
        """Sorted keys of the events reloaded at start: what a redelivery after a restart repeats."""
        self._last_batch = np.empty(0, dtype=np.uint64)
        """Sorted keys of the last batch: what a retried batch repeats."""
        self._checked_at: float | None = None
        self._history_unsaved = False
        """The whole history must be saved with the next closed windows (it was seeded, not grown)."""
        self._said_no_model = False

    # -- lifecycle ------------------------------------------------------------------------------------
    def load(self) -> None:
        """The history as last saved, the open windows from the stored events after it, the promoted model."""
        self.history, self.closed_until = self.store.load_principal_history()
        if self.closed_until:
            stored = self.store.events_frame(min(self.closed_until.values()), 2**62)
            if stored.height:
                self._add(stored)
                self._reloaded, self._last_batch = self._last_batch, np.empty(0, dtype=np.uint64)
        self.refresh_model(force=True)
        log.info("anomaly stage loaded: %d history items, windows closed until %s, %d open rows, model %s",
                 self.history.height, self.closed_until, self.metrics.open_rows, self.metrics.model_version or "none")

    def refresh_model(self, *, force: bool = False) -> None:
        """Load the promoted model if it changed (at most every ``reload_s``); keep the last good one."""
        now = self._monotonic()
        if not force and self._checked_at is not None and now - self._checked_at < self.reload_s:
            return
        self._checked_at = now
        try:
            version = self.store.promoted_model_version()
        except Exception as error:  # noqa: BLE001 -- the store is down: keep scoring with what we have
            log.warning("could not check the promoted anomaly model: %s", error)
            return
        if version is None or (self.model is not None and version == self.model.version):
            if version is None and not self._said_no_model:
                log.warning("no anomaly model promoted yet: windows are kept, no anomaly alerts are raised "
                            "(`aispm model train ... --promote`)")
                self._said_no_model = True
            return
        if version == self.metrics.model_error.partition(":")[0]:
            return  # refused already; say it once
        # Only now: loading a model takes scikit-learn and skops, ~2 s of imports a store without one
        # (a first backfill, a new installation) need not wait for.
        from models.registry import ModelRefused, unpack

        try:
            stored = self.store.model_version(version)
            if stored is None:
                return
            self.model = unpack(stored)
            self.metrics.model_version, self.metrics.model_error = version, ""
            log.info("anomaly model %s loaded", version)
            if self.history.height == 0 and self.model.history.height:
                # Cold start: the baseline the model was trained with is where the stream's history begins.
                self.history = self.model.history
                self._history_unsaved = True
                log.info("principal history seeded from the model's baseline: %d items", self.history.height)
        except ModelRefused as error:
            self.metrics.model_error = f"{version}: {error}"
            log.error("anomaly model refused, keeping %s: %s", self.metrics.model_version or "none", error)
        except Exception as error:  # noqa: BLE001 -- the store is down: keep scoring with what we have
            log.warning("could not check the promoted anomaly model: %s", error)

    # -- per batch ------------------------------------------------------------------------------------
    def observe(self, events: pl.DataFrame | None) -> ClosedWindows | None:
        """Add a batch of events (or none: a timer's call); close and score the windows event time passed."""
        self.refresh_model()
        cap = int(self._wall_clock_ms()) + FUTURE_TOLERANCE_MS
        for family, newest in (self._add(events) if events is not None else {}).items():
            self.watermarks[family] = max(self.watermarks.get(family, newest), min(newest, cap))
        edges = {family: (mark - self.lateness_ms) // self.window_ms * self.window_ms
                 for family, mark in self.watermarks.items()}
        edges = {family: edge for family, edge in edges.items() if edge > self.closed_until.get(family, -1)}
        if not self._parts or not edges:
            return None
        now = self._monotonic()
        if self._closed_at is not None and now - self._closed_at < self.close_every_s:
            return None  # due windows wait for the next close (they would cost a close each)
        self._closed_at = now
        rows = compact(pl.concat(self._parts)) if len(self._parts) > 1 else self._parts[0]
        self._parts = [rows]
        closing = rows.filter(pl.col("window_start") < _per_family(edges))
        if closing.height == 0:
            return None
        return self._close(closing, edges)

    def commit(self, closed: ClosedWindows) -> None:
        """Persist what ``observe`` closed (after the batch's alerts were recorded). Safe to repeat."""
        if closed.saved:
            return
        if closed.windows.height:
            self.store.land_access_windows(closed.windows)
        self.store.save_principal_history(closed.changes, closed.evicted, closed.closed_until)
        closed.saved = True

    # -- inside ---------------------------------------------------------------------------------------
    def _add(self, events: pl.DataFrame) -> dict[str, int]:
        """Add the events' rows; returns the newest event time per family among them."""
        rows = prepared(events, self.window_ms)
        if rows.height == 0:
            return {}
        rows = rows.with_columns(pl.col("event_id").hash().alias("key")).unique("key", keep="first")
        if self.closed_until:
            on_time = pl.col("window_start") >= _per_family(self.closed_until)
            self.metrics.late_events += rows.height - rows.filter(on_time).height
            rows = rows.filter(on_time)
        keys = rows["key"].to_numpy()
        repeated = _among(keys, self._reloaded) | _among(keys, self._last_batch)
        self._last_batch = np.sort(keys)
        fresh = rows.filter(pl.Series(~repeated)) if repeated.any() else rows
        self.metrics.redelivered_events += rows.height - fresh.height
        if fresh.height:
            self._parts.append(compact(fresh.select(COMPACT_COLUMNS)))
            if len(self._parts) > _MAX_PARTS:
                self._parts = [compact(pl.concat(self._parts))]
            self.metrics.open_rows = sum(part.height for part in self._parts)
        return dict(rows.group_by("family").agg(pl.col("last").max()).iter_rows())

    def _close(self, closing: pl.DataFrame, edges: dict[str, int]) -> ClosedWindows:
        # Only the closing windows' principals' history takes part: the cost of a close follows them.
        actors = closing["actor"].unique()
        own = self.history.join(pl.DataFrame({"scope": actors}), on="scope", how="semi")
        windows = features_of(closing, self.window_ms, own)
        explain = None
        if self.model is not None:
            from models.scoring import explain, score  # scikit-learn: only with a model to score with

            windows = score(self.model, windows)
        else:
            windows = windows.with_columns(pl.lit(None, pl.Float64).alias("raw_score"),
                                           pl.lit(None, pl.Float64).alias("score"),
                                           pl.lit(False).alias("anomalous"), pl.lit("").alias("model_version"))
        outliers = windows.filter(pl.col("anomalous"))
        explanations = explain(self.model, outliers) if explain is not None and outliers.height else []
        by_window = {(item["actor"], item["family"], item["window_start"]): item for item in explanations}
        windows = windows.with_columns(
            pl.struct("actor", "family", "window_start").map_elements(
                lambda key: by_window.get((key["actor"], key["family"], key["window_start"]), {}).get("summary", ""),
                return_dtype=pl.String).alias("explanation"),
            pl.lit(FEATURE_VERSION).alias("feature_version"))
        findings = [self._finding(window, by_window[(window["actor"], window["family"], window["window_start"])])
                    for window in outliers.to_dicts()]
        grown = bounded(history_of_rows(closing, own), self.history_items)
        others = self.history.join(pl.DataFrame({"scope": actors}), on="scope", how="anti")
        new_history = pl.concat([others, grown])
        changes = new_history if self._history_unsaved else grown
        evicted = own.join(grown, on=["scope", "kind", "item"], how="anti")
        self._history_unsaved = False
        # Applied in memory now (like the rules' state); persisted by commit, retried until it is.
        self.history = new_history
        self.closed_until = {**self.closed_until, **edges}
        still_open = pl.col("window_start") >= _per_family(self.closed_until)
        self._parts = [part.filter(still_open) for part in self._parts]
        self.metrics.open_rows = sum(part.height for part in self._parts)
        self.metrics.windows_closed += windows.height
        self.metrics.windows_scored += windows.filter(pl.col("score").is_not_null()).height
        self.metrics.anomalies += len(findings)
        return ClosedWindows(windows, findings, changes.select(list(HISTORY_SCHEMA)),
                             evicted.select(list(HISTORY_SCHEMA)), dict(self.closed_until))

    def _finding(self, window: dict, explained: dict) -> Finding:
        model = self.model
        assert model is not None
        margin = window["score"] - model.threshold
        severity = "high" if margin >= 2 else "medium"
        # One synthetic event per window: the alert's count is the number of unusual windows behind it.
        event = {"event_id": f"window|{window['actor']}|{window['family']}|{window['window_start']}",
                 "time": window["last_event"], "actor": window["actor"], "source_family": window["family"],
                 "source_format": "access_window"}
        return Finding(
            detection=DETECTION,
            title=f"Unusual activity by {window['actor']}",
            severity=severity,
            principal=window["actor"],
            event=event,
            description=explained["summary"] or "This principal's window stands out from its history.",
            remediation="Confirm the activity with the identity's owner; if it was not them, revoke its sessions "
                        "and keys and review what it accessed in the window.",
            context={"score": round(window["score"], 3), "threshold": round(model.threshold, 3),
                     "model_version": model.version, "population": window["population"],
                     "source_family": window["family"],
                     "window_start": window["window_start"], "window_end": window["window_end"],
                     "events": int(window["events"]), "drivers": explained["drivers"], "novel": explained["novel"],
                     "known_principal": window["known_principal"]},
            techniques=("T1078",),
        )


def _among(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Which of ``keys`` are in ``sorted_keys`` (vectorized)."""
    if sorted_keys.size == 0:
        return np.zeros(keys.size, dtype=bool)
    at = np.searchsorted(sorted_keys, keys).clip(max=sorted_keys.size - 1)
    return sorted_keys[at] == keys


def _per_family(edges: dict[str, int]) -> pl.Expr:
    """Each row's family's edge (rows of a family without one: no edge)."""
    return pl.col("family").replace_strict(edges, default=-(2**62), return_dtype=pl.Int64)

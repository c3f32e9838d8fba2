"""The scheduled jobs: retraining the anomaly model, compacting the rollups, retention.

Each takes the store, the settings and the slot it runs for, and returns an ``Outcome``; an exception
is recorded as a failed run by the scheduler (streams/scheduler/runner.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson

from streams.runtime.store import Store
from streams.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["JOBS", "ROLLUP_TABLES", "Outcome", "promotion", "retention", "retrain", "rollups"]

ROLLUP_TABLES = ("ai_inventory", "ai_usage_1m")
"""Filled by materialized views on every insert into events (sql/ddl/0006, 0007): nothing to recompute,
but each insert adds a part that reads have to aggregate with the others until merged."""

TRAINED_BY = "aispm scheduler (retrain)"


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: Literal["ok", "skipped"]
    detail: dict[str, Any] = field(default_factory=dict)


Job = Callable[[Store, Settings, datetime], Outcome]


def promotion(metric: str, candidate: dict | None, current: dict | None,
              current_version: str | None) -> tuple[bool, str]:
    """Whether a new version replaces the promoted one, and why: when it scores at least as high on
    ``metric`` (of ``aispm model evaluate``'s summary) over the same evaluation data."""
    if candidate is None:
        return False, ("no evaluation data: set AISPM_SCHEDULER__EVALUATION_FILES and "
                       "AISPM_SCHEDULER__EVALUATION_LABELS to let retraining promote")
    score = candidate.get(metric)
    if score is None:
        return False, f"{metric} is undefined on the evaluation data (it needs labelled and unlabelled windows)"
    if current_version is None:
        return True, f"no version was promoted; {metric} {score}"
    held = None if current is None else current.get(metric)
    if held is None:
        return True, f"{metric} {score}; the promoted {current_version} has none on the evaluation data"
    if score >= held:
        return True, f"{metric} {score} >= {held} of the promoted {current_version}"
    return False, f"{metric} {score} < {held} of the promoted {current_version}"


def retrain(store: Store, settings: Settings, slot: datetime) -> Outcome:
    """Fit a version on the history before ``slot``, evaluate it and the promoted one on the evaluation
    files, and promote it only when it is at least as good. Its evaluation and the decision are kept in
    the version's metrics (`aispm model show`) and in the run's detail."""
    from models.registry import ModelRefused
    from models.training import evaluate
    from streams.runtime.modeling import file_events, load_version, read_labels, stored_events, train_version

    config = settings.scheduler
    since = slot - timedelta(days=config.retrain_history_days)
    events, trained_from = stored_events(store, since, slot)
    if events.height == 0:
        return Outcome("skipped", {"reason": f"no stored events from {since.isoformat()} to {slot.isoformat()}"})
    try:
        candidate = train_version(events, settings.anomaly, trained_from=trained_from, trained_by=TRAINED_BY)
    except ValueError as error:  # too few windows
        return Outcome("skipped", {"reason": str(error), "events": events.height})
    detail: dict[str, Any] = {"version": candidate.version, "events": events.height}
    current_version = store.promoted_model_version()
    candidate_summary = current_summary = None
    if config.evaluation_files and config.evaluation_labels is not None:
        evaluation_events, _ = file_events(config.evaluation_source, config.evaluation_files)
        labels = read_labels(config.evaluation_labels)
        candidate_summary = _summary(evaluate(_unpacked(candidate), evaluation_events, labels))
        if current_version is not None:
            try:
                current = load_version(store, current_version)
            except ModelRefused as refused:
                detail["promoted_refused"] = str(refused)
                current = None
            if current is not None:
                current_summary = _summary(evaluate(current, evaluation_events, labels))
            else:
                current_version = None  # a promoted version that does not load is no bar to pass
    promote, reason = promotion(config.promotion_metric, candidate_summary, current_summary, current_version)
    detail.update(promoted=promote, reason=reason, evaluation=candidate_summary, promoted_version=current_version,
                  promoted_evaluation=current_summary)
    metrics = orjson.loads(candidate.metrics or "{}")
    metrics["evaluation"] = candidate_summary
    metrics["promotion"] = {"promoted": promote, "reason": reason, "against": current_version}
    candidate.metrics = orjson.dumps(metrics).decode()
    store.land_model_version(candidate)
    if promote:
        store.promote_model(candidate.version, by=TRAINED_BY, reason=reason)
    log.info("retrained %s: %s (%s)", candidate.version, "promoted" if promote else "kept", reason)
    return Outcome("ok", detail)


def _unpacked(version: Any) -> Any:
    # The candidate is judged as the worker would load it: from its packed artifact.
    from models.registry import unpack

    return unpack(version)


def _summary(evaluation: Any) -> dict:
    summary = evaluation.summary()
    return {key: summary[key] for key in ("windows", "positives", "roc_auc", "average_precision", "precision",
                                          "recall", "threshold")}


def rollups(store: Store, settings: Settings, slot: datetime) -> Outcome:
    """Merge the inventory and usage rollups' partitions that hold more than one part (OPTIMIZE FINAL):
    the materialized views keep them current; this keeps reading them cheap."""
    compacted = {table: store.compact(table) for table in ROLLUP_TABLES}
    return Outcome("ok", {"partitions_compacted": compacted})


def retention(store: Store, settings: Settings, slot: datetime) -> Outcome:
    """Delete events, dead letters, alerts and alert events ingested more than
    ``AISPM_CLICKHOUSE__TTL_DAYS`` before the slot. The tables' TTL drops them too, but only when a merge
    happens to touch their parts; this makes the retention promised a fact each day."""
    days = settings.clickhouse.ttl_days
    cutoff = slot - timedelta(days=days)
    deleted = {table: store.delete_before(table, column, cutoff) for table, column in store.retention_tables()}
    return Outcome("ok", {"cutoff": cutoff.isoformat(), "days": days, "deleted": deleted})


JOBS: dict[str, Job] = {"retrain": retrain, "rollups": rollups, "retention": retention}
"""Every scheduled job by name, in the order due ones run (``SchedulerSettings.intervals`` has each's slot)."""

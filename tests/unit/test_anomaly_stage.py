"""The worker's anomaly stage against the real engine (chDB): windows closed by event time, scored with the
promoted model, explained alerts; its history and open windows survive a restart; redelivered events
count once; a refused model leaves the last good one scoring."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import polars as pl
import pytest

from models.registry import pack
from streams.detect.anomaly import DETECTION, AnomalyStage
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from streams.runtime.store import Store
from streams.settings import AnomalySettings
from tests.anomaly_data import demo_day, trained_on_history
from tests.conftest import fresh_database_settings

SETTINGS = AnomalySettings(lateness_s=0, close_every_s=0)
FAR_FUTURE_MS = 4_000_000_000_000.0  # the wall clock the stage caps event time with; not in the way here


def _promote(store: Store) -> str:
    moment = datetime(2026, 11, 20, tzinfo=UTC)
    run = trained_on_history(7)
    stored = pack(run.model, trained_from="test", train_since=moment, train_until=moment, events=1,
                  windows_by_population=run.windows_by_population(), metrics="{}", trained_by="test",
                  alerts_per_1000=10)
    store.land_model_version(stored)
    store.promote_model(stored.version, by="test", reason="")
    return stored.version


@pytest.fixture
def store(chdb_data_dir):
    opened = Store(fresh_database_settings(chdb_data_dir))
    opened.migrate()
    try:
        yield opened
    finally:
        opened.close()


def _stage(store: Store) -> AnomalyStage:
    stage = AnomalyStage(store=store, settings=SETTINGS, wall_clock_ms=lambda: FAR_FUTURE_MS)
    stage.load()
    return stage


def _batches(frame: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    ordered = frame.sort("time")
    return [ordered.slice(start, size) for start in range(0, ordered.height, size)]


def _run(stage: AnomalyStage, batches: list[pl.DataFrame]) -> list:
    findings = []
    for batch in batches:
        closed = stage.observe(batch)
        if closed is not None:
            stage.commit(closed)
            findings.extend(closed.findings)
    return findings


def _stored_windows(store: Store) -> pl.DataFrame:
    _columns, rows = store.query(
        "SELECT actor, toUnixTimestamp64Milli(window_start), events, score, anomalous, explanation "
        "FROM access_windows FINAL ORDER BY window_start, actor")
    return pl.DataFrame(rows, schema=["actor", "window_start", "events", "score", "anomalous", "explanation"],
                        orient="row")


def test_closed_windows_are_scored_explained_and_land(store: Store) -> None:
    version = _promote(store)
    events, labels = demo_day()
    store.land_events([dict(row) for row in events.with_columns(pl.col("time").dt.epoch("ms")).to_dicts()])
    stage = _stage(store)
    findings = _run(stage, _batches(events, 400))
    assert stage.metrics.model_version == version
    stored = _stored_windows(store)
    assert stored.height == stage.metrics.windows_closed > 300
    # Every window but the last one of the day was closed, scored and landed.
    assert stored["score"].null_count() == 0
    flagged = stored.filter(pl.col("anomalous"))
    assert flagged.height == len(findings) >= 8
    assert (flagged["explanation"].str.len_chars() > 0).all()
    assert {finding.detection for finding in findings} == {DETECTION}
    jacking = [f for f in findings if f.principal.endswith(":user/svc-legacy-reporting")]
    assert jacking and "new network 203.0.113.0/24" in jacking[0].description
    assert jacking[0].context["drivers"] and jacking[0].context["model_version"] == version
    # The alert path takes them like any finding: one alert per principal and hour, counted by window.
    detection = DetectionStage(detectors=_no_rules(), store=MemoryDetectionStore(), send_alerts=lambda _: None,
                               window_ms=3_600_000)
    detection.anomaly = _Closing(_closed(findings))
    plan = detection.prepare_events([]).plan
    assert {finding.detection for finding in plan.latest.values()} == {DETECTION}
    assert len(plan.latest) < len(findings) or len(plan.latest) == len({f.principal for f in findings})
    del labels


class _Closing:
    """An anomaly stage that closes the given windows."""

    def __init__(self, closed) -> None:
        self.closed = closed

    def observe(self, _events):
        return self.closed


def _no_rules():
    from streams.detect.pipeline import Detectors

    return Detectors.default()


def _closed(findings):
    from streams.detect.anomaly import ClosedWindows

    empty = pl.DataFrame()
    return ClosedWindows(empty, findings, empty, empty, 0)


def test_a_restart_resumes_history_and_open_windows_and_redelivery_counts_once(store: Store, chdb_data_dir) -> None:
    _promote(store)
    events, _ = demo_day()
    store.land_events([dict(row) for row in events.with_columns(pl.col("time").dt.epoch("ms")).to_dicts()])
    batches = _batches(events, 300)
    half = len(batches) // 2

    first = _stage(store)
    before = _run(first, batches[:half])
    open_rows = first.metrics.open_rows
    assert open_rows > 0  # a window was open when it "died"
    # A new stage on the same store: the history and the open window come back; the batch in flight is
    # redelivered (its events are already in the open window) and then the rest follows.
    second = _stage(store)
    assert second.closed_until == first.closed_until
    assert second.history.sort("scope", "kind", "item").equals(first.history.sort("scope", "kind", "item"))
    after = _run(second, batches[half - 1:])
    assert second.metrics.redelivered_events >= batches[half - 1].height
    resumed = _stored_windows(store)

    # The same day in one pass, on a fresh database.
    other = Store(fresh_database_settings(chdb_data_dir))
    other.migrate()
    try:
        _promote(other)
        once = _run(_stage(other), batches)
        single = _stored_windows(other)
    finally:
        other.close()
    assert resumed.select("actor", "window_start", "events", "score").equals(
        single.select("actor", "window_start", "events", "score"))
    assert sorted(f.event["event_id"] for f in before + after) == sorted(f.event["event_id"] for f in once)


def test_without_a_model_windows_are_kept_and_nothing_alerts(store: Store) -> None:
    events, _ = demo_day()
    stage = _stage(store)
    assert stage.model is None
    findings = _run(stage, _batches(events, 500))
    assert findings == [] and stage.metrics.windows_closed > 300 and stage.metrics.windows_scored == 0
    assert _stored_windows(store)["score"].null_count() == stage.metrics.windows_closed


def test_a_refused_model_leaves_the_last_good_one_scoring(store: Store) -> None:
    good = _promote(store)
    stage = _stage(store)
    stored = store.model_version(good)
    altered = bytearray(stored.artifact)
    altered[-10] ^= 0xFF
    store.land_model_version(dataclasses.replace(stored, version="tampered", artifact=bytes(altered)))
    store.promote_model("tampered", by="attacker", reason="")
    stage.refresh_model(force=True)
    assert stage.model is not None and stage.model.version == good
    assert stage.metrics.model_version == good and "SHA-256" in stage.metrics.model_error


def test_a_forged_future_timestamp_does_not_close_windows_early(store: Store) -> None:
    events, _ = demo_day()
    ordered = events.sort("time")
    now_ms = ordered["time"].dt.epoch("ms").max() + 1
    stage = AnomalyStage(store=store, settings=SETTINGS, wall_clock_ms=lambda: float(now_ms))
    stage.load()
    stage.observe(ordered.head(50))
    forged = ordered.slice(50, 1).with_columns(pl.lit(datetime(2030, 1, 1, tzinfo=UTC)).cast(pl.Datetime("ms"))
                                               .alias("time"))
    closed = stage.observe(forged)
    # The forged event is capped at the wall clock plus five minutes: only windows before that close.
    assert closed is None or max(closed.closed_until.values()) <= now_ms + 300_000


def test_windows_due_while_the_stream_catches_up_close_together(store: Store, chdb_data_dir) -> None:
    events, _ = demo_day()
    clock = [0.0]
    batched = AnomalyStage(store=store, settings=AnomalySettings(lateness_s=0, close_every_s=5),
                           wall_clock_ms=lambda: FAR_FUTURE_MS, monotonic=lambda: clock[0])
    batched.load()
    closes, together = 0, []
    for batch in _batches(events, 300):
        closed = batched.observe(batch)
        if closed is not None:
            closes += 1
            together.append(closed.windows)
        clock[0] += 1.0  # a batch a second: at most one close every five
    assert 1 <= closes <= len(_batches(events, 300)) // 5 + 1
    # The same windows, with the same features, as closing at every batch gives.
    one_by_one = AnomalyStage(store=store, settings=SETTINGS, wall_clock_ms=lambda: FAR_FUTURE_MS)
    each = [closed.windows for batch in _batches(events, 300) if (closed := one_by_one.observe(batch)) is not None]
    columns = ["actor", "family", "window_start", "events", "new_actions", "rare_network_share", "volume_ratio"]
    grouped = pl.concat(together).select(columns).sort(columns[:3])
    single = pl.concat(each).select(columns).sort(columns[:3]).join(grouped.select(columns[:3]), on=columns[:3])
    assert grouped.height > 50 and grouped.equals(single)


def test_the_anomaly_timeline_saved_query_shows_a_principals_windows(store: Store) -> None:
    from streams.runtime.queries import load_saved_query

    _promote(store)
    events, _ = demo_day()
    _run(_stage(store), _batches(events, 400))
    query = load_saved_query("anomaly_timeline")
    columns, rows = store.query(query.sql, query.bind({
        "principal": "arn:aws:iam::493817264053:user/svc-legacy-reporting",
        "since": "2026-11-20 00:00:00", "until": "2026-11-21 00:00:00"}))
    timeline = [dict(zip(columns, row, strict=True)) for row in rows]
    assert timeline and [row["window_start"] for row in timeline] == sorted(row["window_start"] for row in timeline)
    flagged = [row for row in timeline if row["anomalous"]]
    assert flagged and all(row["explanation"] for row in flagged)

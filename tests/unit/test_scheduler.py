"""The scheduler: when jobs are due (pure), runs recorded in the real engine (chDB) so a restart neither
repeats nor skips a slot, the jobs themselves (retention, rollups, retraining with its promotion rule),
apscheduler's clock, and `aispm scheduler jobs|run`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.runtime.store import Store
from streams.scheduler import JOBS, Scheduler
from streams.scheduler.jobs import promotion, retention, retrain, rollups
from streams.scheduler.slots import Due, due, next_run
from tests.conftest import fresh_database_settings

HOUR = 3600
T0 = datetime(2026, 11, 20, 10, 30, tzinfo=UTC).timestamp()  # half past ten


# -- slots (pure) --------------------------------------------------------------------------------------

def test_a_job_that_never_ran_is_due_for_the_current_slot() -> None:
    assert due(HOUR, None, T0) == Due(T0 - 30 * 60, 0)
    assert next_run(HOUR, None, T0) == T0 - 30 * 60


def test_a_finished_slot_is_not_due_again_and_the_next_slot_is() -> None:
    ten = T0 - 30 * 60
    assert due(HOUR, ten, T0) is None
    assert due(HOUR, ten, T0 + 29 * 60) is None
    assert next_run(HOUR, ten, T0) == ten + HOUR
    assert due(HOUR, ten, ten + HOUR) == Due(ten + HOUR, 0)


def test_slots_missed_while_down_are_coalesced_into_one_run() -> None:
    ten = T0 - 30 * 60
    assert due(HOUR, ten, ten + 3 * HOUR + 60) == Due(ten + 3 * HOUR, 2)
    assert next_run(HOUR, ten, ten + 3 * HOUR + 60) == ten + 3 * HOUR


def test_daily_slots_start_at_midnight_utc() -> None:
    assert due(86400, None, T0).slot_s == datetime(2026, 11, 20, tzinfo=UTC).timestamp()


# -- promotion (pure) ----------------------------------------------------------------------------------

def test_promotion_needs_at_least_as_good_on_the_evaluation_data() -> None:
    metric = "average_precision"
    assert promotion(metric, {metric: 0.9}, {metric: 0.8}, "v1")[0] is True
    assert promotion(metric, {metric: 0.8}, {metric: 0.8}, "v1")[0] is True
    kept, reason = promotion(metric, {metric: 0.7}, {metric: 0.8}, "v1")
    assert kept is False and "0.7 < 0.8" in reason and "v1" in reason
    assert promotion(metric, {metric: 0.5}, None, None) == (True, "no version was promoted; average_precision 0.5")
    no_data, why = promotion(metric, None, None, None)
    assert no_data is False and "AISPM_SCHEDULER__EVALUATION_FILES" in why
    undefined, why = promotion(metric, {metric: None}, {metric: 0.8}, "v1")
    assert undefined is False and "undefined" in why
    assert promotion("recall", {"recall": 0.6, metric: 0.1}, {"recall": 0.5, metric: 0.9}, "v1")[0] is True


# -- runs in the store ---------------------------------------------------------------------------------

@pytest.fixture
def settings(chdb_data_dir):
    return fresh_database_settings(chdb_data_dir, scheduler={"rollup_interval_s": HOUR, "retention_interval_s": HOUR})


@pytest.fixture
def store(settings):
    opened = Store(settings)
    opened.migrate()
    yield opened
    opened.close()


CHEAP_JOBS = {name: JOBS[name] for name in ("rollups", "retention")}


def recorded(store: Store) -> list[tuple]:
    """(job, slot, outcome, missed) of every ended run."""
    rows = store.client.query(
        "SELECT job, toUnixTimestamp64Milli(scheduled_for) / 1000, outcome, missed FROM scheduler_runs "
        "WHERE outcome != 'running' ORDER BY job, scheduled_for, recorded_at").result_rows
    return [(job, float(slot), outcome, missed) for job, slot, outcome, missed in rows]


def test_a_restart_neither_repeats_a_finished_slot_nor_skips_one_that_came_due(store, settings) -> None:
    ten = T0 - 30 * 60
    first = Scheduler(store, settings, jobs=CHEAP_JOBS)
    assert [run["job"] for run in first.run_due(T0)] == ["rollups", "retention"]
    assert first.run_due(T0 + 60) == []

    restarted = Scheduler(store, settings, jobs=CHEAP_JOBS)  # a new process over the same store
    assert restarted.mark_interrupted() == []
    assert restarted.run_due(T0 + 20 * 60) == []  # 10:50: the 10:00 slot finished before the restart
    # Down from 10:50 to 13:15: the 11:00, 12:00 and 13:00 slots came due; one run for 13:00 covers them.
    after_outage = Scheduler(store, settings, jobs=CHEAP_JOBS)
    runs = after_outage.run_due(ten + 3 * HOUR + 15 * 60)
    assert [(run["job"], run["missed"], run["outcome"]) for run in runs] == [("rollups", 2, "ok"), ("retention", 2, "ok")]
    assert after_outage.run_due(ten + 3 * HOUR + 20 * 60) == []
    assert recorded(store) == [("retention", ten, "ok", 0), ("retention", ten + 3 * HOUR, "ok", 2),
                               ("rollups", ten, "ok", 0), ("rollups", ten + 3 * HOUR, "ok", 2)]
    states = after_outage.states()
    assert states["rollups"].next_run_s(ten + 3 * HOUR + 20 * 60) == ten + 4 * HOUR
    listed = states["retention"].listing(ten + 3 * HOUR + 20 * 60)
    assert listed["outcome"] == "ok" and listed["missed"] == 2 and listed["detail"]["deleted"]["events"] == 0
    assert listed["next_run"] == datetime.fromtimestamp(ten + 4 * HOUR, UTC).isoformat()


def test_a_run_its_process_died_in_is_marked_interrupted_and_runs_again(store, settings) -> None:
    def dies(_store, _settings, _slot):
        raise KeyboardInterrupt  # not caught by the runner: like the process ending mid-run

    dying = Scheduler(store, settings, jobs={"rollups": dies})
    with pytest.raises(KeyboardInterrupt):
        dying.run_due(T0)
    assert dying.states()["rollups"].last["outcome"] == "running"

    restarted = Scheduler(store, settings, jobs=CHEAP_JOBS)
    assert restarted.mark_interrupted() == ["rollups"]
    assert restarted.states()["rollups"].last["outcome"] == "interrupted"
    assert [run["job"] for run in restarted.run_due(T0 + 60)] == ["rollups", "retention"]
    assert [(job, outcome) for job, _, outcome, _ in recorded(store)] == [
        ("retention", "ok"), ("rollups", "interrupted"), ("rollups", "ok")]


def test_a_failed_run_is_recorded_with_its_error_and_not_retried_in_its_slot(store, settings) -> None:
    def broken(_store, _settings, _slot):
        raise RuntimeError("the store said no\nsecond line")

    runner = Scheduler(store, settings, jobs={"rollups": broken})
    [run] = runner.run_due(T0)
    assert run["outcome"] == "failed" and run["detail"] == {"error": "the store said no"}
    assert runner.run_due(T0 + 60) == []
    assert runner.states()["rollups"].listing(T0)["detail"] == {"error": "the store said no"}


def test_the_clock_runs_due_jobs_at_start(store, settings) -> None:
    runner = Scheduler(store, settings, jobs=CHEAP_JOBS)
    runner.start(delay_s=0)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and {job for job, *_ in recorded(store)} != {"rollups", "retention"}:
            time.sleep(0.2)
        wakes = runner.wake_times()
    finally:
        runner.shutdown()
    assert sorted(job for job, *_ in recorded(store)) == ["retention", "rollups"]
    # After the catch-up, each job wakes at the start of its next slot, not an interval after the start.
    next_hour = datetime.fromtimestamp((time.time() // HOUR + 1) * HOUR, UTC)
    assert wakes == {"rollups": next_hour, "retention": next_hour}


# -- the jobs ------------------------------------------------------------------------------------------

def _insert_events(store: Store, rows: list[tuple[str, datetime, datetime, str]]) -> None:
    """Events (id, time, ingested_at, AI provider) with every other column at its default."""
    store.client.insert("events", [[event_id, at, ingested, provider, "alice"] for event_id, at, ingested, provider
                                   in rows], column_names=["event_id", "time", "ingested_at", "ai_provider", "actor"])


def test_retention_deletes_what_was_ingested_before_the_retention_days(store, settings) -> None:
    slot = datetime(2026, 11, 20, tzinfo=UTC)
    _insert_events(store, [("old", slot - timedelta(days=40), slot - timedelta(days=31), ""),
                           ("recent", slot - timedelta(days=40), slot - timedelta(days=29), "")])
    store.client.insert("dead_letters", [["dl-old", slot - timedelta(days=31)], ["dl-new", slot - timedelta(days=1)]],
                        column_names=["dead_letter_id", "received_at"])
    settings.clickhouse.ttl_days = 30
    outcome = retention(store, settings, slot)
    assert outcome.detail["deleted"]["events"] == 1 and outcome.detail["deleted"]["dead_letters"] == 1
    assert store.client.query("SELECT event_id FROM events").result_rows == [("recent",)]
    assert store.client.query("SELECT dead_letter_id FROM dead_letters").result_rows == [("dl-new",)]
    assert retention(store, settings, slot).detail["deleted"]["events"] == 0


def test_rollups_leave_one_part_per_partition_and_the_same_sums(store, settings) -> None:
    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    for batch in range(3):  # three inserts: three parts in the rollups' partition
        _insert_events(store, [(f"e{batch}", at, at, "openai")])
    parts = "SELECT count() FROM system.parts WHERE database = {db:String} AND table = {t:String} AND active"
    sums = "SELECT sum(calls) FROM ai_usage_1m"
    before = store.client.query(sums).result_rows
    outcome = rollups(store, settings, at)
    assert set(outcome.detail["partitions_compacted"]) == {"ai_inventory", "ai_usage_1m"}
    for table in ("ai_inventory", "ai_usage_1m"):
        assert store.client.query(parts, parameters={"db": store.database, "t": table}).result_rows == [(1,)]
    assert store.client.query(sums).result_rows == before == [(3,)]
    assert store.client.query("SELECT calls FROM ai_inventory").result_rows == [(3,)]


@pytest.fixture(scope="module")
def demo_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from streams.demo.export import write_demo_files

    folder = tmp_path_factory.mktemp("demo-files")
    write_demo_files(folder, history_days=1)
    return folder / "day"


def _store_history(store: Store) -> datetime:
    from streams.demo import generate_history
    from streams.detect.pipeline import Detectors
    from streams.normalize import normalize_message

    events = [event for record in generate_history(7, days=2)
              for event in normalize_message(record.family, record.value).events]
    Detectors.default().enrich(events)
    store.land_events(events)
    return datetime.fromtimestamp(max(event["time"] for event in events) / 1000, UTC) + timedelta(hours=1)


def test_retraining_promotes_only_what_the_evaluation_data_shows_at_least_as_good(store, settings, demo_day) -> None:
    from streams.demo.export import LABELS_FILE

    slot = _store_history(store)
    settings.scheduler.retrain_history_days = 30
    # No evaluation data: the new version is kept, not promoted, and says why.
    kept = retrain(store, settings, slot)
    assert kept.outcome == "ok" and kept.detail["promoted"] is False
    assert "AISPM_SCHEDULER__EVALUATION_FILES" in kept.detail["reason"]
    assert store.promoted_model_version() is None
    metrics = orjson.loads(store.model_version(kept.detail["version"]).metrics)
    assert metrics["promotion"]["promoted"] is False and metrics["training_windows"] > 0

    settings.scheduler.evaluation_files = [demo_day / "cloudtrail.log"]
    settings.scheduler.evaluation_labels = demo_day / LABELS_FILE
    first = retrain(store, settings, slot)
    assert first.detail["promoted"] is True and first.detail["reason"].startswith("no version was promoted")
    assert first.detail["evaluation"]["positives"] > 0 and first.detail["evaluation"]["average_precision"] > 0.5
    assert store.promoted_model_version() == first.detail["version"]
    # The same history again: as good as the promoted version, so promoted (at least as good).
    second = retrain(store, settings, slot)
    assert second.detail["promoted_version"] == first.detail["version"]
    assert second.detail["evaluation"]["average_precision"] == first.detail["evaluation"]["average_precision"]
    assert second.detail["promoted"] is True and ">=" in second.detail["reason"]
    assert store.promoted_model_version() == second.detail["version"]


def test_retraining_without_history_is_skipped_with_the_reason(store, settings) -> None:
    outcome = retrain(store, settings, datetime(2026, 11, 20, tzinfo=UTC))
    assert outcome.outcome == "skipped" and "no stored events" in outcome.detail["reason"]


# -- the CLI -------------------------------------------------------------------------------------------

def test_scheduler_run_then_jobs_lists_last_and_next_runs(settings) -> None:
    env = {"AISPM_DATA_DIR": str(settings.data_dir), "AISPM_CLICKHOUSE__DATABASE": settings.clickhouse.database}
    runner = CliRunner()
    ran = runner.invoke(main, ["scheduler", "run", "rollups"], env=env)
    assert ran.exit_code == 0, ran.output
    assert orjson.loads(ran.stdout)["outcome"] == "ok"
    assert runner.invoke(main, ["scheduler", "run", "nope"], env=env).exit_code == 2

    listed = runner.invoke(main, ["scheduler", "jobs", "--format", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    jobs = {item["job"]: item for item in orjson.loads(listed.stdout)}
    assert set(jobs) == {"retrain", "rollups", "retention"}
    assert jobs["rollups"]["outcome"] == "ok" and jobs["rollups"]["trigger"] == "manual"
    assert jobs["rollups"]["next_run"] > jobs["rollups"]["last_slot"]
    assert jobs["retrain"]["outcome"] is None and jobs["retrain"]["last_slot"] is None
    table = runner.invoke(main, ["scheduler", "jobs"], env={**env, "COLUMNS": "200"})
    assert table.exit_code == 0 and "never" in table.stdout and "compacted" in table.stdout

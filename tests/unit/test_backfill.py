"""`aispm backfill` against the real engine (chDB): CloudTrail's S3 layout pruned by date, digests checked,
every event landed once, a second run adds nothing, an interrupted run resumes, alerts marked backfill."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from streams.backfill.digest import verify_digests
from streams.backfill.files import discover
from streams.backfill.run import run_backfill
from streams.cli import main
from streams.demo import generate, generate_history
from streams.demo.export import write_cloudtrail_export
from streams.detect.offline import detect_files
from streams.detect.pipeline import Detectors
from streams.runtime.store import Store
from tests.conftest import fresh_database_settings

# Three benign days and the incident day, as CloudTrail delivers them.
VALUES = [record.value for record in generate_history(7, days=3) if record.family == "cloudtrail"] + generate(7)["cloudtrail"]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "bucket"
    write_cloudtrail_export(folder, VALUES, per_file=200)
    return folder


@pytest.fixture
def store_and_settings(chdb_data_dir):
    settings = fresh_database_settings(chdb_data_dir, ingest={"normalize_processes": 0})
    store = Store(settings)
    store.migrate()
    try:
        yield store, settings
    finally:
        store.close()


def _distinct_events() -> int:
    """What the stream makes of the same records, one at a time: its distinct events."""
    from streams.normalize import normalize_message

    return len({event["event_id"] for value in VALUES for event in normalize_message("cloudtrail", value).events})


def test_discovery_prunes_day_folders_outside_the_range(export: Path) -> None:
    everything = discover([export])
    days = sorted({log.day for log in everything.logs})
    assert days == [date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
    assert everything.digests and all(log.account == "493817264053" for log in everything.logs)
    recent = discover([export], since=date(2026, 11, 19), until=date(2026, 11, 19))
    assert {log.day for log in recent.logs} == {date(2026, 11, 19)} and recent.days_pruned > 0


def test_digests_report_altered_missing_and_extra_files(export: Path) -> None:
    found = discover([export])
    assert verify_digests(found.digests, found.logs).clean
    altered, removed = found.logs[0].path, found.logs[1].path
    records = orjson.loads(gzip.decompress(altered.read_bytes()))
    records["Records"][0]["sourceIPAddress"] = "203.0.113.66"  # someone edits history
    altered.write_bytes(gzip.compress(orjson.dumps(records)))
    removed.unlink()
    extra = found.logs[2].path.with_name("493817264053_CloudTrail_us-east-1_20261117T0000Z_9999.json.gz")
    extra.write_bytes(gzip.compress(b'{"Records": []}'))
    report = verify_digests(*_digests_and_logs(export))
    assert report.altered == [str(altered)]
    assert len(report.missing) == 1 and report.missing[0].endswith(removed.name)
    assert report.extra == [str(extra)]
    assert not report.clean


def _digests_and_logs(folder: Path):
    found = discover([folder])
    return found.digests, found.logs


def test_every_event_lands_once_and_a_second_run_adds_nothing(export: Path, store_and_settings) -> None:
    store, settings = store_and_settings
    first = run_backfill(settings, store, "cloudtrail", [export])
    assert first.files == first.files_done > 10 and first.files_skipped == 0
    assert first.events_landed == _distinct_events() == store.scalar("SELECT count() FROM events")
    assert first.digests is not None and first.digests.clean
    again = run_backfill(settings, store, "cloudtrail", [export])
    assert again.files_skipped == again.files and again.events == 0 and again.events_landed == 0
    # Without the checkpoint (a lost table, a changed file) nothing is added either: events go by id.
    store.client.command("TRUNCATE TABLE backfill_files")
    reread = run_backfill(settings, store, "cloudtrail", [export])
    assert reread.events == first.events and reread.events_landed == 0 and reread.duplicates == first.events
    assert store.scalar("SELECT count() FROM events") == first.events_landed


def test_an_interrupted_run_resumes_with_the_first_unfinished_file(export: Path, store_and_settings) -> None:
    store, settings = store_and_settings

    class Interrupted(Exception):
        pass

    done_when_stopped = []

    def stop_at_the_first_landing(report, log) -> None:
        if log is not None and report.files_done:
            done_when_stopped.append(report.files_done)
            raise Interrupted

    with pytest.raises(Interrupted):
        run_backfill(settings, store, "cloudtrail", [export], on_progress=stop_at_the_first_landing, land_events=500)
    (stopped_after,) = done_when_stopped
    assert 0 < stopped_after < discover([export]).logs.__len__()
    resumed = run_backfill(settings, store, "cloudtrail", [export], land_events=500)
    assert resumed.files_skipped == stopped_after and resumed.files_done == resumed.files - stopped_after
    assert store.scalar("SELECT count() FROM events") == _distinct_events()
    assert store.scalar("SELECT uniqExact(event_id) FROM events") == _distinct_events()


def test_alerts_are_the_streams_marked_backfill_and_counted_once(export: Path, store_and_settings) -> None:
    store, settings = store_and_settings
    run_backfill(settings, store, "cloudtrail", [export])
    run_backfill(settings, store, "cloudtrail", [export])  # a second run moves no count
    _, rows = store.query("SELECT alert_id, count, ocsf FROM alerts FINAL ORDER BY alert_id")
    assert rows
    for _alert_id, _count, ocsf in rows:
        assert "backfill" in orjson.loads(ocsf)["metadata"]["labels"]
    # The same files offline (the stream's code, state in memory): the same alerts, the same counts.
    offline = detect_files("cloudtrail", [log.path for log in discover([export]).logs], Detectors.default(),
                           window_ms=settings.detection.alert_window_s * 1000)
    assert {(alert_id, count) for alert_id, count, _ in rows} == {
        (alert["finding_info"]["uid"], alert["count"]) for alert in offline.alerts.values()}


def test_anomaly_windows_are_closed_scored_and_landed_like_the_streams(export: Path, store_and_settings) -> None:
    from streams.demo.model import train_demo_model

    store, settings = store_and_settings
    train_demo_model(store, settings, trained_by="test")
    report = run_backfill(settings, store, "cloudtrail", [export])
    windows = store.scalar("SELECT count() FROM access_windows FINAL")
    # Four days of 10-minute windows per principal: hundreds close; those of the last minutes stay open.
    assert windows > 300
    assert store.scalar("SELECT countIf(score IS NULL) FROM access_windows FINAL") == 0  # every one scored
    # The demo's stolen long-term key (bedrock_llmjacking) is found in history as the stream finds it live.
    _, rows = store.query("SELECT ocsf FROM alerts FINAL WHERE detection = 'anomalous_access'")
    principals = {orjson.loads(ocsf)["unmapped"]["principal"] for (ocsf,) in rows}
    assert "arn:aws:iam::493817264053:user/svc-legacy-reporting" in principals, principals
    assert all("backfill" in orjson.loads(ocsf)["metadata"]["labels"] for (ocsf,) in rows)
    assert report.alerts >= len(rows)
    # A second run closes nothing twice.
    run_backfill(settings, store, "cloudtrail", [export])
    assert store.scalar("SELECT count() FROM access_windows FINAL") == windows


def test_since_and_until_keep_only_the_events_of_the_range(export: Path, store_and_settings) -> None:
    store, settings = store_and_settings
    since = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    report = run_backfill(settings, store, "cloudtrail", [export], since=since)
    assert report.outside_time_range > 0 and report.events_landed > 0
    assert store.scalar("SELECT min(time) >= toDateTime64('2026-11-20 08:30:00', 3, 'UTC') FROM events") == 1
    assert store.scalar("SELECT count() FROM backfill_files") == report.files_done


def test_cli_backfills_with_the_normalizing_processes_and_exits_3_on_tampering(export: Path, chdb_data_dir) -> None:
    settings = fresh_database_settings(chdb_data_dir)
    env = {"AISPM_DATA_DIR": str(chdb_data_dir), "AISPM_CLICKHOUSE__DATABASE": settings.clickhouse.database,
           "AISPM_INGEST__NORMALIZE_PROCESSES": "2"}
    result = CliRunner().invoke(main, ["backfill", "--source", "cloudtrail", str(export)], env=env)
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert summary["events_landed"] == _distinct_events() and summary["digests"]["valid"] == summary["files"]
    tampered = discover([export]).logs[-1].path
    tampered.write_bytes(gzip.compress(b'{"Records": []}'))
    again = CliRunner().invoke(main, ["backfill", "--source", "cloudtrail", str(export)], env=env)
    assert again.exit_code == 3, again.output
    assert orjson.loads(again.stdout)["digests"]["altered_files"] == [str(tampered)]


def _damage(export: Path) -> tuple[Path, Path]:
    """Two log files of ``export`` made unreadable: one cut short (an upload that stopped), one not gzip."""
    truncated, garbage = discover([export]).logs[:2]
    truncated.path.write_bytes(truncated.path.read_bytes()[:100])
    garbage.path.write_bytes(b"\x1f\x8b not gzip at all")
    return truncated.path, garbage.path


@pytest.mark.parametrize("processes", [0, 2])
def test_an_unreadable_file_becomes_a_dead_letter_and_the_rest_lands(export: Path, chdb_data_dir,
                                                                    processes: int) -> None:
    truncated, garbage = _damage(export)
    settings = fresh_database_settings(chdb_data_dir, ingest={"normalize_processes": processes})
    store = Store(settings)
    store.migrate()
    try:
        report = run_backfill(settings, store, "cloudtrail", [export])
        assert report.files_done == report.files
        assert report.digests is not None and sorted(report.digests.altered) == sorted(map(str, (truncated, garbage)))
        damaged = [f"file:{truncated}", f"file:{garbage}"]
        rows = store.client.query("SELECT kafka_topic, reason, detail FROM dead_letters WHERE kafka_topic IN {damaged:Array(String)}",
                                  parameters={"damaged": damaged}).result_rows
        assert sorted((topic, reason) for topic, reason, _ in rows) == sorted((topic, "unreadable_file") for topic in damaged)
        assert all("gzip" in detail for _, _, detail in rows)
        assert report.dead_letters == store.scalar("SELECT count() FROM dead_letters")
        assert 0 < report.events_landed == store.scalar("SELECT count() FROM events")

        def unreadable_alerts() -> list[tuple]:
            return store.client.query("SELECT title, count, ocsf FROM alerts FINAL "
                                      "WHERE detection = 'unreadable_log_records' "
                                      "AND endsWith(title, '(unreadable_file)')").result_rows

        # The files' records were judged by no detection: an alert says so, and does not page (history).
        [(title, count, ocsf)] = unreadable_alerts()
        assert (title, count) == ("cloudtrail log records could not be read (unreadable_file)", 2)
        assert orjson.loads(ocsf)["is_alert"] is False
        again = run_backfill(settings, store, "cloudtrail", [export])
        assert again.files_skipped == again.files and again.dead_letters == 0
        assert store.scalar("SELECT count() FROM dead_letters") == report.dead_letters
        assert [(title, count) for title, count, _ in unreadable_alerts()] == [(title, 2)]
    finally:
        store.close()


def test_a_file_larger_than_the_cap_once_decompressed_is_one_dead_letter(tmp_path: Path, store_and_settings) -> None:
    store, settings = store_and_settings
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b"\n" * (2 << 20) + b'{"eventID": "x"}'))  # 2 MiB in ~2 KB
    ingest = type(settings.ingest)(**(settings.ingest.model_dump() | {"max_file_bytes": 1 << 20}))
    report = run_backfill(settings.model_copy(update={"ingest": ingest}), store, "cloudtrail", [bomb])
    assert (report.records, report.dead_letters, report.events) == (1, 1, 0)
    reason, detail = store.client.query("SELECT reason, detail FROM dead_letters").result_rows[0]
    assert reason == "oversized" and str(1 << 20) in detail and "max_file_bytes" in detail


def _saved(store: Store, name: str, **values: str) -> list[dict]:
    from streams.runtime.queries import load_saved_query

    query = load_saved_query(name)
    columns, rows = store.query(query.sql, query.bind(values))
    return [dict(zip(columns, row, strict=True)) for row in rows]


def test_analysts_saved_queries_over_backfilled_history(export: Path, store_and_settings) -> None:
    store, settings = store_and_settings
    report = run_backfill(settings, store, "cloudtrail", [export])
    window = {"since": "2026-11-01 00:00:00", "until": "2026-12-01 00:00:00"}
    coverage = _saved(store, "backfill_coverage", **window)
    assert sum(row["events"] for row in coverage) == report.events_landed
    assert sorted({row["day"] for row in coverage}) == [date(2026, 11, day) for day in (17, 18, 19, 20)]
    jacked = "arn:aws:iam::493817264053:user/svc-legacy-reporting"
    bedrock = _saved(store, "bedrock_usage_by_model", **window)
    assert any(row["principal"] == jacked and row["invocations"] > 0 for row in bedrock)
    # No policy here (discovery mode): every AI use is unsanctioned, the leaked key's among it.
    unsanctioned = _saved(store, "unsanctioned_ai_by_principal", **window)
    assert jacked in {row["principal"] for row in unsanctioned}
    assert sum(row["calls"] for row in unsanctioned) == store.scalar(
        "SELECT count() FROM events FINAL WHERE ai_provider != '' AND ai_sanctioned = false")
    frameworks = _saved(store, "alerts_by_framework", since="2000-01-01 00:00:00")
    assert frameworks and {row["framework"] for row in frameworks} <= {
        "MITRE ATT&CK", "MITRE ATLAS", "OWASP LLM Top 10", "NIST AI RMF"}
    assert any(row["id"].startswith("T1") for row in frameworks)
    # Services new on the incident day are those no earlier day used.
    new_services = _saved(store, "ai_services_first_seen", since="2026-11-20 00:00:00")
    expected = store.query(
        "SELECT ai_provider, target_host FROM events FINAL WHERE ai_provider != '' GROUP BY ai_provider, target_host "
        "HAVING min(time) >= toDateTime64('2026-11-20 00:00:00', 3, 'UTC')")[1]
    assert {(row["provider"], row["host"]) for row in new_services} == {tuple(row) for row in expected}

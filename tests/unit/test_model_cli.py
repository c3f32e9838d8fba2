"""`aispm model`: train on files, list, show, evaluate, promote, against the real engine (chDB)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.demo.export import LABELS_FILE, write_demo_files
from streams.runtime.store import Store
from tests.conftest import fresh_database_settings


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-files")
    write_demo_files(folder, history_days=3)
    return folder


@pytest.fixture
def env(chdb_data_dir) -> dict[str, str]:
    settings = fresh_database_settings(chdb_data_dir)
    return {"AISPM_DATA_DIR": str(chdb_data_dir), "AISPM_CLICKHOUSE__DATABASE": settings.clickhouse.database}


def run(env: dict[str, str], *args: str):
    return CliRunner().invoke(main, ["model", *args], env=env)


def test_train_list_show_evaluate_promote(env, demo_files: Path) -> None:
    trained = run(env, "train", "--source", "cloudtrail", str(demo_files / "history" / "cloudtrail.log"), "--promote")
    assert trained.exit_code == 0, trained.output
    lineage = orjson.loads(trained.stdout)
    version = lineage["version"]
    assert lineage["promoted_at"] and lineage["windows_by_population"]["service"] >= 50
    assert len(lineage["artifact_sha256"]) == 64 and lineage["feature_version"] == "1"
    assert lineage["library_versions"]["scikit-learn"] and "history/cloudtrail.log" in lineage["trained_from"]

    listed = orjson.loads(run(env, "list", "--format", "json").stdout)
    assert [(item["version"], item["promoted"]) for item in listed] == [(version, True)]

    shown = orjson.loads(run(env, "show", version).stdout)
    assert shown["metrics"]["training_windows"] == sum(lineage["windows_by_population"].values())

    evaluated = run(env, "evaluate", "--source", "cloudtrail", "--labels", str(demo_files / "day" / LABELS_FILE),
                    str(demo_files / "day" / "cloudtrail.log"))
    assert evaluated.exit_code == 0, evaluated.output
    summary = orjson.loads(evaluated.stdout)
    assert summary["model_version"] == version and summary["positives"] > 0
    assert summary["roc_auc"] >= 0.9
    assert set(summary) >= {"windows", "positives", "roc_auc", "average_precision", "precision", "recall",
                            "threshold", "model_version"}

    # A second version, promoted by name.
    again = run(env, "train", "--source", "cloudtrail", str(demo_files / "history" / "cloudtrail.log"))
    second = orjson.loads(again.stdout)["version"]
    promoted = run(env, "promote", second, "--reason", "test")
    assert promoted.exit_code == 0 and second in promoted.output
    assert [item["version"] for item in orjson.loads(run(env, "list", "--format", "json").stdout)
            if item["promoted"]] == [second]


def test_a_tampered_version_is_refused_and_the_promoted_one_stays(env, demo_files: Path, chdb_data_dir) -> None:
    trained = run(env, "train", "--source", "cloudtrail", str(demo_files / "history" / "cloudtrail.log"), "--promote")
    good = orjson.loads(trained.stdout)["version"]
    settings = fresh_database_settings(chdb_data_dir)
    settings.clickhouse.database = env["AISPM_CLICKHOUSE__DATABASE"]
    store = Store(settings)
    try:
        stored = store.model_version(good)
        altered = bytearray(stored.artifact)
        altered[100] ^= 0xFF
        store.land_model_version(dataclasses.replace(stored, version="tampered", artifact=bytes(altered)))
    finally:
        store.close()
    refused = run(env, "promote", "tampered")
    assert refused.exit_code == 1 and "SHA-256" in refused.output
    evaluated = run(env, "evaluate", "--source", "cloudtrail", "--model", "tampered", "--labels",
                    str(demo_files / "day" / LABELS_FILE), str(demo_files / "day" / "cloudtrail.log"))
    assert evaluated.exit_code == 1 and "refused" in evaluated.output
    assert [item["version"] for item in orjson.loads(run(env, "list", "--format", "json").stdout)
            if item["promoted"]] == [good]


def test_usage_errors_say_what_to_give(env, demo_files: Path) -> None:
    assert run(env, "train").exit_code == 2
    assert run(env, "train", str(demo_files / "history" / "cloudtrail.log")).exit_code == 2
    none_promoted = run(env, "evaluate", "--source", "cloudtrail", "--labels", str(demo_files / "day" / LABELS_FILE),
                        str(demo_files / "day" / "cloudtrail.log"))
    assert none_promoted.exit_code == 1 and "no model is promoted" in none_promoted.output
    assert run(env, "show", "nope").exit_code == 2


def test_train_on_stored_history(env, chdb_data_dir) -> None:
    from streams.demo import generate_history
    from streams.detect.pipeline import Detectors
    from streams.normalize import normalize_message

    events = [event for record in generate_history(7, days=2)
              for event in normalize_message(record.family, record.value).events]
    Detectors.default().enrich(events)
    settings = fresh_database_settings(chdb_data_dir)
    settings.clickhouse.database = env["AISPM_CLICKHOUSE__DATABASE"]
    store = Store(settings)
    try:
        store.migrate()
        store.land_events(events)
    finally:
        store.close()
    trained = run(env, "train", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-21T00:00:00Z")
    assert trained.exit_code == 0, trained.output
    lineage = orjson.loads(trained.stdout)
    assert lineage["trained_from"].startswith("clickhouse events 2026-11-01")
    with_principal = sum(1 for event in events if event["actor"])
    assert lineage["events"] == with_principal
    # Every family with principals is in it: CloudTrail roles and people, audit-log users and workloads.
    assert set(lineage["windows_by_population"]) == {"human", "service"}
    nothing = run(env, "train", "--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z")
    assert nothing.exit_code == 1 and "no events" in nothing.output


def test_evaluate_on_stored_events(env, chdb_data_dir, demo_files: Path) -> None:
    from streams.detect.pipeline import Detectors
    from streams.normalize import normalize_message

    trained = run(env, "train", "--source", "cloudtrail", str(demo_files / "history" / "cloudtrail.log"), "--promote")
    assert trained.exit_code == 0, trained.output
    lines = (demo_files / "day" / "cloudtrail.log").read_bytes().splitlines()
    events = [event for line in lines for event in normalize_message("cloudtrail", line).events]
    Detectors.default().enrich(events)
    settings = fresh_database_settings(chdb_data_dir)
    settings.clickhouse.database = env["AISPM_CLICKHOUSE__DATABASE"]
    store = Store(settings)
    try:
        store.land_events(events)
    finally:
        store.close()
    from_store = run(env, "evaluate", "--since", "2026-11-20T00:00:00Z", "--until", "2026-11-21T00:00:00Z",
                     "--labels", str(demo_files / "day" / LABELS_FILE))
    from_files = run(env, "evaluate", "--source", "cloudtrail", "--labels", str(demo_files / "day" / LABELS_FILE),
                     str(demo_files / "day" / "cloudtrail.log"))
    assert from_store.exit_code == 0, from_store.output
    assert orjson.loads(from_store.stdout) == orjson.loads(from_files.stdout)
    assert run(env, "evaluate", "--labels", str(demo_files / "day" / LABELS_FILE)).exit_code == 2

"""`aispm query` through the CLI against the real engine (chDB): saved queries by name, SQL from a file
or stdin (a leading `--` comment included), formats, and what it says on a data dir with no store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.detect.alerts import MemoryLedger
from streams.detect.pipeline import Detectors
from streams.normalize import normalize_message
from streams.runtime.queries import saved_query_names
from streams.runtime.store import Store
from tests.conftest import fresh_database_settings, saved_query_parameters

LEAK = ('10.1.2.3 - dave [20/Nov/2026:08:00:00 +0000] "GET https://api.openai.com/v1/models?api_key='
        + "sk-proj-" + "Qw73" * 12 + ' HTTP/1.1" 200 512 "-" "curl/8.5"')
PLAIN = '10.1.2.4 - erin [20/Nov/2026:08:01:00 +0000] "GET https://example.org/ HTTP/1.1" 200 10 "-" "curl/8.5"'

@pytest.fixture(scope="module")
def store_env(chdb_data_dir) -> dict[str, str]:
    """A migrated store holding a few events and the alerts they raise; the environment that points
    `aispm query` at it."""
    settings = fresh_database_settings(chdb_data_dir)
    store = Store(settings)
    store.migrate()
    detectors = Detectors.default()
    events = [event for line in (LEAK, PLAIN) for event in normalize_message("gateway", line.encode()).events]
    detectors.enrich(events)
    store.land_events(events)
    findings = detectors.detect(events, {}).findings
    store.land_alerts(detectors.alerts(findings, MemoryLedger(), 3_600_000).rows)
    store.close()
    return {"AISPM_DATA_DIR": str(chdb_data_dir), "AISPM_CLICKHOUSE__DATABASE": settings.clickhouse.database}


def run(env: dict[str, str], *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["query", *args], env=env, input=stdin)


def parameters_for(name: str) -> list[str]:
    return [arg for parameter, value in saved_query_parameters(name).items() for arg in ("--param", f"{parameter}={value}")]


def test_list_names_every_saved_query_with_its_purpose_and_parameters() -> None:
    result = CliRunner().invoke(main, ["query", "--list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [item["name"] for item in listed] == saved_query_names()
    by_name = {item["name"]: item for item in listed}
    assert by_name["top_actors"]["parameters"] == {"since": "DateTime64(3)", "until": "DateTime64(3)",
                                                   "limit": "UInt32"}
    assert by_name["events_by_source"]["parameters"] == {}
    assert by_name["open_alerts"]["purpose"] == "Alerts with their latest count, newest activity first."


def test_list_as_a_table_fits_80_columns() -> None:
    result = CliRunner().invoke(main, ["query", "--list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    for name in saved_query_names():
        assert f"│ {name} " in result.stdout, f"{name} was folded or left out"


@pytest.mark.parametrize("name", saved_query_names())
def test_every_saved_query_runs_by_name(store_env, name: str) -> None:
    result = run(store_env, "--saved", name, *parameters_for(name), "--format", "json")
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), list)


def test_a_saved_query_returns_what_was_landed(store_env) -> None:
    alerts = json.loads(run(store_env, "--saved", "open_alerts", "--param", "since=2000-01-01 00:00:00",
                            "--format", "json").stdout)
    assert "ai_credential_exposure" in {alert["detection"] for alert in alerts}
    sources = json.loads(run(store_env, "--saved", "events_by_source", "--format", "json").stdout)
    assert [(row["source_family"], row["events"]) for row in sources] == [("gateway", 2)]


def test_sql_read_from_stdin_may_open_with_a_comment(store_env) -> None:
    sql = (Path(__file__).resolve().parents[2] / "sql" / "queries" / "open_alerts.sql").read_text()
    assert sql.startswith("--")
    result = run(store_env, "--param", "since=2000-01-01 00:00:00", "--format", "jsonl", "-", stdin=sql)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert "ai_credential_exposure" in {row["detection"] for row in rows}


def test_sql_read_from_a_file(store_env, tmp_path) -> None:
    path = tmp_path / "count.sql"
    path.write_text("-- how many events\nSELECT count() AS n FROM events\n")
    result = run(store_env, "--file", str(path), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [["n"], ["2"]]


def test_output_goes_to_the_file(store_env, tmp_path) -> None:
    target = tmp_path / "out.json"
    result = run(store_env, "SELECT count() AS n FROM events", "--format", "json", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert json.loads(target.read_text()) == [{"n": 2}]


def test_a_missing_parameter_of_a_saved_query_is_a_usage_error(store_env) -> None:
    result = run(store_env, "--saved", "top_actors", "--param", "since=2000-01-01 00:00:00")
    assert result.exit_code == 2
    assert "--param until=<DateTime64(3)>" in result.stderr and "--param limit=<UInt32>" in result.stderr


def test_an_unknown_parameter_or_query_is_a_usage_error(store_env) -> None:
    extra = run(store_env, "--saved", "events_by_source", "--param", "since=2000-01-01 00:00:00")
    assert extra.exit_code == 2 and "takes no parameter since" in extra.stderr
    unknown = run(store_env, "--saved", "no_such_query")
    assert unknown.exit_code == 2 and "no saved query 'no_such_query'" in unknown.stderr


def test_exactly_one_source_of_sql(store_env) -> None:
    assert run(store_env).exit_code == 2
    both = run(store_env, "--saved", "events_by_source", "SELECT 1")
    assert both.exit_code == 2 and "exactly one" in both.stderr


def test_a_bad_query_is_an_error_with_clickhouses_first_line(store_env) -> None:
    result = run(store_env, "SELECT no_such_column FROM events")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_a_saved_query_on_a_data_dir_without_a_store_says_what_to_run(tmp_path) -> None:
    result = run({"AISPM_DATA_DIR": str(tmp_path / "fresh")}, "--saved", "events_by_source")
    assert result.exit_code == 1
    assert "`aispm up`" in result.stderr and "`aispm db migrate`" in result.stderr
    assert "UNKNOWN_TABLE" not in result.output
    assert not (tmp_path / "fresh" / "clickhouse").exists()

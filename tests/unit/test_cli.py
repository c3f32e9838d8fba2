"""The `aispm` group: version, exit codes, settings errors, and the shared --format/--output."""

from __future__ import annotations

import csv
import importlib.metadata
import io
import json

import click
from click.testing import CliRunner

from streams.cli import main
from streams.cli.base import ExitCode
from tests.conftest import fresh_database_settings

NOUNS = {"up", "ingest", "query", "db", "demo", "status", "detect", "rules", "catalog", "model", "backfill",
         "scheduler", "inventory", "paths", "report"}
# Every command that prints data, and the formats it offers.
DATA_COMMANDS = {
    ("ingest",): {"json", "table"}, ("query",): {"table", "json", "jsonl", "csv"},
    ("db", "migrate"): {"json", "table"}, ("demo",): {"table", "json"}, ("status",): {"json", "table"},
    ("detect",): {"jsonl", "json", "table", "csv"}, ("rules", "list"): {"table", "json", "jsonl", "csv"},
    ("catalog", "match"): {"jsonl", "json", "table", "csv"}, ("catalog", "list"): {"table", "json", "jsonl", "csv"},
    ("model", "train"): {"json", "table"}, ("model", "evaluate"): {"json", "table"},
    ("model", "list"): {"table", "json", "jsonl", "csv"}, ("model", "show"): {"json", "table"},
    ("backfill",): {"json", "table"}, ("scheduler", "jobs"): {"table", "json", "jsonl", "csv"},
    ("scheduler", "run"): {"json", "table"},
    ("inventory",): {"table", "json", "cyclonedx"}, ("paths",): {"table", "json"},
}


def command(path: tuple[str, ...]) -> click.Command:
    found: click.Command = main
    for name in path:
        assert isinstance(found, click.Group)
        found = found.commands[name]
    return found


def test_version_is_the_installed_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"aispm {importlib.metadata.version('aispm')}\n"


def test_every_noun_is_a_command_and_help_documents_the_exit_codes() -> None:
    assert set(main.commands) == NOUNS
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for code, meaning in ((0, "ok"), (1, "error"), (2, "usage or configuration error"), (3, "findings")):
        assert f"{code}  {meaning}" in result.stdout
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3]


def test_every_command_that_prints_data_takes_format_and_output() -> None:
    for path, formats in DATA_COMMANDS.items():
        options = {param.name: param for param in command(path).params}
        assert "output" in options, path
        assert set(options["fmt"].type.choices) == formats, path


def test_invalid_settings_exit_2_naming_the_variable() -> None:
    result = CliRunner().invoke(main, ["status"], env={"AISPM_QUERY__PORT": "80"})
    assert result.exit_code == 2
    assert "AISPM_QUERY__PORT" in result.stderr and "Traceback" not in result.output


def test_status_without_a_worker_is_an_error(tmp_path) -> None:
    result = CliRunner().invoke(main, ["status"], env={"AISPM_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "no aispm worker is running" in result.stderr


def test_output_writes_the_file_and_nothing_to_stdout(tmp_path) -> None:
    target = tmp_path / "catalog.csv"
    result = CliRunner().invoke(main, ["catalog", "list", "--format", "csv", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0] == ["provider", "product", "category", "kind", "pattern", "source"] and len(rows) > 100


def test_an_unwritable_output_is_a_clear_error(tmp_path) -> None:
    result = CliRunner().invoke(main, ["catalog", "list", "--output", str(tmp_path / "missing" / "x.txt")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "x.txt" in result.output


def test_db_migrate_applies_once_then_nothing(chdb_data_dir) -> None:
    settings = fresh_database_settings(chdb_data_dir)
    env = {"AISPM_DATA_DIR": str(chdb_data_dir), "AISPM_CLICKHOUSE__DATABASE": settings.clickhouse.database}
    first = CliRunner().invoke(main, ["db", "migrate"], env=env)
    assert first.exit_code == 0, first.output
    assert "0001_events" in json.loads(first.stdout)["applied"]
    again = CliRunner().invoke(main, ["db", "migrate", "--format", "table"], env=env)
    assert again.exit_code == 0 and "applied" in again.stdout

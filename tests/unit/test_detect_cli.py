"""`aispm detect` (offline mode) end to end through the CLI, on real recordings and on leaked keys.

Exit codes: 3 when it raises alerts, 0 when not, 2 for a rule or policy it cannot use.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.normalize import normalize_message
from streams.normalize.redact import Redactor, installation_redactor, redacted_secrets
from tests.conftest import dataset

SAMPLES = Path(__file__).resolve().parents[1] / "samples"

# Stratus Red Team technique -> the rules that must fire on its detonation log.
COVERED = {
    "aws.impact.bedrock-invoke-model.json": {"bedrock_model_access_enabled", "bedrock_model_recon_burst",
                                             "bedrock_recon_then_invoke", "shadow_ai_cloud_runtime"},
    "aws.defense-evasion.cloudtrail-delete.json": {"cloudtrail_trail_deleted"},
    "aws.defense-evasion.cloudtrail-stop.json": {"cloudtrail_logging_stopped"},
    "aws.defense-evasion.cloudtrail-event-selectors.json": {"cloudtrail_event_selectors_reduced"},
}


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """`aispm detect` keeps the installation's fingerprint key in the data dir: one per test."""
    path = tmp_path / "data"
    monkeypatch.setenv("AISPM_DATA_DIR", str(path))
    monkeypatch.delenv("AISPM_INGEST__FINGERPRINT_KEY", raising=False)
    return path


def run_detect(*args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict], dict]:
    result = CliRunner().invoke(main, ["detect", *args], env=env)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    summary = orjson.loads(result.stderr.strip().splitlines()[-1])
    return result.exit_code, [orjson.loads(line) for line in lines], summary


def test_stratus_recordings_fire_the_rules_that_cover_them() -> None:
    folder = dataset("stratus-red-team-detonation-logs")
    for name, expected in COVERED.items():
        code, alerts, summary = run_detect("--source", "cloudtrail", str(folder / name))
        fired = {alert["finding_info"]["analytic"]["uid"] for alert in alerts}
        assert code == 3 and expected <= fired, (name, fired)
        assert summary["dead_letters"] == 0 and not summary["rule_errors"]


def test_recordings_no_rule_covers_stay_quiet() -> None:
    folder = dataset("stratus-red-team-detonation-logs")
    quiet = [path for path in sorted(folder.glob("aws.*.json")) if path.name not in COVERED
             and "bedrock" not in path.name]
    code, alerts, _ = run_detect("--source", "cloudtrail", *map(str, quiet))
    fired = {alert["finding_info"]["analytic"]["uid"] for alert in alerts}
    # Only the AI-adjacent rules may speak here (none of these techniques touch AI services).
    assert fired <= {"iam_ai_full_access_attached_to_user"}, fired
    assert code == (3 if fired else 0)


def test_a_leaked_key_in_a_gateway_log_alerts_without_the_key(tmp_path) -> None:
    key = "sk-proj-" + "Zx81" * 12
    log = tmp_path / "access.log"
    log.write_text(
        f'10.1.2.3 - dave [20/Nov/2026:08:00:00 +0000] "GET https://api.openai.com/v1/models?api_key={key} HTTP/1.1" '
        '200 512 "-" "curl/8.5"\n'
    )
    code, alerts, _ = run_detect("--source", "gateway", str(log))
    assert code == 3
    assert "ai_credential_exposure" in {alert["finding_info"]["analytic"]["uid"] for alert in alerts}
    assert key not in "".join(orjson.dumps(alert).decode() for alert in alerts)
    assert key[8:30] not in "".join(orjson.dumps(alert).decode() for alert in alerts)


def test_an_unreadable_file_is_a_dead_letter_and_the_others_are_read(tmp_path) -> None:
    log = tmp_path / "access.log"
    log.write_text('10.1.2.3 - - [20/Nov/2026:08:00:00 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.5"\n')
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(gzip.compress(log.read_bytes())[:15])
    code, alerts, summary = run_detect("--source", "gateway", str(cut), str(log))
    assert summary["events"] == 1
    assert summary["dead_letters"] == 1 and summary["dead_letter_reasons"] == {"unreadable_file": 1}
    # What could not be read was judged by no rule: not a clean run (exit 3, findings), but one alert.
    assert code == 3
    assert [(alert["message"], alert["count"]) for alert in alerts] == [
        ("gateway log records could not be read (unreadable_file)", 1)]
    assert alerts[0]["evidences"][0]["data"]["kafka_topic"] == f"file:{cut}"


def test_a_file_without_ai_use_raises_nothing(tmp_path) -> None:
    log = tmp_path / "access.log"
    log.write_text('10.1.2.3 - - [20/Nov/2026:08:00:00 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.5"\n')
    code, alerts, summary = run_detect("--source", "gateway", str(log))
    assert (code, alerts, summary["events"]) == (0, [], 1)


def test_sigma_rules_run_beside_the_built_in_ones(tmp_path) -> None:
    from streams.detect.examples import cloudtrail, iam_user

    trail = tmp_path / "trail.json"
    event = cloudtrail("DeleteGuardrail", identity=iam_user("dev1"), params={"guardrailIdentifier": "gr-prod"})
    trail.write_bytes(orjson.dumps({"Records": [orjson.loads(event["raw"])]}))
    sigma = SAMPLES / "sigma"

    _, without, _ = run_detect("--source", "cloudtrail", str(trail))
    code, with_sigma, _ = run_detect("--source", "cloudtrail", "--sigma", str(sigma), str(trail))
    fired_without = {alert["finding_info"]["analytic"]["uid"] for alert in without}
    fired = {alert["finding_info"]["analytic"]["uid"] for alert in with_sigma}
    assert "sigma_bedrock_guardrail_changed_by_iam_user" not in fired_without
    assert code == 3 and {"sigma_bedrock_guardrail_changed_by_iam_user", "bedrock_guardrail_deleted_or_updated"} <= fired


def test_an_unsupported_sigma_rule_stops_detect_with_its_name(tmp_path) -> None:
    rule = tmp_path / "aggregating.yml"
    rule.write_text(
        "title: Many guardrail deletions\nid: 5f0c7a52-3c8e-4a55-9a0e-0d7e0b6a1f10\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel:\n    eventName|base64: DeleteGuardrail\n  condition: sel\n"
    )
    result = CliRunner().invoke(main, ["detect", "--source", "cloudtrail", "--sigma", str(rule), str(rule)])
    assert result.exit_code == 2
    assert "Many guardrail deletions" in result.stderr and "base64" in result.stderr


KEY = "sk-proj-" + "Zx81" * 12
LEAKED_LINE = (f'10.1.2.3 - dave [20/Nov/2026:08:00:00 +0000] "GET https://api.openai.com/v1/models?api_key={KEY} '
               'HTTP/1.1" 200 512 "-" "curl/8.5"')


def fingerprints(text: str) -> set[str]:
    return set(re.findall(r"fp=([0-9a-f]{12})", text))


def worker_fingerprints(redactor: Redactor) -> set[str]:
    """The fingerprints the worker's normalization gives the leaked key under ``redactor``."""
    (event,) = normalize_message("gateway", LEAKED_LINE.encode(), redactor=redactor).events
    return {secret.fingerprint for secret in redacted_secrets(event["target_url"] + event["raw"])}


def test_fingerprints_use_the_installation_key_so_they_match_the_workers(tmp_path, data_dir) -> None:
    log = tmp_path / "access.log"
    log.write_text(LEAKED_LINE + "\n")
    code, alerts, _ = run_detect("--source", "gateway", str(log))
    assert code == 3
    printed = fingerprints(orjson.dumps(alerts).decode())
    expected = worker_fingerprints(installation_redactor(data_dir))
    assert printed and printed == expected
    again = fingerprints(orjson.dumps(run_detect("--source", "gateway", str(log))[1]).decode())
    assert again == printed, "a second run must fingerprint the same key the same way"


def test_a_configured_fingerprint_key_is_used(tmp_path) -> None:
    log = tmp_path / "access.log"
    log.write_text(LEAKED_LINE + "\n")
    key = "k" * 40
    code, alerts, _ = run_detect("--source", "gateway", str(log), env={"AISPM_INGEST__FINGERPRINT_KEY": key})
    assert code == 3
    assert fingerprints(orjson.dumps(alerts).decode()) == worker_fingerprints(Redactor(key.encode()))


def test_a_data_dir_that_cannot_hold_a_key_falls_back_and_says_so(tmp_path) -> None:
    log = tmp_path / "access.log"
    log.write_text(LEAKED_LINE + "\n")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = CliRunner().invoke(main, ["detect", "--source", "gateway", str(log)],
                                env={"AISPM_DATA_DIR": str(blocker / "data")})
    assert result.exit_code == 3
    assert "will not match the worker's" in result.stderr
    assert KEY not in result.output


def test_table_and_csv_summarize_the_alerts(tmp_path) -> None:
    log = tmp_path / "access.log"
    log.write_text(LEAKED_LINE + "\n")
    as_csv = CliRunner().invoke(main, ["detect", "--source", "gateway", "--format", "csv", str(log)])
    assert as_csv.exit_code == 3
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert "ai_credential_exposure" in {row["detection"] for row in rows}
    table = CliRunner().invoke(main, ["detect", "--source", "gateway", "--format", "table", str(log)],
                               env={"COLUMNS": "80"})
    assert table.exit_code == 3 and "ai_credential_exposure" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80

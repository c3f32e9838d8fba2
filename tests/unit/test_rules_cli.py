"""``rules list`` and ``rules test`` through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import streams.cli.rules as rules_command
from streams.cli.rules import rules
from streams.detect import RuleMeta, discover_rules
from streams.detect.base import Rule, negative, positive
from streams.detect.examples import cloudtrail

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "sigma"


def test_list_json_describes_every_rule() -> None:
    result = CliRunner().invoke(rules, ["list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [item["id"] for item in listed] == [rule.id for rule in discover_rules()]
    recon = next(item for item in listed if item["id"] == "bedrock_model_recon_burst")
    assert recon["severity"] == "medium" and recon["status"] == "experimental" and recon["stateful"] is True
    assert recon["atlas"] == ["AML.T0075", "AML.T0040"] and recon["examples"] == {"positive": 3, "negative": 3}


def test_list_table_and_sigma_rules() -> None:
    table = CliRunner().invoke(rules, ["list"], env={"COLUMNS": "80"})
    assert table.exit_code == 0 and "cloudtrail_trail_deleted" in table.output
    assert max(len(line) for line in table.output.splitlines()) <= 80
    for rule in discover_rules():
        assert f" {rule.id} " in table.output, f"{rule.id} was folded or left out at 80 columns"
    with_sigma = CliRunner().invoke(rules, ["list", "--format", "json", "--sigma", str(SAMPLES)])
    ids = [item["id"] for item in json.loads(with_sigma.output)]
    assert len(ids) == len(discover_rules()) + 3 and "sigma_bedrock_guardrail_changed_by_iam_user" in ids


def test_test_command_passes_on_the_shipped_rules() -> None:
    result = CliRunner().invoke(rules, ["test"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == len(discover_rules()) + 1 and all(line.startswith("PASS ") for line in lines[:-1])
    single = CliRunner().invoke(rules, ["test", "--id", "cloudtrail_logging_stopped"])
    assert single.exit_code == 0 and single.output.startswith("PASS cloudtrail_logging_stopped (4 examples)")


def test_test_command_fails_with_exit_1_and_says_why(monkeypatch) -> None:
    meta = RuleMeta(id="wrong_rule", title="Always wrong rule", severity="low", status="experimental",
                    description="Fires on everything.", attack=("T1526",), runbook="Nothing here.",
                    remediation="Nothing to do.")
    event = cloudtrail("ListFoundationModels")
    wrong = Rule(meta=meta, match_fn=lambda e, s: True, examples=(positive("p", event), negative("quiet", event)))
    monkeypatch.setattr(rules_command, "discover_rules", lambda: (wrong,))
    result = CliRunner().invoke(rules, ["test"])
    assert result.exit_code == 1
    assert "FAIL wrong_rule: example 'quiet' should stay quiet" in result.output


def test_unknown_rule_id_is_a_usage_error() -> None:
    result = CliRunner().invoke(rules, ["test", "--id", "no_such_rule"])
    assert result.exit_code == 2 and "no rule with id no_such_rule" in result.output

"""The rule engine: error isolation, what findings carry, restart-safe and bounded state, discovery checks."""

from __future__ import annotations

import json
import logging
import types

import pytest
from pydantic import ValidationError

from streams.detect import RuleEngine, RuleLoadError, RuleMeta, ct, discover_rules, evaluate
from streams.detect import state as rule_state
from streams.detect.base import Rule, negative, positive, rule_from_module
from streams.detect.examples import cloudtrail, iam_user

_META = {
    "title": "Test rule title", "severity": "low", "status": "experimental",
    "description": "A rule made up for a test.", "attack": ("T1562.008",),
    "runbook": "Nothing to look at.", "remediation": "Nothing to fix here.",
}


def _rule(rule_id: str, match) -> Rule:
    return Rule(meta=RuleMeta(id=rule_id, **_META), match_fn=match)


def test_a_raising_rule_is_reported_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event, state):
        raise KeyError("requestParameters")

    engine = RuleEngine([_rule("broken_rule", broken), _rule("always_fires", lambda e, s: True)])
    event = cloudtrail("DeleteTrail", "cloudtrail.amazonaws.com")
    result = engine.run(event, {})
    assert [f.detection for f in result.findings] == ["always_fires"]
    assert [(e.rule_id, e.event_id) for e in result.errors] == [("broken_rule", event["event_id"])]
    assert "KeyError" in result.errors[0].error
    with caplog.at_level(logging.ERROR):
        assert [f.detection for f in engine.evaluate(event, {})] == ["always_fires"]
    assert "broken_rule" in caplog.text


def test_findings_carry_remediation_techniques_and_runbook() -> None:
    event = cloudtrail("DeleteModelInvocationLoggingConfiguration")
    (finding,) = evaluate(event, {})
    assert finding.detection == "bedrock_invocation_logging_deleted"
    assert finding.severity == "high" and finding.provider == "aws-bedrock"
    assert finding.techniques == ("T1562.008", "AML.T0034")
    assert "PutModelInvocationLoggingConfiguration" in finding.remediation
    assert finding.context["runbook"].startswith("Confirm")
    assert finding.context["frameworks"]["owasp_llm"] == ["LLM10:2025"]
    assert finding.principal == event["actor"] and finding.event is event


def test_rule_title_dedup_key_and_context_functions_are_used() -> None:
    event = cloudtrail("DeleteGuardrail", params={"guardrailIdentifier": "gr-42"})
    (finding,) = evaluate(event, {})
    assert finding.title == "Bedrock guardrail deleted: gr-42"
    assert finding.key() == "bedrock_guardrail_deleted_or_updated|111122223333|gr-42"


def test_events_of_other_families_are_not_given_to_cloudtrail_rules() -> None:
    event = dict(cloudtrail("DeleteTrail", "cloudtrail.amazonaws.com"), source_family="gateway", raw="GET / 200")
    result = RuleEngine(discover_rules()).run(event, {})
    assert result.findings == [] and result.errors == []


def _recon(at: float, identity: dict | None = None) -> dict:
    return cloudtrail("ListFoundationModels", at=at, identity=identity or iam_user("probe"))


def test_state_restored_after_a_restart_forgets_nothing() -> None:
    state: dict[str, dict] = {}
    for i in range(9):
        assert evaluate(_recon(i), state) == []
    restored = json.loads(json.dumps(state))  # what a changelog-backed table gives back after a restart
    assert [f.detection for f in evaluate(_recon(9), restored)] == ["bedrock_model_recon_burst"]
    assert evaluate(_recon(9), {}) == []  # and without the restored state, the burst is not seen


def test_state_is_bounded_and_expires() -> None:
    state: dict[str, dict] = {}
    for i in range(2_000):
        evaluate(_recon(i * 0.1), state)
    (key,) = [key for key in state if key.startswith("bedrock_model_recon_burst|")]
    assert len(state[key]["calls"]) <= 200
    for i in range(100):  # one call each from many principals
        evaluate(_recon(300, iam_user(f"user{i}", key=f"AKIAEXAMPLE{i:09d}")), state)
    later = cloudtrail("ListFoundationModels", at=3 * 3600)["time"]
    removed = rule_state.sweep(state, later)
    assert removed >= 101 and not any(key.startswith("bedrock_model_recon_burst|") for key in state)


def test_ct_parses_the_raw_record_once_per_event() -> None:
    event = cloudtrail("InvokeModel", params={"modelId": "amazon.nova-lite-v1:0"})
    assert ct(event) is ct(event)
    assert ct(event).param("ModelId") == "amazon.nova-lite-v1:0"  # first-letter case tolerated
    assert ct(event).request_parameters == {"modelId": "amazon.nova-lite-v1:0"}


def _module(name: str, **attributes) -> types.ModuleType:
    module = types.ModuleType(f"streams.detect.{name}")
    module.__dict__.update(attributes)
    return module


def test_a_module_whose_id_differs_from_its_file_name_is_refused() -> None:
    event = cloudtrail("DeleteTrail", "cloudtrail.amazonaws.com")
    module = _module("some_file", META=RuleMeta(id="another_id", **_META), rule=lambda e: True,
                     EXAMPLES=[positive("p", event), negative("n", event)])
    with pytest.raises(RuleLoadError, match="'another_id' differs from the file name 'some_file'"):
        rule_from_module(module)
    with pytest.raises(RuleLoadError, match="no rule"):
        rule_from_module(_module("another_id", META=RuleMeta(id="another_id", **_META)))


def test_metadata_is_validated() -> None:
    with pytest.raises(ValidationError):
        RuleMeta(id="x_rule", **{**_META, "attack": ("T15620",)})
    with pytest.raises(ValidationError):
        RuleMeta(id="x_rule", **{**_META, "severity": "urgent"})
    with pytest.raises(ValidationError):
        RuleMeta(id="Bad-Id", **_META)
    assert RuleMeta(id="x_rule", **{**_META, "atlas": ("AML.T0010.003",), "nist_ai_rmf": ("MEASURE 2.7",)})

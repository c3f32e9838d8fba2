"""Rules against recorded attacks (Stratus Red Team) and against panther-analysis's test events.

The datasets are read from ../shared/datasets next to the repository, not copied into it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.detect import ai_data
from streams.detect.engine import default_engine, discover_rules
from streams.detect.examples import normalize_record

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
STRATUS = DATASETS / "stratus-red-team-detonation-logs"
PANTHER_CLOUDTRAIL = DATASETS / "panther-analysis-tests" / "AWS_CloudTrail.jsonl"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"dataset missing: {path} (expected the shared datasets next to the repository)")
    return path


# --- Stratus Red Team detonations ----------------------------------------------------------------

# Technique (file name) -> exactly the rules that must fire when its events are replayed in order.
STRATUS_COVERAGE: dict[str, set[str]] = {
    "aws.impact.bedrock-invoke-model": {
        "bedrock_model_access_enabled",  # PutFoundationModelEntitlement, PutUseCase..., CreateFoundationModelAgreement
        "bedrock_model_recon_burst",  # ten GetFoundationModelAvailability calls in ninety seconds
        "bedrock_recon_then_invoke",  # ... followed by InvokeModel
    },
    "aws.defense-evasion.cloudtrail-delete": {"cloudtrail_trail_deleted"},
    "aws.defense-evasion.cloudtrail-stop": {"cloudtrail_logging_stopped"},
    "aws.defense-evasion.cloudtrail-event-selectors": {
        "cloudtrail_event_selectors_reduced",  # management events off, reads only
        "cloudtrail_bedrock_data_events_off",  # basic selectors for S3 and Lambda: no Bedrock data events
    },
}


def _replay(path: Path) -> dict[str, int]:
    """Rule id -> findings, replaying one detonation log in time order with one shared state."""
    records = sorted(json.loads(path.read_text()), key=lambda record: record["eventTime"])
    engine, state, fired = default_engine(), {}, {}
    for record in records:
        result = engine.run(normalize_record(record), state)
        assert not result.errors, f"{path.name}: {result.errors}"
        for finding in result.findings:
            fired[finding.detection] = fired.get(finding.detection, 0) + 1
    return fired


@pytest.mark.parametrize("technique", sorted(STRATUS_COVERAGE))
def test_covered_stratus_technique_fires_its_rules(technique: str) -> None:
    fired = _replay(_require(STRATUS / f"{technique}.json"))
    assert set(fired) == STRATUS_COVERAGE[technique]


def test_stratus_techniques_no_rule_covers_raise_nothing() -> None:
    files = sorted(_require(STRATUS).glob("*.json"))
    others = [path for path in files if path.stem not in STRATUS_COVERAGE]
    assert len(files) >= 30 and len(others) == len(files) - len(STRATUS_COVERAGE)
    noisy = {path.stem: fired for path in others if (fired := _replay(path))}
    assert noisy == {}


# --- panther-analysis test events ----------------------------------------------------------------

@dataclass(frozen=True)
class PantherPair:
    panther_rule: str
    our_rule: str
    shares_intent: Callable[[dict], bool] = lambda log: True
    """Which of panther's test events fall inside the intent both rules share."""
    ai_data_bucket: bool = False
    """Our rule only watches buckets that hold AI data; panther's watches every bucket. For those pairs
    the bucket is first made known as AI data, then the verdicts must agree."""


def _s3_bucket_policy(log: dict) -> bool:
    return log.get("eventSource") == "s3.amazonaws.com" and log.get("eventName") == "PutBucketPolicy"


PANTHER_PAIRS = (
    PantherPair("AWS.Bedrock.DeleteModelInvocationLoggingConfiguration", "bedrock_invocation_logging_deleted"),
    PantherPair("AWS.Bedrock.GuardrailUpdateDelete", "bedrock_guardrail_deleted_or_updated"),
    PantherPair("AWS.CloudTrail.Stopped", "cloudtrail_logging_stopped"),
    PantherPair("AWS.CloudTrail.EventSelectorsDisabled", "cloudtrail_event_selectors_reduced"),
    PantherPair("AWS.CloudTrail.SecurityConfigurationChange", "cloudtrail_trail_deleted"),
    PantherPair("AWS.S3.DeletePublicAccessBlock", "s3_ai_data_bucket_public_access_block_removed",
                ai_data_bucket=True),
    # Panther's rule covers every resource type (ECR, KMS, SQS ...); ours only S3 bucket policies.
    PantherPair("AWS.CloudTrail.ResourceMadePublic", "s3_ai_data_bucket_policy_public",
                shares_intent=_s3_bucket_policy, ai_data_bucket=True),
)
# Not paired, on purpose: AWS.IAM.AttachAdminUserPolicy (AdministratorAccess, where ours watches the AI
# full-access policies), AWS.S3.BucketPolicyModified (any ACL change, ours only public ones),
# AWS.CloudTrail.LoginProfileCreatedOrModified and AWS.IAM.Backdoor.User.Keys (any user, ours only
# BedrockAPIKey-* users).


def _panther_tests(rule_id: str) -> list[dict]:
    lines = _require(PANTHER_CLOUDTRAIL).read_text().splitlines()
    return [test for line in lines if (test := json.loads(line))["rule_id"] == rule_id]


@pytest.mark.parametrize("pair", PANTHER_PAIRS, ids=lambda pair: pair.panther_rule)
def test_panther_test_events_agree_with_our_verdicts(pair: PantherPair) -> None:
    rule = {rule.id: rule for rule in discover_rules()}[pair.our_rule]
    compared = []
    for test in _panther_tests(pair.panther_rule):
        if not pair.shares_intent(test["log"]):
            continue
        event = normalize_record(test["log"])
        state: dict[str, dict] = {}
        bucket = (test["log"].get("requestParameters") or {}).get("bucketName")
        if pair.ai_data_bucket and bucket:
            if test["expected_result"]:
                # Without knowing the bucket holds AI data, ours stays quiet: the narrower intent.
                assert not rule.matches(event, {}), test["test_name"]
            ai_data.remember(state, event["cloud_account"], {bucket}, event["time"])
        compared.append((test["test_name"], test["expected_result"], rule.matches(event, state)))
    assert len(compared) >= 2, f"too few shared test events for {pair.panther_rule}"
    assert {expected for _, expected, _ in compared} == {True, False}, "need both verdicts to compare"
    disagreements = [(name, expected, ours) for name, expected, ours in compared if expected != ours]
    assert disagreements == []

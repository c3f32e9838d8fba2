"""Sigma rules for CloudTrail load into the rule engine; unsupported constructs fail with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.detect import RuleEngine, discover_rules
from streams.detect.examples import cloudtrail, iam_user
from streams.detect.sigma import SigmaUnsupportedError, load_sigma_rules, sigma_rules_from_yaml

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "sigma"


def _samples() -> dict[str, object]:
    return {rule.id: rule for rule in load_sigma_rules([SAMPLES])}


def test_sample_rules_load_with_their_metadata() -> None:
    rules = _samples()
    assert set(rules) == {
        "sigma_bedrock_guardrail_changed_by_iam_user",
        "sigma_public_acl_on_a_bucket_named_for_training_or_model_data",
        "sigma_sagemaker_notebook_url_requested_from_outside_the_corporate_network",
    }
    guardrail = rules["sigma_bedrock_guardrail_changed_by_iam_user"]
    assert guardrail.meta.severity == "high"
    assert guardrail.meta.techniques == ("T1562.001", "AML.T0054")
    assert guardrail.meta.remediation.startswith("Restore the guardrail")
    assert guardrail.meta.source.endswith("bedrock_guardrail_changed_by_iam_user.yml")


_GUARDRAIL = {"guardrailIdentifier": "gr-prod"}
SAMPLE_CASES = [
    ("sigma_bedrock_guardrail_changed_by_iam_user", True,
     cloudtrail("DeleteGuardrail", identity=iam_user("dev1"), params=_GUARDRAIL)),
    ("sigma_bedrock_guardrail_changed_by_iam_user", False,  # failed call: `not failed` (errorCode|exists)
     cloudtrail("DeleteGuardrail", identity=iam_user("dev1"), params=_GUARDRAIL, error="AccessDeniedException")),
    ("sigma_bedrock_guardrail_changed_by_iam_user", False,  # a role, not an IAM user
     cloudtrail("UpdateGuardrail", params=_GUARDRAIL)),
    ("sigma_public_acl_on_a_bucket_named_for_training_or_model_data", True,  # contains, case-insensitive
     cloudtrail("PutBucketAcl", "s3.amazonaws.com", params={"bucketName": "Fraud-TRAINING-2025",
                                                            "x-amz-acl": ["public-read"]})),
    ("sigma_public_acl_on_a_bucket_named_for_training_or_model_data", True,  # the re branch
     cloudtrail("PutBucketAcl", "s3.amazonaws.com", params={"bucketName": "llm-weights",
                                                            "x-amz-acl": ["public-read-write"]})),
    ("sigma_public_acl_on_a_bucket_named_for_training_or_model_data", False,
     cloudtrail("PutBucketAcl", "s3.amazonaws.com", params={"bucketName": "llm-weights", "x-amz-acl": ["private"]})),
    ("sigma_public_acl_on_a_bucket_named_for_training_or_model_data", False,  # 'remodel' is not 'model'
     cloudtrail("PutBucketAcl", "s3.amazonaws.com", params={"bucketName": "house-remodels",
                                                            "x-amz-acl": ["public-read"]})),
    ("sigma_sagemaker_notebook_url_requested_from_outside_the_corporate_network", True,
     cloudtrail("CreatePresignedNotebookInstanceUrl", "sagemaker.amazonaws.com", source_ip="198.51.100.7")),
    ("sigma_sagemaker_notebook_url_requested_from_outside_the_corporate_network", False,  # cidr
     cloudtrail("CreatePresignedNotebookInstanceUrl", "sagemaker.amazonaws.com", source_ip="10.20.30.40")),
    ("sigma_sagemaker_notebook_url_requested_from_outside_the_corporate_network", False,  # startswith/endswith
     cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com", source_ip="198.51.100.7")),
]


@pytest.mark.parametrize(("rule_id", "fires", "event"), SAMPLE_CASES,
                         ids=[f"{case[0][6:30]}-{case[1]}-{i}" for i, case in enumerate(SAMPLE_CASES)])
def test_sample_rule_verdicts(rule_id: str, fires: bool, event: dict) -> None:
    assert _samples()[rule_id].matches(event, {}) is fires


def test_sigma_rules_run_in_the_engine_beside_python_rules() -> None:
    engine = RuleEngine([*discover_rules(), *load_sigma_rules([SAMPLES])])
    event = cloudtrail("DeleteGuardrail", identity=iam_user("dev1"), params=_GUARDRAIL)
    detections = {finding.detection for finding in engine.evaluate(event, {})}
    assert detections == {"sigma_bedrock_guardrail_changed_by_iam_user", "bedrock_guardrail_deleted_or_updated"}


_RULE = """title: Test Rule For Sigma Support
id: 11111111-2222-4333-8444-555555555555
logsource:
    product: aws
    service: cloudtrail
detection:
{detection}
level: low
"""


def _one_rule(detection: str) -> object:
    return sigma_rules_from_yaml(_RULE.format(detection=detection), "inline.yml")[0]


def test_matching_semantics() -> None:
    all_of = _one_rule("    sel:\n        requestParameters.tags.key|all:\n            - team\n            - env\n"
                       "    condition: sel")
    both = cloudtrail("TagResource", params={"tags": [{"key": "team"}, {"key": "env"}]})
    one = cloudtrail("TagResource", params={"tags": [{"key": "team"}]})
    assert all_of.matches(both, {}) and not all_of.matches(one, {})

    cased = _one_rule("    sel:\n        eventName|cased: InvokeModel\n    condition: sel")
    plain = _one_rule("    sel:\n        eventName: invokemodel\n    condition: sel")
    invoke = cloudtrail("InvokeModel")
    assert cased.matches(invoke, {}) and plain.matches(invoke, {})
    cased_lower = _one_rule("    sel:\n        eventName|cased: invokemodel\n    condition: sel")
    assert not cased_lower.matches(invoke, {})

    no_error = _one_rule("    sel:\n        errorCode|exists: false\n        readOnly: false\n    condition: sel")
    assert no_error.matches(cloudtrail("DeleteGuardrail"), {})
    assert not no_error.matches(cloudtrail("DeleteGuardrail", error="AccessDenied"), {})
    assert not no_error.matches(cloudtrail("GetGuardrail"), {})  # readOnly is true for Get*

    wildcard = _one_rule("    sel:\n        eventName: 'Put*Entitlement'\n    condition: sel")
    assert wildcard.matches(cloudtrail("PutFoundationModelEntitlement"), {})
    assert not wildcard.matches(cloudtrail("PutUseCaseForModelAccess"), {})

    units = _one_rule("    sel:\n        requestParameters.modelUnits|gte: 5\n    condition: sel")
    assert units.matches(cloudtrail("CreateProvisionedModelThroughput", params={"modelUnits": 8}), {})
    assert not units.matches(cloudtrail("CreateProvisionedModelThroughput", params={"modelUnits": 1}), {})


UNSUPPORTED = [
    ("modifier 'base64offset'", "    sel:\n        requestParameters.x|base64offset|contains: abc\n    condition: sel"),
    ("unknown modifier 'frobnicate'", "    sel:\n        eventName|frobnicate: abc\n    condition: sel"),
    ("keyword (field-less) search", "    keywords:\n        - evil\n    condition: keywords"),
    ("aggregation in condition", "    sel:\n        eventName: X\n    condition: sel | count() by userIdentity.arn > 5"),
    ("'timeframe'", "    sel:\n        eventName: X\n    timeframe: 5m\n    condition: sel"),
    ("not defined in detections", "    sel:\n        eventName: X\n    condition: sel and other"),
]


@pytest.mark.parametrize(("construct", "detection"), UNSUPPORTED, ids=[case[0] for case in UNSUPPORTED])
def test_unsupported_construct_names_rule_file_and_construct(construct: str, detection: str) -> None:
    with pytest.raises(SigmaUnsupportedError) as raised:
        sigma_rules_from_yaml(_RULE.format(detection=detection), "rules/custom.yml")
    message = str(raised.value)
    assert "'Test Rule For Sigma Support'" in message
    assert "11111111-2222-4333-8444-555555555555" in message
    assert "rules/custom.yml" in message
    assert construct in message


def test_other_logsource_and_correlation_are_refused(tmp_path: Path) -> None:
    windows = tmp_path / "windows.yml"
    windows.write_text(_RULE.replace("product: aws", "product: windows").replace("service: cloudtrail",
                                                                                  "service: security")
                       .format(detection="    sel:\n        EventID: 4625\n    condition: sel"))
    with pytest.raises(SigmaUnsupportedError, match=r"windows\.yml: logsource product='windows' service='security'"):
        load_sigma_rules([tmp_path])

    correlation = ("title: Many Denied Bedrock Calls\nid: 22222222-2222-4333-8444-555555555555\n"
                   "correlation:\n    type: event_count\n    rules: [x]\n    group-by: [userIdentity.arn]\n"
                   "    timespan: 5m\n    condition:\n        gte: 10\n")
    with pytest.raises(SigmaUnsupportedError, match="'Many Denied Bedrock Calls'.*correlation rules"):
        sigma_rules_from_yaml(correlation, "corr.yml")


def test_selectors_lists_of_maps_negation_and_several_conditions() -> None:
    trail = "cloudtrail.amazonaws.com"
    any_of_them = _one_rule("    s1:\n        eventName: DeleteTrail\n    s2:\n        eventName: StopLogging\n"
                            "    condition: 1 of them")
    assert any_of_them.matches(cloudtrail("StopLogging", trail), {})
    assert not any_of_them.matches(cloudtrail("StartLogging", trail), {})

    maps = _one_rule("    sel:\n        - eventName: DeleteTrail\n        - eventSource: bedrock.amazonaws.com\n"
                     "    condition: sel")
    assert maps.matches(cloudtrail("InvokeModel"), {}) and not maps.matches(cloudtrail("StartLogging", trail), {})

    outside = _one_rule("    sel:\n        eventSource: bedrock.amazonaws.com\n        awsRegion|neq: us-east-1\n"
                        "    condition: sel")
    assert outside.matches(cloudtrail("InvokeModel", region="eu-west-1"), {})
    assert not outside.matches(cloudtrail("InvokeModel", region="us-east-1"), {})

    two = _one_rule("    s1:\n        eventName: DeleteTrail\n    s2:\n        eventName: StopLogging\n"
                    "    condition:\n        - s1\n        - s2")
    assert two.matches(cloudtrail("StopLogging", trail), {}) and not two.matches(cloudtrail("GetTrail", trail), {})

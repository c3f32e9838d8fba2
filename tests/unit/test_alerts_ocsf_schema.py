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


def test_att_and_ck_and_atlas_ids_become_named_attacks_with_tactics(dataset_alerts) -> None:
    named = {"attack": 0, "atlas": 0}
    for alert in dataset_alerts:
        attacks = alert["finding_info"].get("attacks", [])
        sent = {a.get("sub_technique", a["technique"])["uid"] for a in attacks}
        assert set(alert["unmapped"]["techniques"]) <= sent, alert["finding_info"]["analytic"]["uid"]
        for attack in attacks:
            assert attack["technique"]["name"] and attack["tactic"]["name"] and attack["tactic"]["uid"]
            atlas = attack["technique"]["uid"].startswith("AML.")
            # An ATLAS technique has ATLAS tactics, never ATT&CK's of the same name.
            assert attack["tactic"]["uid"].startswith("AML.TA") == atlas
            named["atlas" if atlas else "attack"] += 1
    assert named["attack"] > 0 and named["atlas"] > 0


def test_a_sub_technique_names_its_parent_and_every_tactic() -> None:
    attacks = attacks_of(["T1078.004"])
    assert {a["tactic"]["uid"] for a in attacks} == {"TA0001", "TA0003", "TA0004", "TA0005"}
    assert {(a["technique"]["uid"], a["technique"]["name"]) for a in attacks} == {("T1078", "Valid Accounts")}
    assert {(a["sub_technique"]["uid"], a["sub_technique"]["name"]) for a in attacks} == {
        ("T1078.004", "Cloud Accounts")}
    assert attacks_of(["T1496"])[0]["tactic"] == {"uid": "TA0040", "name": "Impact"}
    assert "sub_technique" not in attacks_of(["T1496"])[0]
    assert {a["version"] for a in attacks} == {technique_table()["sources"]["attack"]["version"]}
    # An id the table does not name is left to unmapped.
    assert attacks_of(["AML.T9999", "T9999"]) == []


def test_atlas_ids_are_named_like_att_and_ck_ones_with_atlas_s_version() -> None:
    [model] = attacks_of(["AML.T0010.003"])
    assert model == {"technique": {"uid": "AML.T0010", "name": "AI Supply Chain Compromise"},
                     "sub_technique": {"uid": "AML.T0010.003", "name": "Model"},
                     "tactic": {"uid": "AML.TA0004", "name": "Initial Access"},
                     "version": technique_table()["sources"]["atlas"]["version"]}
    # Valid Accounts is in two ATLAS tactics: one object for each.
    assert [a["tactic"]["uid"] for a in attacks_of(["AML.T0012"])] == ["AML.TA0004", "AML.TA0012"]
    assert attacks_of(["AML.T0075"])[0]["technique"]["name"] == "Cloud Service Discovery"
    mixed = attacks_of(["T1496", "AML.T0034"])
    assert {(a["technique"]["uid"], a["version"]) for a in mixed} == {
        ("T1496", technique_table()["sources"]["attack"]["version"]),
        ("AML.T0034", technique_table()["sources"]["atlas"]["version"])}


def _declared_ids() -> dict[str, set[str]]:
    """Every technique id something that raises alerts declares: the rules, the attack-path patterns,
    the Sigma rules shipped as samples."""
    from streams.detect.graph.paths import PATTERNS
    from streams.detect.sigma import load_sigma_rules
    from tests.conftest import REPO

    declared: dict[str, set[str]] = {}
    for rule in (*discover_rules(), *load_sigma_rules([REPO / "tests" / "samples" / "sigma"])):
        for technique_id in rule.meta.techniques:
            declared.setdefault(technique_id, set()).add(rule.id)
    for pattern in PATTERNS.values():
        for technique_id in pattern.techniques:
            declared.setdefault(technique_id, set()).add(f"path:{pattern.id}")
    return declared


def test_the_technique_table_records_its_sources_and_names_every_declared_id() -> None:
    table = technique_table()
    assert table["sources"]["attack"]["version"] and table["sources"]["atlas"]["version"]
    declared = _declared_ids()
    assert any(t.startswith("AML.") for t in declared) and any(t.startswith("T") for t in declared)
    unnamed = {technique_id: sorted(by) for technique_id, by in declared.items() if not attacks_of([technique_id])}
    assert unnamed == {}, "ids the table lacks: regenerate it with scripts/techniques_table.py"


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

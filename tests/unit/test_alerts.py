"""Alerts: OCSF Detection Findings validated by py-ocsf-models (the official schema: test_alerts_ocsf_schema.py),
and windowed dedup."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from pydantic import ValidationError

from schemas.finding import Finding
from streams.detect.alerts import AlertEvent, MemoryLedger, alert_for, alert_id_of, to_ocsf, window_start
from streams.detect.examples import assumed_role, cloudtrail
from streams.detect.rules import shadow_ai_cloud_runtime, shadow_ai_egress
from streams.enrich.catalog import default_catalog
from tests.unit.rule_runs import rule_findings

# OCSF 1.x Evidence Artifacts attributes that py-ocsf-models has not modelled yet (its own TODO list in
# objects/evidence_artifacts.py); everything else in an alert must be a field the library knows.
UNMODELLED_EVIDENCE_FIELDS = {"actor", "src_endpoint", "dst_endpoint"}
# Detection Finding attributes of OCSF 1.6 that py-ocsf-models has not modelled (the official schema, in
# test_alerts_ocsf_schema.py, checks them).
UNMODELLED_FINDING_FIELDS = {".is_alert"}


def _gateway_finding() -> Finding:
    [finding] = rule_findings(shadow_ai_egress, shadow_ai_egress.EXAMPLES[0].events[-1], default_catalog(), None)
    return finding


def _cloud_finding() -> Finding:
    event = cloudtrail("InvokeModel", params={"modelId": "anthropic.claude-3-haiku-20240307-v1:0"},
                       identity=assumed_role("webapp"))
    [finding] = rule_findings(shadow_ai_cloud_runtime, event, default_catalog(), None)
    return finding


def _unknown_paths(sent: Any, kept: Any, path: str = "") -> Iterator[str]:
    """Paths present in ``sent`` but dropped by the model (pydantic ignores unknown keys silently)."""
    if isinstance(sent, dict):
        for key, value in sent.items():
            if not isinstance(kept, dict) or key not in kept:
                yield f"{path}.{key}"
            else:
                yield from _unknown_paths(value, kept[key], f"{path}.{key}")
    elif isinstance(sent, list):
        assert isinstance(kept, list) and len(kept) == len(sent), path
        for position, (item, kept_item) in enumerate(zip(sent, kept, strict=True)):
            yield from _unknown_paths(item, kept_item, f"{path}[{position}]")


def assert_valid_detection_finding(alert: dict) -> DetectionFinding:
    """Fail unless ``alert`` is a Detection Finding that py-ocsf-models accepts with nothing left over."""
    alert = orjson.loads(orjson.dumps(alert))  # what a SIEM receives: JSON
    model = DetectionFinding.model_validate(alert)
    kept = model.model_dump(mode="json", exclude_unset=True)
    unknown = [path for path in _unknown_paths(alert, kept)
               if not (path.startswith(".evidences[") and path.rsplit(".", 1)[-1] in UNMODELLED_EVIDENCE_FIELDS)
               and path not in UNMODELLED_FINDING_FIELDS]
    assert unknown == [], f"fields py-ocsf-models does not know: {unknown}"
    assert model.class_uid == 2004 and model.category_uid == 2
    return model


@pytest.mark.parametrize("make", [_gateway_finding, _cloud_finding], ids=["gateway", "cloudtrail"])
def test_alert_is_a_valid_ocsf_detection_finding(make) -> None:
    finding = make()
    alert = to_ocsf(finding, count=4, first_seen_ms=finding.event["time"], last_seen_ms=finding.event["time"] + 9000,
                    alert_id="a1b2c3")
    model = assert_valid_detection_finding(alert)
    assert model.activity_id == 1 and model.type_uid == 200401
    assert model.finding_info.uid == "a1b2c3" and model.finding_info.title == finding.title
    assert model.finding_info.analytic.uid == finding.detection and model.finding_info.analytic.type == "Rule"
    assert model.finding_info.first_seen_time == finding.event["time"]
    assert model.finding_info.last_seen_time == finding.event["time"] + 9000
    assert model.count == 4
    assert model.metadata.product.name == "aispm" and model.metadata.version.startswith("1.")
    assert model.remediation.desc == finding.remediation
    assert alert["unmapped"]["dedup_key"] == finding.key()
    assert "raw" not in alert["evidences"][0]["data"]


def test_severity_and_activity_mapping() -> None:
    finding = _cloud_finding()
    alert = to_ocsf(finding, 1, 10, 10, "x")
    assert (alert["severity_id"], alert["severity"]) == (4, "High")
    assert alert["resources"][0]["uid"] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert alert["cloud"]["account"]["uid"] == "111122223333"
    assert alert["evidences"][0]["api"] == {"operation": "InvokeModel"}
    assert alert["evidences"][0]["actor"]["user"]["name"].startswith("arn:aws:sts::")
    update = to_ocsf(finding, 2, 10, 20, "x", update=True)
    assert (update["activity_id"], update["type_uid"], update["activity_name"]) == (2, 200402, "Update")
    assert_valid_detection_finding(update)
    assert update["metadata"]["uid"] != alert["metadata"]["uid"]  # each emission is its own record
    for severity, expected in (("informational", 1), ("low", 2), ("medium", 3), ("critical", 5)):
        changed = Finding(**{**{field: getattr(finding, field) for field in Finding.__dataclass_fields__},
                             "severity": severity})
        assert to_ocsf(changed, 1, 1, 1, "x")["severity_id"] == expected


def test_context_of_any_rule_becomes_plain_json() -> None:
    from datetime import UTC, datetime

    base = _gateway_finding()
    finding = Finding(**{**{field: getattr(base, field) for field in Finding.__dataclass_fields__},
                         "context": {"ids": {"b", "a"}, "pair": (1, 2), "at": datetime(2025, 1, 2, tzinfo=UTC), 7: "x"}})
    alert = to_ocsf(finding, 1, 1, 1, "x")
    assert alert["unmapped"]["context"] == {"ids": ["a", "b"], "pair": [1, 2], "at": "2025-01-02T00:00:00+00:00",
                                            "7": "x"}
    assert_valid_detection_finding(alert)


def test_validator_rejects_what_is_not_a_detection_finding() -> None:
    """The check above can fail: broken alerts do not pass it."""
    good = to_ocsf(_gateway_finding(), 1, 1, 1, "x")
    missing_uid = copy.deepcopy(good)
    del missing_uid["finding_info"]["uid"]
    wrong_class = dict(good, type_uid=300201)
    bad_severity = dict(good, severity_id=42)
    for broken in (missing_uid, wrong_class, bad_severity):
        with pytest.raises(ValidationError):
            assert_valid_detection_finding(broken)
    with pytest.raises(AssertionError, match="does not know"):
        assert_valid_detection_finding(dict(good, findings_info={"typo": True}))


# --- dedup ---------------------------------------------------------------------------------------------

def _finding_at(time_ms: int, principal: str = "10.0.0.1", provider: str = "openai") -> Finding:
    event = dict(shadow_ai_egress.EXAMPLES[0].events[-1], time=time_ms)
    return Finding(detection="shadow_ai_egress", title="t", severity="medium", principal=principal, event=event,
                   description="d", remediation="r", provider=provider)


def _tally(ledger: MemoryLedger, finding: Finding, window_ms: int = 60_000):
    alert_id = alert_id_of(finding, window_ms)
    event = finding.event
    return ledger.record([AlertEvent(alert_id, event["event_id"], event["time"], finding.detection)])[alert_id]


def _numbered(time_ms: int, number: int, **kwargs: str) -> Finding:
    finding = _finding_at(time_ms, **kwargs)
    finding.event["event_id"] = f"event-{number}"
    return finding


def test_one_alert_per_key_per_tumbling_window() -> None:
    ledger = MemoryLedger()
    first = _tally(ledger, _numbered(1_000, 1))
    assert first.is_new and first.count == 1
    repeats = [_tally(ledger, _numbered(t, n)) for n, t in enumerate((5_000, 30_000, 59_999), start=2)]
    assert [tally.is_new for tally in repeats] == [False] * 3
    assert [tally.count for tally in repeats] == [2, 3, 4]
    assert {tally.alert_id for tally in repeats} == {first.alert_id}
    assert repeats[-1].first_seen_ms == 1_000 and repeats[-1].last_seen_ms == 59_999

    next_window = _tally(ledger, _numbered(60_000, 9))
    assert next_window.is_new and next_window.count == 1 and next_window.alert_id != first.alert_id

    other = _tally(ledger, _numbered(2_000, 10, principal="10.0.0.2"))
    assert other.is_new  # a different key has its own alert


def test_windows_are_aligned_to_the_epoch() -> None:
    assert window_start(3_599_999, 3_600_000) == 0
    assert window_start(3_600_000, 3_600_000) == 3_600_000
    with pytest.raises(ValueError):
        window_start(1, 0)


def test_late_findings_join_their_window() -> None:
    ledger = MemoryLedger()
    _tally(ledger, _numbered(50_000, 1))
    late = _tally(ledger, _numbered(40_000, 2))
    assert not late.is_new and late.first_seen_ms == 40_000 and late.last_seen_ms == 50_000


def test_alert_ids_are_stable_across_replays_and_order() -> None:
    times = [0, 10, 70_000, 70_500]
    forward = [alert_id_of(_finding_at(t), 60_000) for t in times]
    backward = [alert_id_of(_finding_at(t), 60_000) for t in reversed(times)]
    assert forward == list(reversed(backward))
    assert len(set(forward)) == 2


def test_an_event_counts_once_however_often_it_is_recorded() -> None:
    ledger = MemoryLedger()
    finding = _numbered(1_000, 1)
    assert _tally(ledger, finding).count == 1
    again = _tally(ledger, finding)  # a redelivery
    assert again.count == 1
    assert again.is_new, "the only event is this batch's: the SIEM may not have seen the alert yet"
    assert _tally(ledger, _numbered(2_000, 2)).count == 2


def test_alert_for_renders_new_and_updated_alerts() -> None:
    ledger = MemoryLedger()
    finding = _gateway_finding()
    first = alert_for(finding, _tally(ledger, finding))
    second_finding = dataclasses.replace(finding, event={**finding.event, "event_id": "another"})
    second = alert_for(second_finding, _tally(ledger, second_finding))
    assert (first["activity_id"], first["count"]) == (1, 1)
    assert (second["activity_id"], second["count"]) == (2, 2)
    assert first["finding_info"]["uid"] == second["finding_info"]["uid"]
    assert_valid_detection_finding(second)


def test_ocsf_profiles_product_version_confidence_and_resource_identity() -> None:
    from importlib import metadata

    cloud = to_ocsf(_cloud_finding(), count=1, first_seen_ms=0, last_seen_ms=0, alert_id="c1")
    gateway = to_ocsf(_gateway_finding(), count=1, first_seen_ms=0, last_seen_ms=0, alert_id="g1")
    # The cloud profile is declared exactly when its attributes (cloud, resources[].region) are sent.
    assert cloud["metadata"]["profiles"] == ["cloud"] and "cloud" in cloud
    assert "profiles" not in gateway["metadata"] and "cloud" not in gateway
    for alert in (cloud, gateway):
        assert alert["metadata"]["product"]["version"] == metadata.version("aispm")
        assert (alert["confidence_id"], alert["confidence"]) == (3, "High")
        for resource in alert.get("resources", []):
            assert resource.get("name") or resource.get("uid")
            assert "region" not in resource or "cloud" in alert
        assert_valid_detection_finding(alert)


def test_a_resource_named_by_nothing_but_its_provider_gets_the_providers_name() -> None:
    import dataclasses

    finding = dataclasses.replace(_gateway_finding(), context={}, provider="openai")
    alert = to_ocsf(finding, count=1, first_seen_ms=0, last_seen_ms=0, alert_id="p1")
    assert alert["resources"][0]["name"] == "openai"
    assert_valid_detection_finding(alert)


def test_an_anomaly_alert_is_medium_confidence() -> None:
    import dataclasses

    finding = dataclasses.replace(_gateway_finding(), detection="anomalous_access",
                                  context={"model_version": "v1", "score": 3.2})
    alert = to_ocsf(finding, count=1, first_seen_ms=0, last_seen_ms=0, alert_id="m1")
    assert (alert["confidence_id"], alert["confidence"]) == (2, "Medium")

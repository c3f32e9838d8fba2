"""Alerts: OCSF Detection Findings validated by py-ocsf-models, and windowed dedup."""

from __future__ import annotations

import copy
from collections.abc import Iterator, MutableMapping
from typing import Any

import orjson
import pytest
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from pydantic import ValidationError

from streams.alerts import AlertDeduper, alert_for, to_ocsf
from streams.catalog import default_catalog
from streams.detections import bedrock_runtime, shadow_ai
from streams.detections.finding import Finding
from streams.rules.examples import assumed_role, cloudtrail

# OCSF 1.x Evidence Artifacts attributes that py-ocsf-models has not modelled yet (its own TODO list in
# objects/evidence_artifacts.py); everything else in an alert must be a field the library knows.
UNMODELLED_EVIDENCE_FIELDS = {"actor", "src_endpoint", "dst_endpoint"}


def _gateway_finding() -> Finding:
    [finding] = shadow_ai.detect(shadow_ai.EXAMPLES[0].events[-1], default_catalog(), None)
    return finding


def _cloud_finding() -> Finding:
    event = cloudtrail("InvokeModel", params={"modelId": "anthropic.claude-3-haiku-20240307-v1:0"},
                       identity=assumed_role("webapp"))
    [finding] = bedrock_runtime.detect(event, default_catalog(), None)
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
               if not (path.startswith(".evidences[") and path.rsplit(".", 1)[-1] in UNMODELLED_EVIDENCE_FIELDS)]
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
    event = dict(shadow_ai.EXAMPLES[0].events[-1], time=time_ms)
    return Finding(detection="shadow_ai_egress", title="t", severity="medium", principal=principal, event=event,
                   description="d", remediation="r", provider=provider)


def test_one_alert_per_key_per_window() -> None:
    deduper = AlertDeduper(window_ms=60_000)
    first = deduper.observe(_finding_at(1_000))
    assert first.is_new and first.count == 1
    repeats = [deduper.observe(_finding_at(t)) for t in (5_000, 30_000, 60_999)]
    assert [emit.kind for emit in repeats] == ["update"] * 3
    assert [emit.count for emit in repeats] == [2, 3, 4]
    assert {emit.alert_id for emit in repeats} == {first.alert_id}
    assert repeats[-1].first_seen_ms == 1_000 and repeats[-1].last_seen_ms == 60_999

    next_window = deduper.observe(_finding_at(61_000))
    assert next_window.is_new and next_window.count == 1 and next_window.alert_id != first.alert_id

    other = deduper.observe(_finding_at(2_000, principal="10.0.0.2"))
    assert other.is_new  # a different key has its own window


def test_late_findings_join_the_open_window() -> None:
    deduper = AlertDeduper(window_ms=60_000)
    deduper.observe(_finding_at(50_000))
    late = deduper.observe(_finding_at(40_000))
    assert late.kind == "update" and late.first_seen_ms == 40_000 and late.last_seen_ms == 50_000


def test_alert_ids_are_stable_across_replays() -> None:
    times = [0, 10, 70_000, 70_500]
    runs = []
    for _ in range(2):
        deduper = AlertDeduper(window_ms=60_000)
        runs.append([deduper.observe(_finding_at(t)).alert_id for t in times])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 2


def test_expire_bounds_the_state() -> None:
    deduper = AlertDeduper(window_ms=60_000)
    deduper.observe(_finding_at(0, principal="a"))
    deduper.observe(_finding_at(50_000, principal="b"))
    assert deduper.expire(60_000) == ["shadow_ai_egress|a|openai"]
    assert list(deduper.state) == ["shadow_ai_egress|b|openai"]


class AssignmentOnly(MutableMapping[str, dict]):
    """Like a Faust table: a change counts only when the value is assigned, so values are frozen copies."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self.assignments = 0

    def __getitem__(self, key: str) -> dict:
        return orjson.loads(self._data[key])

    def __setitem__(self, key: str, value: dict) -> None:
        self.assignments += 1
        self._data[key] = orjson.dumps(value)  # must be JSON-able

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_state_can_live_in_a_table_of_json_values() -> None:
    table = AssignmentOnly()
    deduper = AlertDeduper(window_ms=60_000, state=table)
    emits = [deduper.observe(_finding_at(t)) for t in (0, 1_000, 2_000)]
    assert [emit.count for emit in emits] == [1, 2, 3]
    assert table.assignments == 3
    # A second deduper over the same table (a restarted worker) continues the open alert.
    resumed = AlertDeduper(window_ms=60_000, state=table).observe(_finding_at(3_000))
    assert resumed.kind == "update" and resumed.count == 4 and resumed.alert_id == emits[0].alert_id


def test_alert_for_renders_new_and_updated_alerts() -> None:
    deduper = AlertDeduper(window_ms=60_000)
    finding = _gateway_finding()
    first = alert_for(finding, deduper.observe(finding))
    second = alert_for(finding, deduper.observe(finding))
    assert (first["activity_id"], first["count"]) == (1, 1)
    assert (second["activity_id"], second["count"]) == (2, 2)
    assert first["finding_info"]["uid"] == second["finding_info"]["uid"]
    assert_valid_detection_finding(second)


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError):
        AlertDeduper(window_ms=0)

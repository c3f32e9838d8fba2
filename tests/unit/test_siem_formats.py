"""The alerts topic's formats: ECS checked against Elastic's field reference, HEC against its event envelope,
each on every alert the shared datasets and the rules' examples raise; the setting that picks one."""

from __future__ import annotations

import copy

import orjson
import pytest
from pydantic import ValidationError

from streams.detect.pipeline import Detectors
from streams.detect.rules import shadow_ai_egress
from streams.detect.siem import ECS_VERSION, HecOptions, render_alert, to_ecs, to_hec
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from streams.enrich.policy import Policy
from streams.settings import Settings, settings_for_environment
from tests import alert_corpus as corpus
from tests.ocsf_schema import schema_problems
from tests.siem_schemas import ecs_problems, ecs_reference, hec_problems


@pytest.fixture(scope="module")
def alerts() -> list[dict]:
    return [*corpus.dataset_alerts(), *corpus.example_alerts()]


def _named(alerts: list[dict], problems) -> dict[str, list[str]]:
    return {alert["finding_info"]["analytic"]["uid"]: found for alert in alerts if (found := problems(alert))}


def test_every_alert_as_ecs_conforms_to_the_ecs_field_reference(alerts) -> None:
    assert ECS_VERSION == ecs_reference()["ecs_version"]
    assert _named(alerts, lambda alert: ecs_problems(to_ecs(alert))) == {}


def test_ecs_carries_the_alert(alerts) -> None:
    cloud = next(a for a in alerts if a.get("cloud") and a["finding_info"].get("attacks"))
    document = to_ecs(cloud)
    assert document["event"]["kind"] == "alert" and document["rule"]["id"] == cloud["finding_info"]["analytic"]["uid"]
    assert document["event"]["severity"] == cloud["severity_id"] and document["aispm"]["count"] == cloud["count"]
    assert document["cloud"] == {"provider": "aws", "account": {"id": cloud["cloud"]["account"]["uid"]},
                                 "region": cloud["cloud"]["region"]}
    attacks = [a for a in cloud["finding_info"]["attacks"] if not a["technique"]["uid"].startswith("AML.")]
    assert document["threat"]["framework"] == "MITRE ATT&CK"
    assert set(document["threat"]["technique"]["id"]) == {a["technique"]["uid"] for a in attacks}
    assert set(document["threat"]["tactic"]["id"]) == {a["tactic"]["uid"] for a in attacks}
    assert set(cloud["unmapped"]["techniques"]) <= set(document["aispm"]["techniques"])
    assert document["@timestamp"].endswith("Z") and document["user"]["name"] == cloud["unmapped"]["principal"]


def test_ecs_threat_names_one_framework_atlas_when_the_alert_has_no_att_and_ck_id(alerts) -> None:
    def is_atlas(attack: dict) -> bool:
        return attack["technique"]["uid"].startswith("AML.")

    mixed = next(a for a in alerts if {is_atlas(x) for x in a["finding_info"].get("attacks", [])} == {True, False})
    atlas_only = copy.deepcopy(mixed)
    atlas_only["finding_info"]["attacks"] = [a for a in mixed["finding_info"]["attacks"] if is_atlas(a)]
    threat = to_ecs(atlas_only)["threat"]
    assert threat["framework"] == "MITRE ATLAS"
    assert set(threat["technique"]["id"]) == {a["technique"]["uid"] for a in atlas_only["finding_info"]["attacks"]}
    assert all(uid.startswith("AML.TA") for uid in threat["tactic"]["id"])
    assert ecs_problems(to_ecs(atlas_only)) == []
    assert to_ecs(mixed)["threat"]["framework"] == "MITRE ATT&CK"


def test_the_ecs_check_can_fail() -> None:
    good = to_ecs(corpus.dataset_alerts()[0])
    assert ecs_problems(good) == []
    broken = {
        "severity as text": ("event", "severity", "high"),
        "unknown kind": ("event", "kind", "finding"),
        "not an address": ("source", "ip", "035.249.253.2x"),
        "tactic not an array": ("threat", "framework", ["MITRE ATT&CK"]),
        "misspelt field": ("user", "nam", "x"),
        "category not an array": ("event", "category", "intrusion_detection"),
        "type the category does not expect": ("event", "type", ["creation"]),
        "bad date": ("event", "start", "yesterday"),
    }
    for name, (namespace, field, value) in broken.items():
        document = copy.deepcopy(good)
        document.setdefault(namespace, {})[field] = value
        assert ecs_problems(document), name
    assert ecs_problems({k: v for k, v in good.items() if k != "@timestamp"})


def test_every_alert_as_hec_fits_the_envelope_and_carries_valid_ocsf(alerts) -> None:
    options = HecOptions(index="security", host="worker-1")
    assert _named(alerts, lambda alert: hec_problems(to_hec(alert, options))) == {}
    for alert in alerts[:5]:
        event = to_hec(alert, options)
        assert event["event"] == alert and schema_problems(event["event"]) == []
        assert event["time"] == alert["time"] / 1000 and event["index"] == "security" and event["host"] == "worker-1"
        assert event["sourcetype"] == "aispm:ocsf:detection_finding"
        assert event["fields"]["detection"] == alert["finding_info"]["analytic"]["uid"]


def test_hec_without_an_index_leaves_it_to_the_token_and_names_this_host() -> None:
    event = to_hec(corpus.dataset_alerts()[0], HecOptions())
    assert "index" not in event and event["host"]
    assert hec_problems(event) == []


def test_the_hec_check_can_fail() -> None:
    good = to_hec(corpus.dataset_alerts()[0], HecOptions(host="h"))
    cases = {"iso time": dict(good, time="2026-01-01T00:00:00Z"), "no event": {k: v for k, v in good.items() if k != "event"},
             "nested field": dict(good, fields={"ctx": {"a": 1}}), "number field": dict(good, fields={"n": 3}),
             "unknown key": dict(good, severity="high"), "empty host": dict(good, host=""),
             "reserved field": dict(good, fields={"source": "x"})}
    for name, event in cases.items():
        assert hec_problems(event), name


def test_render_alert_picks_the_format() -> None:
    alert = corpus.dataset_alerts()[0]
    assert render_alert(alert, "ocsf") is alert
    assert render_alert(alert, "ecs") == to_ecs(alert)
    assert render_alert(alert, "hec", HecOptions(host="h")) == to_hec(alert, HecOptions(host="h"))
    with pytest.raises(ValueError, match="unknown alert format"):
        render_alert(alert, "cef")  # type: ignore[arg-type]


def test_the_setting_defaults_to_ocsf_and_reads_the_environment() -> None:
    assert Settings().detection.alert_format == "ocsf"
    settings = settings_for_environment({"AISPM_DETECTION__ALERT_FORMAT": "hec", "AISPM_DETECTION__HEC_INDEX": "sec"})
    assert (settings.detection.alert_format, settings.detection.hec_index) == ("hec", "sec")
    with pytest.raises(ValidationError):
        Settings(detection={"alert_format": "cef"})


@pytest.mark.parametrize("fmt", ["ocsf", "ecs", "hec"])
def test_the_stage_sends_the_format_and_keeps_ocsf_in_the_alert_rows(fmt) -> None:
    sent: list[tuple[bytes, bytes]] = []
    store = MemoryDetectionStore()
    stage = DetectionStage(detectors=Detectors.default(lambda: Policy.discovery()), store=store,
                           send_alerts=sent.extend, window_ms=3_600_000, alert_format=fmt,
                           hec=HecOptions(host="h"))
    stage.commit(stage.prepare_events([copy.deepcopy(e) for e in shadow_ai_egress.EXAMPLES[0].events]))
    [(key, value)] = sent
    [row] = store.alert_rows.values()
    ocsf = orjson.loads(row["ocsf"])
    assert key == row["alert_id"].encode() and schema_problems(ocsf) == []
    message = orjson.loads(value)
    if fmt == "ocsf":
        assert message == ocsf
    elif fmt == "ecs":
        assert ecs_problems(message) == [] and message["aispm"]["alert_id"] == row["alert_id"]
    else:
        assert hec_problems(message) == [] and message["event"] == ocsf

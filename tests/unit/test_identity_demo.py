"""Identity resolution on the demo day, through the stream's detection stage and the real engine (chDB):
the IP-only shadow-AI alerts name their person with the binding's evidence, the hot desk's is ambiguous,
and the ZPA session shipped late corrects the open alert about its address.

The day's records are normalized and forwarded as the ingest does it (Arrow messages of the events
topic, raw records only where ``Detectors.raw_wanted`` says) and fed to ``DetectionStage`` in event-time
order, the late ones (``DemoRecord.late``) in a batch of their own, as ``aispm demo`` sends them.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pytest

from streams.demo import demo_policy_path, generate_labelled
from streams.demo.incidents import shadow_ai_over_vpn, shadow_ai_shared_desk
from streams.demo.world import EMPLOYEE_BY_LOGIN, SHADOW_AI_LAPTOP_IP, SHARED_DESK_IP, SHARED_DESK_USERS
from streams.detect.identity import IdentityStage
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage
from streams.enrich.policy import Policy
from streams.normalize import normalize_message
from streams.normalize.batch import check_events
from streams.runtime.ingest import route_frame
from streams.runtime.store import Store
from tests.conftest import fresh_database_settings

BATCH = 400
NINA = EMPLOYEE_BY_LOGIN["nina.petrova"].email
BEN = EMPLOYEE_BY_LOGIN["ben.carter"].email


@dataclass
class DemoRun:
    store: Store
    on_time: list[dict]
    """Alerts sent while the day's records went through, in order."""
    late: list[dict]
    """Alerts sent for the late batch (the corrections)."""

    def alerts_about(self, address: str, sent: list[dict] | None = None, *,
                     detection: str = "shadow_ai_egress") -> list[dict]:
        """Alerts of ``detection`` whose event came from ``address``."""
        return [alert for alert in (self.on_time if sent is None else sent)
                if alert["finding_info"]["analytic"]["uid"] == detection
                and alert["evidences"][0]["data"].get("src_ip") == address]

    def stored_identity(self, alert_id: str) -> dict:
        _columns, rows = self.store.query("SELECT context FROM alerts FINAL WHERE alert_id = {id:String}",
                                          {"id": alert_id})
        (context,) = rows[0]
        return orjson.loads(context).get("identity", {})


def _normalized(records) -> list[dict]:
    events = [event for record in records for event in normalize_message(record.family, record.value).events]
    return sorted(events, key=lambda event: (event["time"], event["event_id"]))


@pytest.fixture(scope="module")
def demo_run(chdb_data_dir):
    store = Store(fresh_database_settings(chdb_data_dir))
    store.migrate()
    policy = Policy.from_file(demo_policy_path())
    detectors = Detectors.default(policy=lambda: policy)
    sent: list[dict] = []
    stage = DetectionStage(detectors=detectors, store=store, window_ms=3_600_000,
                           send_alerts=lambda messages: sent.extend(orjson.loads(v) for _k, v in messages),
                           identity=IdentityStage(store=store))
    stage.load()
    records = generate_labelled()

    def feed(events: list[dict]) -> None:
        # As the ingest forwards them: Arrow messages on the events topic, raw records only where wanted.
        detectors.enrich(events)
        store.land_events(events)
        for _partition, message in route_frame(check_events(events).frame, 1, BATCH, detectors.raw_wanted()):
            stage.commit(stage.prepare([message]))

    feed(_normalized(record for record in records if not record.late))
    on_time = list(sent)
    feed(_normalized(record for record in records if record.late))
    try:
        yield DemoRun(store, on_time, sent[len(on_time):])
    finally:
        store.close()


def _identity_evidence(alert: dict) -> dict:
    return next(item for item in alert["evidences"] if item["name"] == "identity_binding")["data"]


def test_the_laptops_shadow_ai_alerts_name_nina_with_the_okta_sign_in_behind_the_office_proxy(demo_run):
    alerts = demo_run.alerts_about(SHADOW_AI_LAPTOP_IP)
    assert alerts, "the laptop's shadow-AI use raised no alert"
    for alert in alerts:
        assert alert["evidences"][0]["actor"]["user"]["name"] == NINA
        evidence = _identity_evidence(alert)
        assert (evidence["identity"], evidence["source"], evidence["ambiguous"]) == (NINA, "okta_signin", False)
        assert evidence["evidence"].startswith(f"{NINA} via Okta sign-in 08:0")
        assert evidence["evidence"].endswith(f"from {SHADOW_AI_LAPTOP_IP}")
        assert evidence["evidence"] in alert["finding_info"]["desc"]
        assert demo_run.stored_identity(alert["finding_info"]["uid"])["identity"] == NINA


def test_the_hot_desks_alert_is_ambiguous_names_both_candidates_and_no_one(demo_run):
    alerts = demo_run.alerts_about(SHARED_DESK_IP)
    assert alerts, "the hot desk's ChatGPT use raised no alert"
    candidates = sorted(EMPLOYEE_BY_LOGIN[login].email for login in SHARED_DESK_USERS)
    for alert in alerts:
        assert shadow_ai_shared_desk.HOST in orjson.dumps(alert).decode()
        assert "actor" not in alert["evidences"][0]
        identity = alert["unmapped"]["identity"]
        assert identity["ambiguous"] is True and identity["identity"] == ""
        assert identity["candidates"] == candidates
        assert f"{SHARED_DESK_IP} is ambiguous" in alert["finding_info"]["desc"]
        assert all(name in identity["evidence"] for name in candidates)


def test_the_late_zpa_session_corrects_the_open_vpn_alert_with_identity_version_1(demo_run):
    address = shadow_ai_over_vpn.ADDRESS
    raised = demo_run.alerts_about(address)
    assert raised, "the ZPA client's Claude use raised no alert"
    for alert in raised:
        assert "identity" not in alert["unmapped"] and "actor" not in alert["evidences"][0]
    # Every open alert about the address (one per alert window) is re-sent once, naming ben.
    corrections = demo_run.alerts_about(address, demo_run.late)
    assert sorted(alert["finding_info"]["uid"] for alert in corrections) == \
        sorted({alert["finding_info"]["uid"] for alert in raised})
    for correction in corrections:
        assert correction["activity_name"] == "Update"
        assert correction["evidences"][0]["actor"]["user"]["name"] == BEN
        identity = correction["unmapped"]["identity"]
        assert (identity["identity"], identity["source"], identity["version"]) == (BEN, "zpa_session", 1)
        assert identity["evidence"] == f"{BEN} via ZPA session 08:12 from {address}"
        assert correction["metadata"]["uid"].endswith(":identity-v1")
        assert demo_run.stored_identity(correction["finding_info"]["uid"])["identity"] == BEN
    # Nothing else changed: the late session bound no other alert's address.
    assert len(demo_run.late) == len(corrections)


def test_bindings_of_the_demo_day_are_stored(demo_run):
    _columns, rows = demo_run.store.query(
        "SELECT source, uniqExact(ip) FROM ip_bindings FINAL GROUP BY source ORDER BY source", {})
    by_source = dict(rows)
    assert by_source["dhcp_lease"] >= 30 and by_source["okta_signin"] >= 30
    assert by_source["zpa_session"] == 3


# --- the answer in ClickHouse: sql/queries/events_with_identity.sql -------------------------------------

def _events_with_identity(store: Store) -> dict[str, list[tuple]]:
    from streams.runtime.queries import load_saved_query
    from tests.conftest import saved_query_parameters

    query = load_saved_query("events_with_identity")
    columns, rows = store.query(query.sql, {**saved_query_parameters(query.name), "limit": "100000"})
    by_address: dict[str, list[tuple]] = {}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        by_address.setdefault(record["address"], []).append(
            (record["resolved_identity"], record["identity_source"], tuple(record["candidates"]), record["time"]))
    return by_address


def test_the_saved_query_names_who_held_each_address_as_the_stage_does(demo_run):
    by_address = _events_with_identity(demo_run.store)
    nina = {answer[:2] for answer in by_address[SHADOW_AI_LAPTOP_IP]}
    # Before her sign-on through the proxy only the laptop's lease answered; after it, she does.
    assert (NINA, "okta_signin") in nina
    assert nina <= {(NINA, "okta_signin"), ("nina-petrova-mbp.corp.globex.example", "dhcp_lease"), ("", "")}
    candidates = tuple(sorted(EMPLOYEE_BY_LOGIN[login].email for login in SHARED_DESK_USERS))
    desk = {answer[:3] for answer in by_address[SHARED_DESK_IP]}
    assert ("", "ambiguous", candidates) in desk
    # The late ZPA session counts too: the query reads the bindings as they are now.
    assert {answer[:2] for answer in by_address[shadow_ai_over_vpn.ADDRESS]} == {(BEN, "zpa_session")}


def test_the_events_own_identity_columns_stay_empty_the_query_holds_the_answer(demo_run):
    _columns, rows = demo_run.store.query(
        "SELECT countIf(resolved_identity != '' OR identity_source != ''), count() FROM events FINAL", {})
    ((filled, total),) = rows
    assert total > 3000 and filled == 0


def test_the_alerts_saved_query_shows_person_ambiguous_and_corrected_answers(demo_run):
    from streams.runtime.queries import load_saved_query
    from tests.conftest import saved_query_parameters

    query = load_saved_query("alerts_with_identity")
    columns, rows = demo_run.store.query(query.sql, saved_query_parameters(query.name))
    answers = {(row["detection"], row["address"]): row for row in (dict(zip(columns, r, strict=True)) for r in rows)}
    nina = answers["shadow_ai_egress", SHADOW_AI_LAPTOP_IP]
    assert (nina["identity"], nina["source"]) == (NINA, "okta_signin")
    assert nina["evidence"].startswith(f"{NINA} via Okta sign-in")
    assert answers["shadow_ai_egress", SHARED_DESK_IP]["identity"] == "ambiguous"
    vpn = answers["shadow_ai_egress", shadow_ai_over_vpn.ADDRESS]
    assert (vpn["identity"], vpn["source"], vpn["version"]) == (BEN, "zpa_session", 1)

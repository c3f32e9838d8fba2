"""Identity resolution: bindings learned from sign-ins, sessions and leases; IP-only alerts that name a
person with the binding's evidence; ambiguous addresses never guessed; late bindings correcting alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from streams.detect.identity import IdentityStage
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from streams.enrich.identity import BindingTable, bindings_of
from streams.normalize import normalize_message

T0 = int(datetime(2026, 11, 20, 8, 1, tzinfo=UTC).timestamp() * 1000)
MIN = 60_000


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def one(family: str, record: dict) -> dict:
    result = normalize_message(family, orjson.dumps(record))
    assert not result.failures and len(result.events) == 1, result.failures
    return result.events[0]


def okta_sign_in(user: str, ip: str, at: int, *, chain: tuple[str, ...] = (), proxy: bool = False) -> dict:
    return one("audit", {
        "uuid": f"okta-{user}-{ip}-{at}", "published": iso(at), "eventType": "user.session.start",
        "actor": {"alternateId": user, "type": "User"}, "client": {"ipAddress": ip},
        "request": {"ipChain": [{"ip": hop} for hop in chain]}, "securityContext": {"isProxy": proxy},
        "outcome": {"result": "SUCCESS"}, "displayMessage": "User login to Okta",
    })


def zeek_ssl(ip: str, host: str, at: int, uid: str) -> dict:
    return one("gateway", {"_path": "ssl", "ts": at / 1000, "uid": uid, "id.orig_h": ip, "id.orig_p": 50000,
                           "id.resp_h": "160.79.104.10", "id.resp_p": 443, "server_name": host, "established": True})


def zpa(user: str, ip: str, login: int, logout: int | None, session: str) -> dict:
    return one("gateway", {"LogTimestamp": "", "Username": user, "SessionID": session, "PrivateIP": ip,
                           "SessionStatus": "ZPN_STATUS_DISCONNECTED" if logout else "ZPN_STATUS_AUTHENTICATED",
                           "TimestampAuthentication": iso(login),
                           "TimestampUnAuthentication": iso(logout) if logout else ""})


def dhcp(ip: str, host: str, at: int) -> dict:
    return one("gateway", {"_path": "dhcp", "ts": at / 1000, "uids": ["C1"], "assigned_addr": ip,
                           "mac": "3c:22:fb:11:57:0a", "host_name": host, "lease_time": 28800.0,
                           "msg_types": ["DISCOVER", "OFFER", "REQUEST", "ACK"]})


def stage() -> tuple[DetectionStage, MemoryDetectionStore, list[dict]]:
    store = MemoryDetectionStore()
    sent: list[dict] = []
    detection = DetectionStage(detectors=Detectors.default(), store=store, window_ms=3_600_000,
                               send_alerts=lambda messages: sent.extend(orjson.loads(v) for _k, v in messages),
                               identity=IdentityStage(store=store))
    detection.load()
    return detection, store, sent


def run(detection: DetectionStage, events: list[dict]) -> None:
    detection.commit(detection.prepare([orjson.dumps(events)]))


# --- learning and resolving ----------------------------------------------------------------------------

def test_okta_sign_in_binds_the_client_and_the_private_hops_of_its_ip_chain():
    event = okta_sign_in("alice@corp.example", "198.51.100.24", T0, chain=("10.20.1.57", "198.51.100.24"))
    found = {(b.ip, b.identity, b.source, b.shared) for b in bindings_of(event)}
    assert found == {("198.51.100.24", "alice@corp.example", "okta_signin", False),
                     ("10.20.1.57", "alice@corp.example", "okta_signin", False)}
    table = BindingTable()
    table.add(bindings_of(event))
    answer = table.resolve("10.20.1.57", T0 + 30 * MIN)
    assert answer is not None and not answer.ambiguous
    assert answer.evidence == "alice@corp.example via Okta sign-in 08:01 from 10.20.1.57"
    assert table.resolve("10.20.1.57", T0 - MIN) is None  # not before the sign-in


def test_a_proxy_address_and_an_address_of_two_people_are_ambiguous_never_guessed():
    table = BindingTable()
    table.add(bindings_of(okta_sign_in("alice@corp.example", "10.20.3.250", T0)))
    table.add(bindings_of(okta_sign_in("bob@corp.example", "10.20.3.250", T0 + 5 * MIN)))
    table.add(bindings_of(okta_sign_in("carol@corp.example", "203.0.113.9", T0, proxy=True)))
    two = table.resolve("10.20.3.250", T0 + 10 * MIN)
    assert two is not None and two.ambiguous and two.identity == ""
    assert two.candidates == ("alice@corp.example", "bob@corp.example")
    assert "ambiguous" in two.evidence and "bob@corp.example" in two.evidence
    shared = table.resolve("203.0.113.9", T0 + MIN)
    assert shared is not None and shared.ambiguous and "shared egress" in shared.evidence
    only_alice = table.resolve("10.20.3.250", T0 + 2 * MIN)  # before bob signed in
    assert only_alice is not None and only_alice.identity == "alice@corp.example"


def test_an_office_nat_names_its_first_few_people_once_each_and_counts_the_rest():
    table = BindingTable()
    for person in range(12):  # twelve people, several sign-ins each, from one address
        for sign_in in range(3):
            table.add(bindings_of(okta_sign_in(f"user{person:02d}@corp.example", "198.51.100.7",
                                               T0 + (sign_in * 12 + person) * MIN)))
    office = table.resolve("198.51.100.7", T0 + 40 * MIN, any_time=True)
    assert office is not None and office.ambiguous and len(office.candidates) == 12
    named = [f"user{person:02d}@corp.example" for person in range(5)]
    assert all(office.evidence.count(person) == 1 for person in named), office.evidence
    assert "user05@corp.example" not in office.evidence and "; and 7 more);" in office.evidence
    assert "user00@corp.example (Okta sign-in 08:01)" in office.evidence, "each named at its earliest binding"


def test_a_person_wins_over_the_device_lease_and_a_vpn_session_ends_at_logout():
    table = BindingTable()
    table.add(bindings_of(dhcp("10.20.1.57", "nina-mbp", T0 - 60 * MIN)))
    device = table.resolve("10.20.1.57", T0)
    assert device is not None and (device.identity, device.kind, device.source) == ("nina-mbp", "device", "dhcp_lease")
    table.add(bindings_of(zpa("nina@corp.example", "10.20.1.57", T0, None, "s1")))
    table.add(bindings_of(zpa("nina@corp.example", "10.20.1.57", T0, T0 + 90 * MIN, "s1")))
    assert len(table.by_ip["10.20.1.57"]) == 2  # the logout replaced the login's binding
    person = table.resolve("10.20.1.57", T0 + 10 * MIN)
    assert person is not None and (person.identity, person.source) == ("nina@corp.example", "zpa_session")
    after = table.resolve("10.20.1.57", T0 + 100 * MIN)
    assert after is not None and after.identity == "nina-mbp"


def test_cloudtrail_binds_people_not_service_roles_or_service_addresses():
    from streams.detect.examples import assumed_role, cloudtrail, iam_user

    sso = assumed_role("AWSReservedSSO_PowerUserAccess_3f0a6c9d2e18b475", "alice@corp.example")
    assert [b.identity for b in bindings_of(cloudtrail("ListBuckets", "s3.amazonaws.com", identity=sso,
                                                       source_ip="10.20.1.57"))] == ["alice@corp.example"]
    assert bindings_of(cloudtrail("ListBuckets", "s3.amazonaws.com", identity=assumed_role("etl", "i-0abc"),
                                  source_ip="10.30.2.21")) == []
    assert bindings_of(cloudtrail("ListBuckets", "s3.amazonaws.com", identity=iam_user("bob"),
                                  source_ip="bedrock.amazonaws.com")) == []


def test_a_session_of_calls_is_one_binding_per_run_and_binds_the_same_times():
    """A person's calls each bind the address for an hour; a batch lands one binding per run of calls
    whose hours overlap, covering exactly the times the calls' bindings covered."""
    from streams.detect.examples import assumed_role, cloudtrail
    from streams.enrich.identity import ACTIVITY_TTL_MS, coalesce_activity

    sso = assumed_role("AWSReservedSSO_PowerUserAccess_3f0a6c9d2e18b475", "alice@corp.example")
    morning = [T0 + n * MIN for n in range(0, 100, 2)]  # 50 calls over 100 minutes
    afternoon = [T0 + 5 * 60 * MIN + n * MIN for n in range(3)]  # after a gap of more than an hour
    calls = [cloudtrail("ListBuckets", "s3.amazonaws.com", identity=sso, source_ip="10.20.1.57", at=0)
             | {"time": at, "event_id": f"call-{at}"} for at in afternoon + morning]
    each = [binding for call in calls for binding in bindings_of(call)]
    lease = bindings_of(dhcp("10.20.1.57", "alice-laptop", T0))
    merged = coalesce_activity(each + lease)
    people = sorted((b.valid_from, b.valid_to, b.event_id) for b in merged if b.kind == "user")
    assert people == [(morning[0], morning[-1] + ACTIVITY_TTL_MS, f"call-{morning[0]}"),
                      (afternoon[0], afternoon[-1] + ACTIVITY_TTL_MS, f"call-{afternoon[0]}")]
    assert [b for b in merged if b.kind == "device"] == lease
    one_each, coalesced = BindingTable(), BindingTable()
    one_each.add(each + lease)
    coalesced.add(merged)
    for at in range(T0 - MIN, afternoon[-1] + ACTIVITY_TTL_MS + 2 * MIN, 7 * MIN):
        expected = one_each.resolve("10.20.1.57", at)
        got = coalesced.resolve("10.20.1.57", at)
        assert (expected and expected.identity) == (got and got.identity), at
    detection, store, _sent = stage()
    run(detection, calls)
    assert len(store.bindings) == 2


# --- the stage: alerts ---------------------------------------------------------------------------------

def test_an_ip_only_shadow_ai_alert_names_the_person_with_the_bindings_evidence():
    detection, store, sent = stage()
    run(detection, [okta_sign_in("alice@corp.example", "10.20.1.57", T0),
                    zeek_ssl("10.20.1.57", "api.anthropic.com", T0 + 20 * MIN, "Cx1")])
    (alert,) = sent
    assert alert["evidences"][0]["actor"]["user"]["name"] == "alice@corp.example"
    binding = next(item for item in alert["evidences"] if item["name"] == "identity_binding")
    assert binding["data"]["evidence"] == "alice@corp.example via Okta sign-in 08:01 from 10.20.1.57"
    assert alert["unmapped"]["identity"]["source"] == "okta_signin"
    assert "alice@corp.example via Okta sign-in" in alert["finding_info"]["desc"]
    (row,) = store.alert_rows.values()
    assert orjson.loads(row["context"])["identity"]["identity"] == "alice@corp.example"
    assert {b.ip for b in store.bindings.values()} == {"10.20.1.57"}  # persisted for other workers


def test_an_alert_about_an_ambiguous_address_says_so_and_names_no_one():
    detection, _store, sent = stage()
    run(detection, [okta_sign_in("alice@corp.example", "10.20.3.250", T0),
                    okta_sign_in("bob@corp.example", "10.20.3.250", T0 + MIN),
                    zeek_ssl("10.20.3.250", "api.anthropic.com", T0 + 20 * MIN, "Cx2")])
    (alert,) = sent
    assert "actor" not in alert["evidences"][0]
    assert alert["unmapped"]["identity"]["ambiguous"] is True
    assert alert["unmapped"]["identity"]["candidates"] == ["alice@corp.example", "bob@corp.example"]
    assert "ambiguous" in alert["finding_info"]["desc"]


def test_a_late_binding_corrects_the_open_alert_with_a_new_identity_version():
    detection, store, sent = stage()
    run(detection, [zeek_ssl("10.50.0.23", "api.anthropic.com", T0 + 20 * MIN, "Cx3")])
    (first,) = sent
    assert "identity" not in first["unmapped"] and "actor" not in first["evidences"][0]
    # The VPN session is logged at logout, two hours later.
    run(detection, [zpa("ben@corp.example", "10.50.0.23", T0, T0 + 120 * MIN, "s9")])
    assert len(sent) == 2
    correction = sent[1]
    assert correction["finding_info"]["uid"] == first["finding_info"]["uid"]
    assert correction["activity_name"] == "Update"
    assert correction["evidences"][0]["actor"]["user"]["name"] == "ben@corp.example"
    assert correction["unmapped"]["identity"]["version"] == 1  # the first identity it carries
    assert correction["metadata"]["uid"].endswith(":identity-v1")
    (row,) = store.alert_rows.values()
    assert orjson.loads(row["context"])["identity"]["identity"] == "ben@corp.example"
    # Redelivering the binding's batch changes nothing more.
    run(detection, [zpa("ben@corp.example", "10.50.0.23", T0, T0 + 120 * MIN, "s9")])
    assert len(sent) == 2


def test_resolved_ambiguous_and_corrected_alerts_are_valid_ocsf():
    from tests.ocsf_schema import schema_problems

    detection, _store, sent = stage()
    run(detection, [okta_sign_in("alice@corp.example", "10.20.1.57", T0),
                    okta_sign_in("alice@corp.example", "10.20.3.250", T0),
                    okta_sign_in("bob@corp.example", "10.20.3.250", T0),
                    zeek_ssl("10.20.1.57", "api.anthropic.com", T0 + 20 * MIN, "Cx4"),
                    zeek_ssl("10.20.3.250", "api.anthropic.com", T0 + 20 * MIN, "Cx5"),
                    zeek_ssl("10.50.0.23", "api.anthropic.com", T0 + 20 * MIN, "Cx6")])
    run(detection, [zpa("ben@corp.example", "10.50.0.23", T0, T0 + 120 * MIN, "s9")])
    assert len(sent) == 4
    for alert in sent:
        assert schema_problems(alert) == []


def test_an_alert_re_rendered_after_a_correction_keeps_its_identity_version():
    detection, store, sent = stage()
    run(detection, [okta_sign_in("alice@corp.example", "10.20.3.250", T0),
                    zeek_ssl("10.20.3.250", "api.anthropic.com", T0 + 20 * MIN, "Cv1")])
    assert sent[-1]["unmapped"]["identity"]["version"] == 1
    # bob's sign-in there, logged late: the address was shared, so the alert is corrected to ambiguous.
    run(detection, [okta_sign_in("bob@corp.example", "10.20.3.250", T0 + 5 * MIN)])
    assert sent[-1]["activity_name"] == "Update"
    assert (sent[-1]["unmapped"]["identity"]["version"], sent[-1]["unmapped"]["identity"]["ambiguous"]) == (2, True)
    # Another connection in the alert's window re-renders it: the same answer keeps version 2.
    run(detection, [zeek_ssl("10.20.3.250", "api.anthropic.com", T0 + 30 * MIN, "Cv2")])
    identity = sent[-1]["unmapped"]["identity"]
    assert sent[-1]["finding_info"]["uid"] == sent[0]["finding_info"]["uid"]
    assert (identity["version"], identity["ambiguous"]) == (2, True)
    (row,) = store.alert_rows.values()
    assert orjson.loads(row["context"])["identity"]["version"] == 2
    # A different answer passes it: carol's VPN session there, logged late, adds a third candidate.
    run(detection, [zpa("carol@corp.example", "10.20.3.250", T0 + 15 * MIN, T0 + 40 * MIN, "s7")])
    identity = sent[-1]["unmapped"]["identity"]
    assert sent[-1]["activity_name"] == "Update"
    assert identity["version"] == 3 and identity["previous"]["ambiguous"] is True
    assert identity["candidates"] == ["alice@corp.example", "bob@corp.example", "carol@corp.example"]


def test_whenever_answers_follow_the_bindings_an_address_gains_and_loses():
    table = BindingTable()
    table.add(bindings_of(okta_sign_in("alice@corp.example", "10.20.4.4", T0)))
    alone = table.resolve("10.20.4.4", T0 + MIN, any_time=True)
    assert alone is not None and alone.identity == "alice@corp.example" and alone.time == T0 + MIN
    assert table.resolve("10.20.4.4", T0 + 2 * MIN, any_time=True).time == T0 + 2 * MIN
    table.add(bindings_of(okta_sign_in("bob@corp.example", "10.20.4.4", T0 + 3 * MIN)))
    shared = table.resolve("10.20.4.4", T0 + 4 * MIN, any_time=True)
    assert shared is not None and shared.ambiguous and shared.candidates == ("alice@corp.example", "bob@corp.example")
    table.prune(T0 + 365 * 24 * 60 * MIN)
    assert table.resolve("10.20.4.4", T0 + 5 * MIN, any_time=True) is None


def test_the_rows_a_batch_reads_for_bindings_hold_every_binding_of_the_demo_and_few_cloudtrail_rows():
    from streams.demo import generate
    from streams.detect.identity import binding_rows
    from streams.normalize.batch import check_events

    events = [event for family, values in generate(seed=5, scale=1).items()
              for value in values for event in normalize_message(family, value).events]
    frame = check_events(events).frame
    binding = {event["event_id"] for event in events if bindings_of(event)}
    read = binding_rows(frame)
    assert binding and binding <= {row["event_id"] for row in read}
    assert {b.binding_id for row in read for b in bindings_of(row)} == {
        b.binding_id for event in events for b in bindings_of(event)}, "the rows give the same bindings"
    # Of the CloudTrail rows, those of people's sessions and sign-ins (not services' and machine roles').
    cloudtrail = [event for event in events if event["source_family"] == "cloudtrail"]
    binding_cloudtrail = sum(event["event_id"] in binding for event in cloudtrail)
    read_cloudtrail = sum(row["source_family"] == "cloudtrail" for row in read)
    assert binding_cloudtrail <= read_cloudtrail <= binding_cloudtrail * 1.02 < len(cloudtrail)


def test_hours_of_activity_learned_over_columns_are_the_bindings_the_events_give_one_by_one():
    import random

    from streams.demo import generate
    from streams.detect.identity import binding_rows
    from streams.enrich.identity import ACTIVITY_TTL_MS, activity_bindings, activity_rows, coalesce_activity
    from streams.normalize.batch import check_events

    events = [event for family, values in generate(seed=5, scale=1).items()
              for value in values for event in normalize_message(family, value).events]
    humans = [event for event in events if event["source_format"] == "cloudtrail"
              and event["actor_type"] == "IAMUser" and event["src_ip"]][:3]
    assert humans, "the demo has IAM users calling from addresses"
    edges = []
    for number, (actor, actor_type, ip, outcome, action, gap) in enumerate([
        ("arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0a/carol", "AssumedRole", "10.9.0.1", "success", "x", 0),
        ("arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0a", "AssumedRole", "10.9.0.2", "success", "x", 0),
        ("arn:aws:sts::1:assumed-role/ci-deploy/i-0abc", "AssumedRole", "10.9.0.3", "success", "x", 0),
        ("dave", "IAMUser", "bedrock.amazonaws.com", "success", "x", 0),
        ("dave", "IAMUser", "10.9.0.4", "failure", "x", 0),
        ("dave", "IAMUser", "10.9.0.5", "success", "ConsoleLogin", 0),
        ("erin", "IAMUser", "10.9.0.6", "success", "x", ACTIVITY_TTL_MS),  # exactly an hour on: one run
        ("erin", "IAMUser", "10.9.0.6", "success", "x", 2 * ACTIVITY_TTL_MS + 1),  # a millisecond more: a new run
        ("erin", "IAMUser", "10.9.0.6", "success", "x", 0),  # the same moment, another event: the same run
    ]):
        base = humans[number % len(humans)]
        edges.append({**base, "event_id": f"edge-{number:02}", "actor": actor, "actor_type": actor_type,
                      "src_ip": ip, "outcome": outcome, "action": action, "time": T0 + gap})
    mixed = events + edges
    random.Random(3).shuffle(mixed)
    frame = check_events(mixed).frame

    one_by_one = coalesce_activity([binding for event in mixed for binding in bindings_of(event)])
    rest = binding_rows(frame.filter(~activity_rows()))
    over_columns = coalesce_activity([b for row in rest for b in bindings_of(row)]) + activity_bindings(frame)
    assert sorted(over_columns, key=repr) == sorted(one_by_one, key=repr)
    assert len(over_columns) == len(set(over_columns))
    assert sum(binding.source == "cloudtrail" for binding in over_columns) >= 3
    assert {b.identity for b in over_columns if b.ip == "10.9.0.1"} == {"carol"}
    assert not [b for b in over_columns if b.ip in ("10.9.0.2", "10.9.0.3", "10.9.0.4")]
    assert len([b for b in over_columns if b.ip == "10.9.0.6"]) == 2
    # What the stage reads as dicts for identity: no row of an hour of activity.
    assert not {row["event_id"] for row in rest} & set(frame.filter(activity_rows())["event_id"])


def test_a_batch_of_frames_and_json_events_learns_the_bindings_of_the_same_events_as_json():
    from streams.demo import generate
    from streams.normalize.batch import check_events

    events = [event for family, values in generate(seed=5, scale=1).items()
              for value in values for event in normalize_message(family, value).events]
    events.sort(key=lambda event: event["time"])
    events = events[:3000]
    as_json, _, _ = stage()
    expected = as_json.prepare_events(events).bindings
    for split in (0, 1, len(events) // 2):  # none, one, half of them as JSON beside the frame
        mixed, _, _ = stage()
        learned = mixed.prepare_decoded(check_events(events[split:]).frame, events[:split], messages=1).bindings
        assert sorted(learned, key=repr) == sorted(expected, key=repr), split
    assert any(binding.source == "cloudtrail" for binding in expected)

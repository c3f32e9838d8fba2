"""Shadow-AI alerts through the real broker and worker: OCSF-valid on the alerts topic, one alert per
(detection, principal, provider) per window, policy reloaded when its file changes, keys never stored."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import orjson
import pytest

from tests.conftest import WorkerHandle, worker_env
from tests.ocsf_schema import schema_problems
from tests.unit.test_alerts import assert_valid_detection_finding

pytestmark = pytest.mark.integration

SIGMA_SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "sigma"
FAKE_OPENAI_KEY = "sk-proj-" + "Tq7" * 16

POLICY_ALLOWING_ALICE = """
version: 1
clauses:
  - id: alice-openai
    providers: [openai]
    identities:
      - exact: alice
"""


def envoy(actor_ip: str, host: str, path: str = "/v1/chat/completions", request_id: str | None = None) -> bytes:
    return orjson.dumps({
        "start_time": "2026-11-20T09:00:00.000Z", "method": "POST", "path": path, "protocol": "HTTP/1.1",
        "response_code": 200, "bytes_received": 800, "bytes_sent": 2400, "duration": 300,
        "x-forwarded-for": actor_ip, "user_agent": "openai-python/1.54.0",
        "x-request-id": request_id or str(uuid.uuid4()), "authority": host,
    })


def squid(user: str, url: str, index: int) -> bytes:
    return f"1763629200.{index:03d}    120 10.5.0.9 TCP_MISS/200 2400 GET {url} {user} HIER_DIRECT/1.2.3.4 application/json".encode()


@pytest.fixture(scope="module")
def alerting(tmp_path_factory, embedded_broker):
    data_dir = tmp_path_factory.mktemp("alerting")
    policy = data_dir / "policy.yaml"
    policy.write_text(POLICY_ALLOWING_ALICE)
    sigma = orjson.dumps([str(SIGMA_SAMPLES)]).decode()
    handle = WorkerHandle(env=worker_env(data_dir, embedded_broker, AISPM_DETECTION__POLICY_FILE=str(policy),
                                         AISPM_DETECTION__SIGMA_RULES=sigma),
                          data_dir=data_dir)
    handle.start()
    yield handle, policy
    handle.stop()


def send(handle: WorkerHandle, family: str, values: list[bytes]) -> None:
    from streams.runtime.producer import RawProducer

    settings = handle.settings()
    producer = RawProducer(settings, settings.kafka.bootstrap_servers)
    producer.send(family, values)
    assert producer.flush().failed == 0


def detection_stats(handle: WorkerHandle) -> dict:
    from streams.runtime.query import remote_stats

    return remote_stats(handle.settings())["detection"]


def wait_detected(handle: WorkerHandle, events: int, timeout_s: float = 90) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = detection_stats(handle)
        if stats["events"] >= events:
            return stats
        time.sleep(0.2)
    raise AssertionError(f"detection saw {detection_stats(handle)['events']} of {events} events\n"
                         f"ingest: {handle.stats()}\n{handle.log_tail()}")


def alerts_on_topic(handle: WorkerHandle) -> list[dict]:
    from confluent_kafka import Consumer

    from streams.runtime.kafka import Topics, consumer_config

    settings = handle.settings()
    consumer = Consumer(consumer_config(settings, settings.kafka.bootstrap_servers, group_id=f"siem-{uuid.uuid4()}"))
    consumer.subscribe([Topics.from_settings(settings).alerts])
    alerts, quiet_since = [], time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not alerts or time.monotonic() - quiet_since < 3):
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            alerts.append(orjson.loads(message.value()))
            quiet_since = time.monotonic()
    consumer.close()
    return alerts


def test_alerts_are_valid_deduplicated_and_follow_policy_reloads(alerting) -> None:
    handle, policy = alerting
    # bob (not sanctioned) calls OpenAI 30 times; alice (sanctioned) 10 times.
    send(handle, "gateway", [squid("bob", "https://api.openai.com/v1/chat/completions", i) for i in range(30)]
         + [squid("alice", "https://api.openai.com/v1/models", 100 + i) for i in range(10)])
    wait_detected(handle, 40)
    alerts = alerts_on_topic(handle)
    assert alerts, "no alert reached the alerts topic"
    for alert in alerts:
        assert_valid_detection_finding(alert)
        assert schema_problems(alert) == []
    by_id = {}
    for alert in alerts:
        by_id[alert["finding_info"]["uid"]] = alert
    assert [a["unmapped"]["principal"] for a in by_id.values()] == ["bob"]
    assert next(iter(by_id.values()))["count"] == 30
    assert len(alerts) < 30, "repeats must raise a count, not send one alert each"
    rows = handle.query("SELECT principal, provider, count FROM alerts_current WHERE detection = 'shadow_ai_egress'")
    assert rows == [["bob", "openai", 30]]

    # The same log shipped again (a re-run backfill, a redelivery): no count that analysts see moves.
    ingest_before = handle.stats()
    send(handle, "gateway", [squid("bob", "https://api.openai.com/v1/chat/completions", i) for i in range(30)])
    ingest_after = handle.wait_for_messages(ingest_before["messages"] + 30)
    assert ingest_after["duplicates_skipped"] - ingest_before["duplicates_skipped"] == 30
    assert ingest_after["events_forwarded"] == ingest_before["events_forwarded"]
    assert detection_stats(handle)["events"] == 40
    assert handle.query("SELECT count FROM alerts_current WHERE detection = 'shadow_ai_egress'") == [[30]]

    # The policy loses alice's clause: her next call is reported, without restarting the worker.
    time.sleep(0.05)
    policy.write_text("version: 1\nclauses: []\n")
    send(handle, "gateway", [squid("alice", "https://api.openai.com/v1/models", 500)])
    wait_detected(handle, 41)
    rows = handle.query("SELECT principal FROM alerts_current WHERE detection = 'shadow_ai_egress' ORDER BY principal")
    assert rows == [["alice"], ["bob"]]


def test_a_leaked_key_is_alerted_and_stored_nowhere(alerting) -> None:
    handle, _ = alerting
    before = detection_stats(handle)["events"]
    send(handle, "gateway", [
        squid("carol", f"https://api.openai.com/v1/models?api_key={FAKE_OPENAI_KEY}", 900),
        envoy("10.7.0.1", "api.openai.com", f"/v1/chat?key={FAKE_OPENAI_KEY}"),
        f"garbage line holding {FAKE_OPENAI_KEY}".encode(),
    ])
    wait_detected(handle, before + 2)
    rows = handle.query("SELECT count() FROM alerts_current WHERE detection = 'ai_credential_exposure'")
    assert rows[0][0] >= 1
    for table in ("events", "dead_letters", "alerts", "alert_events", "ai_inventory", "detection_state"):
        # Every column of every row, as text (system.columns is closed to the query endpoint).
        hits = handle.query(f"SELECT count() FROM {table} WHERE position(toString(tuple(*)), {{k:String}}) > 0",
                            {"k": FAKE_OPENAI_KEY[:20]})
        assert hits == [[0]], f"{table} holds the key"
    for alert in alerts_on_topic(handle):
        assert FAKE_OPENAI_KEY[:20] not in orjson.dumps(alert).decode()


def test_records_made_unreadable_raise_an_alert_instead_of_vanishing(alerting) -> None:
    """A number past a double's range in a request parameter, a record cut short: dead letters, which no
    rule judges. The SIEM hears of them on the alerts topic, one alert per source and reason."""
    from streams.detect.examples import cloudtrail, iam_user

    handle, _ = alerting
    hidden = cloudtrail("DeleteTrail", identity=iam_user("mallory"), params={"name": "org-trail"})["raw"]
    assert hidden.endswith("}")
    hidden = hidden[:-1] + ', "padding": 1e400}'
    send(handle, "cloudtrail", [hidden.encode(), b'{"eventVersion": "1.08", "eventName": "Stop'])
    deadline = time.monotonic() + 60
    query = "SELECT count, ocsf FROM alerts_current WHERE detection = 'unreadable_log_records' " \
            "AND endsWith(title, '(malformed_json)') AND startsWith(title, 'cloudtrail')"
    while time.monotonic() < deadline and [row[0] for row in handle.query(query)] != [2]:
        time.sleep(0.3)
    rows = handle.query(query)
    assert [row[0] for row in rows] == [2], f"{rows}\n{handle.log_tail()}"
    assert handle.query("SELECT count() FROM dead_letters WHERE reason = 'malformed_json' "
                        "AND source_family = 'cloudtrail'") == [[2]]
    sent = [alert for alert in alerts_on_topic(handle)
            if alert["finding_info"]["analytic"]["uid"] == "unreadable_log_records"
            and alert["message"] == "cloudtrail log records could not be read (malformed_json)"]
    assert max(alert["count"] for alert in sent) == 2
    for alert in sent:
        assert_valid_detection_finding(alert)
        assert schema_problems(alert) == []
        assert alert["is_alert"] is True
        assert "mallory" not in orjson.dumps(alert).decode(), "the alert says where the record is, not what it holds"


def test_sigma_rules_from_settings_alert_in_the_stream(alerting) -> None:
    from streams.detect.examples import cloudtrail, iam_user

    handle, _ = alerting
    before = detection_stats(handle)["events"]
    event = cloudtrail("DeleteGuardrail", identity=iam_user("mallory"), params={"guardrailIdentifier": "gr-prod"})
    send(handle, "cloudtrail", [event["raw"].encode()])
    wait_detected(handle, before + 1)
    rows = handle.query("SELECT detection FROM alerts_current WHERE principal LIKE '%user/mallory' ORDER BY detection")
    assert ["sigma_bedrock_guardrail_changed_by_iam_user"] in rows
    assert ["bedrock_guardrail_deleted_or_updated"] in rows


def test_rule_state_survives_a_worker_restart(alerting) -> None:
    """A burst rule needs 10 recon calls in 10 minutes: 6 before a restart and 4 after must still fire."""
    from datetime import UTC, datetime, timedelta

    from streams.detect.examples import cloudtrail, iam_user
    from streams.detect.rules.bedrock_model_recon_burst import MIN_CALLS

    handle, _ = alerting
    start = datetime.now(UTC) - timedelta(minutes=2)

    def recon(i: int) -> bytes:
        # Event times are current: rule state expires by the wall clock as well as by event time.
        event = cloudtrail("ListFoundationModels", identity=iam_user("eve"), eventID=str(uuid.uuid4()),
                           eventTime=(start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return event["raw"].encode()

    def recon_alerts() -> list:
        return handle.query("SELECT count FROM alerts_current WHERE detection = 'bedrock_model_recon_burst' "
                            "AND principal LIKE '%user/eve'")

    before = detection_stats(handle)["events"]
    send(handle, "cloudtrail", [recon(i) for i in range(MIN_CALLS - 4)])
    wait_detected(handle, before + MIN_CALLS - 4)
    assert recon_alerts() == []

    handle.stop()
    handle.start()
    send(handle, "cloudtrail", [recon(i) for i in range(MIN_CALLS - 4, MIN_CALLS)])
    deadline = time.monotonic() + 120
    while not recon_alerts() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert recon_alerts() == [[1]], f"no burst alert after the restart\n{handle.log_tail()}"
    # The alert lands before the batch's state is saved and counted: wait for the count, then check
    # that only the 4 new calls were detected after the restart (a clean stop commits what it took).
    wait_detected(handle, 4)
    assert detection_stats(handle)["events"] == 4

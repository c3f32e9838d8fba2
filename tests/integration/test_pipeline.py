"""The spine end to end: real broker, real `aispm up` worker process, real chDB store.

N records per family including M malformed -> N-M events and M dead letters; a forced redelivery of
everything changes neither count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import orjson
import pytest

from tests.conftest import WorkerHandle, dataset, worker_env

pytestmark = pytest.mark.integration


def cloudtrail_records() -> list[bytes]:
    records = []
    for path in sorted(dataset("stratus-red-team-detonation-logs").glob("*.json")):
        records.extend(orjson.dumps(record) for record in orjson.loads(path.read_bytes()))
    return records


def gateway_records(count: int) -> list[bytes]:
    lines = []
    for i in range(count):
        if i % 2:
            lines.append(
                f'10.1.{i % 250}.{i % 200} - alice{i % 7} [20/Nov/2026:08:{i % 60:02d}:{i % 60:02d} +0000] '
                f'"POST /v1/chat/completions?n={i} HTTP/1.1" 200 {500 + i} "-" "python-requests/2.32"'.encode()
            )
        else:
            lines.append(orjson.dumps({
                "start_time": f"2026-11-20T08:{i % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z", "method": "GET",
                "path": f"/v1/models?page={i}", "protocol": "HTTP/1.1", "response_code": 200,
                "bytes_received": 0, "bytes_sent": 1200 + i, "duration": 12,
                "x-forwarded-for": f"10.2.0.{i % 250}", "user_agent": "curl/8.5.0",
                "x-request-id": str(uuid.UUID(int=i)), "authority": "api.openai.com",
                "upstream_host": "162.159.140.245:443",
            }))
    return lines


def audit_records(count: int) -> list[bytes]:
    return [orjson.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": str(uuid.UUID(int=10**6 + i)),
        "stage": "ResponseComplete", "requestURI": f"/api/v1/namespaces/ml/pods/p{i}", "verb": "get",
        "user": {"username": f"system:serviceaccount:ml:runner{i % 3}", "groups": ["system:serviceaccounts"]},
        "sourceIPs": [f"10.3.0.{i % 250}"], "userAgent": "kubectl/v1.30.0",
        "objectRef": {"resource": "pods", "namespace": "ml", "name": f"p{i}", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2026-11-20T08:00:00.000000Z", "stageTimestamp": "2026-11-20T08:00:00.010000Z",
    }) for i in range(count)]


# The worker's record cap in these tests: every good record fits, the oversized one does not.
MAX_RECORD_BYTES = 16384

MALFORMED = {
    "cloudtrail": [b'{"eventName": "InvokeModel", "eventSource": "bedrock.amazonaws.com", "eventTi',
                   b'{"eventName": "X", "eventSource": "s3.amazonaws.com", "eventTime": {"not": "a time"}}',
                   b"\x00\x01\xfe\xff binary junk"],
    "gateway": [b"this is not a log line at all", b'{"truncated": ', b"\xff\xfe\x00"],
    "audit": [b'{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": 5}', b"[1, 2", b"x" * (MAX_RECORD_BYTES + 1000)],
}


def produce(handle: WorkerHandle, messages: dict[str, list[bytes]]) -> int:
    from streams.runtime.producer import RawProducer

    settings = handle.settings()
    producer = RawProducer(settings, settings.kafka.bootstrap_servers)
    for family, values in messages.items():
        producer.send(family, values)
    report = producer.flush()
    assert report.failed == 0, report.errors
    return report.messages


def count(handle: WorkerHandle, table: str) -> int:
    return handle.query(f"SELECT count() FROM {table}")[0][0]


def rewind_group(handle: WorkerHandle) -> None:
    """Commit offset 0 on every raw partition for the worker's group: the next worker re-reads it all."""
    from confluent_kafka import Consumer, TopicPartition

    from streams.runtime.kafka import Topics, consumer_config

    settings = handle.settings()
    consumer = Consumer(consumer_config(settings, settings.kafka.bootstrap_servers))
    partitions = [TopicPartition(topic, p, 0) for topic in Topics.from_settings(settings).raw.values()
                  for p in range(settings.kafka.partitions)]
    consumer.commit(offsets=partitions, asynchronous=False)
    consumer.close()


@pytest.fixture(scope="module")
def spine(tmp_path_factory, embedded_broker):
    data_dir = tmp_path_factory.mktemp("spine")
    # This worker normalizes in a spawned process; the alert tests' worker normalizes in its ingest thread.
    handle = WorkerHandle(env=worker_env(data_dir, embedded_broker, AISPM_INGEST__MAX_RECORD_BYTES=str(MAX_RECORD_BYTES),
                                         AISPM_INGEST__NORMALIZE_PROCESSES="1"),
                          data_dir=data_dir)
    handle.start()
    yield handle
    handle.stop()


def test_every_good_record_lands_once_and_every_bad_one_is_a_dead_letter(spine: WorkerHandle) -> None:
    from streams.normalize import normalize_message

    good = {"cloudtrail": cloudtrail_records(), "gateway": gateway_records(200), "audit": audit_records(150)}
    expected_ids = {event["event_id"] for family, values in good.items() for value in values
                    for event in normalize_message(family, value).events}
    assert len(expected_ids) == sum(len(values) for values in good.values()), "test data must have unique ids"
    assert max(len(value) for values in good.values() for value in values) <= MAX_RECORD_BYTES
    messages = {family: good[family] + MALFORMED[family] for family in good}
    total = produce(spine, messages)
    malformed = sum(len(values) for values in MALFORMED.values())

    spine.wait_for_messages(total)
    assert count(spine, "events") == total - malformed
    assert count(spine, "dead_letters") == malformed
    reasons = dict(spine.query("SELECT reason, count() FROM dead_letters GROUP BY reason"))
    assert reasons["oversized"] == 1 and reasons["malformed_json"] >= 3, reasons
    # Dead letters keep the original bytes and say why.
    kept = spine.query("SELECT raw_size, raw_truncated, length(raw) FROM dead_letters WHERE reason = 'oversized'")
    assert kept[0][0] == MAX_RECORD_BYTES + 1000 and kept[0][2] <= MAX_RECORD_BYTES + 1000

    # Force a redelivery of everything: stop the worker, rewind its group, start it again.
    spine.stop()
    rewind_group(spine)
    spine.start()
    stats = spine.wait_for_messages(total)
    assert stats["duplicates_skipped"] == total - malformed
    assert count(spine, "events") == total - malformed
    assert count(spine, "dead_letters") == malformed


def test_ingest_cli_records_file_counts_once(spine: WorkerHandle, tmp_path) -> None:
    records = [orjson.loads(value) for value in cloudtrail_records()]
    batch = []
    for i in range(2900):
        record = dict(records[i % len(records)])
        record["eventID"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"aispm-test-{i}"))
        batch.append(record)
    path = tmp_path / "CloudTrail_2900.json.gz"
    import gzip

    path.write_bytes(gzip.compress(orjson.dumps({"Records": batch})))
    before = count(spine, "events")
    messages_before = spine.stats()["messages"]

    def ingest() -> dict:
        result = subprocess.run([sys.executable, "-m", "streams.cli", "ingest", "--source", "cloudtrail", str(path)],
                                env=spine.env, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def query_json() -> int:
        result = subprocess.run([sys.executable, "-m", "streams.cli", "query", "--format", "json",
                                 "SELECT count() AS n FROM events"], env=spine.env, capture_output=True,
                                text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)[0]["n"]

    assert ingest()["messages"] == 2900
    spine.wait_for_messages(messages_before + 2900)
    assert query_json() == before + 2900
    ingest()
    spine.wait_for_messages(messages_before + 5800)
    assert query_json() == before + 2900


def test_malformed_gateway_lines_become_dead_letters_and_the_worker_keeps_running(spine: WorkerHandle, tmp_path) -> None:
    good = gateway_records(400)[1::2]  # nginx lines
    bad = [f"garbage line {i} \x07 no fields".encode() for i in range(100)]
    lines = []
    for i, line in enumerate(good):
        lines.append(line.replace(b"n=", b"m=" ))
        if i < len(bad):
            lines.append(bad[i])
    path = tmp_path / "access.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    events_before, dead_before = count(spine, "events"), count(spine, "dead_letters")
    messages_before = spine.stats()["messages"]
    result = subprocess.run([sys.executable, "-m", "streams.cli", "ingest", "--source", "gateway", str(path)],
                            env=spine.env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    spine.wait_for_messages(messages_before + len(lines))
    assert count(spine, "events") == events_before + len(good)
    assert count(spine, "dead_letters") == dead_before + 100
    assert spine.alive()

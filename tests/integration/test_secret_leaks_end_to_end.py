"""Known secrets of every kind, in every field that can carry them, through the real broker, worker and
store: no table, no topic, no log line and no CLI output may hold any of them afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import orjson
import pytest

from tests.conftest import WorkerHandle, worker_env
from tests.unit.test_secret_leaks import known_secrets, leaks, messages_with_secrets

pytestmark = pytest.mark.integration

SECRETS = known_secrets(seed=11)
TABLES = ("events", "dead_letters", "alerts", "alert_events", "ai_inventory", "ai_usage_1m", "detection_state")


@pytest.fixture(scope="module")
def leaky(tmp_path_factory, embedded_broker):
    data_dir = tmp_path_factory.mktemp("leaks")
    handle = WorkerHandle(env=worker_env(data_dir, embedded_broker, AISPM_LOG_LEVEL="INFO"), data_dir=data_dir)
    handle.start()
    yield handle
    handle.stop()


def read_topic(handle: WorkerHandle, topic: str) -> list[bytes]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from streams.runtime.kafka import consumer_config

    settings = handle.settings()
    consumer = Consumer(consumer_config(settings, settings.kafka.bootstrap_servers, group_id=f"leak-{uuid.uuid4()}")
                        | {"enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(settings.kafka.partitions)])
    values, quiet_since = [], time.monotonic()
    while time.monotonic() - quiet_since < 3:
        for message in consumer.consume(1000, timeout=0.5):
            if message.error() is None:
                values.append(message.value() or b"")
                quiet_since = time.monotonic()
    consumer.close()
    return values


def test_no_table_topic_log_or_cli_output_holds_a_secret(leaky: WorkerHandle) -> None:
    from streams.runtime.kafka import Topics
    from streams.runtime.producer import RawProducer

    placed = messages_with_secrets(SECRETS)
    settings = leaky.settings()
    producer = RawProducer(settings, settings.kafka.bootstrap_servers)
    for family, value, _ in placed:
        producer.send(family, [value])
    assert producer.flush().failed == 0
    leaky.wait_for_messages(len(placed))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not leaky.query("SELECT count() FROM alerts")[0][0]:
        time.sleep(0.5)
    assert leaky.query("SELECT count() FROM events")[0][0] > len(SECRETS), "the secrets' records landed"
    assert leaky.query("SELECT count() FROM dead_letters")[0][0] >= 3 * len(SECRETS), "and their dead letters"

    found: dict[str, list[str]] = {}
    for table in TABLES:
        rows = leaky.query(f"SELECT toString(tuple(*)) FROM {table}")
        found[f"table {table}"] = leaks("\n".join(row[0] for row in rows), SECRETS)
    topics = Topics.from_settings(settings)
    for topic in (topics.events, topics.alerts, topics.dead_letters):
        found[f"topic {topic}"] = leaks(b"\n".join(read_topic(leaky, topic)), SECRETS)
    found["worker log"] = leaks((leaky.data_dir / "worker.log").read_bytes(), SECRETS)
    for fmt in ("table", "json", "csv"):
        shown = subprocess.run([sys.executable, "-m", "streams.cli", "query", "--format", fmt,
                                "SELECT * FROM events"], env=leaky.env, capture_output=True, timeout=120, check=False)
        assert shown.returncode == 0, shown.stderr
        found[f"aispm query --format {fmt}"] = leaks(shown.stdout + shown.stderr, SECRETS)
    stats = subprocess.run([sys.executable, "-m", "streams.cli", "status"], env=leaky.env, capture_output=True,
                           timeout=60, check=False)
    found["aispm status"] = leaks(stats.stdout + stats.stderr, SECRETS)
    assert {where: names for where, names in found.items() if names} == {}
    assert orjson.loads(stats.stdout)["ingest"]["messages"] >= len(placed)

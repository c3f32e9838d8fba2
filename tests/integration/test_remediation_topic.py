"""The remediation topic through the real embedded broker: ``ensure_topics`` creates it, the detection
stage sends one message per alert emission with actions, keyed ``<alert id>:<count>``, after the alerts."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from streams.detect.pipeline import Detectors
from streams.detect.rules import s3_ai_data_bucket_acl_public, shadow_ai_egress
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from streams.runtime.app import produce_all
from streams.runtime.kafka import Topics, confluent_config, ensure_topics, producer_config
from streams.settings import Settings

pytestmark = pytest.mark.integration


def _read_all(settings: Settings, bootstrap: str, topic: str, expected: int, timeout_s: float = 60) -> list:
    # Assigned, not subscribed: no consumer-group join to wait for.
    consumer = Consumer(confluent_config(settings, bootstrap) | {"group.id": f"r{uuid.uuid4().hex[:8]}",
                                                                 "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    messages, deadline = [], time.monotonic() + timeout_s
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                messages.append((message.key(), orjson.loads(message.value())))
        # Anything beyond what was expected arrives within a moment too.
        while (message := consumer.poll(1.0)) is not None:
            if message.error() is None:
                messages.append((message.key(), orjson.loads(message.value())))
    finally:
        consumer.close()
    return messages


def test_the_stage_sends_remediation_to_its_own_topic(embedded_broker: str) -> None:
    settings = Settings(topic_prefix=f"r{uuid.uuid4().hex[:8]}.", kafka={"bootstrap_servers": embedded_broker,
                                                                          "partitions": 1})
    topics = Topics.from_settings(settings)
    assert topics.remediation in ensure_topics(settings, embedded_broker)
    producer = Producer(producer_config(settings, embedded_broker))

    def sender(topic: str):
        return lambda messages: produce_all(producer, topic, [(None, key, value) for key, value in messages])

    stage = DetectionStage(detectors=Detectors.default(), store=MemoryDetectionStore(), window_ms=3_600_000,
                           send_alerts=sender(topics.alerts), send_remediation=sender(topics.remediation))
    stage.load()
    events = [event for module in (s3_ai_data_bucket_acl_public, shadow_ai_egress)
              for example in module.EXAMPLES if example.expect for event in example.events]
    prepared = stage.prepare([orjson.dumps(events)])
    stage.commit(prepared)
    stage.commit(stage.prepare([orjson.dumps(events)]))  # redelivered: same keys, same values

    alerts = _read_all(settings, embedded_broker, topics.alerts, 2 * len(prepared.plan.latest))
    remediation = _read_all(settings, embedded_broker, topics.remediation, 2 * len(prepared.plan.latest))
    assert len(remediation) == len(alerts) == 2 * len(prepared.plan.latest) >= 6
    by_key = {}
    for key, message in remediation:
        assert key.decode() == f"{message['alert_id']}:{message['alert_version']}"
        assert by_key.setdefault(key, message) == message, "a redelivery repeats the same message"
    assert {key for key, _ in remediation} == {alert["metadata"]["uid"].encode() for _, alert in alerts}
    operations = {action["operation"] for _, message in remediation for action in message["actions"]}
    assert {"PutBucketAcl", "PutPublicAccessBlock", "BlockHost"} <= operations
    producer.flush(10)

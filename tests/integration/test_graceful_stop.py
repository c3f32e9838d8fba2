"""SIGTERM's path (``IngestLoop.stop``): the batch already consumed, still normalizing, lands and is
committed before the consumer leaves, within the stop's bound."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from streams.runtime.ingest import IngestLoop, LandingTargets, PendingBatch
from streams.runtime.kafka import consumer_config, ensure_topics
from streams.runtime.producer import RawProducer
from streams.runtime.store import NewEvents
from streams.settings import Settings
from tests.integration.test_ingest_pipelining import envoy_line

pytestmark = pytest.mark.integration

MESSAGES = 40


class SlowLoop(IngestLoop):
    """Normalizing takes 2 s: a stop arrives while the batch is in flight."""

    started = threading.Event()

    def start_preparing(self, batch: list) -> PendingBatch:
        inner = super().start_preparing(batch)
        self.started.set()

        def slow_result():
            time.sleep(2)
            return inner.result()

        return PendingBatch(batch, slow_result, lambda: False)


def test_stop_lands_and_commits_the_batch_in_flight(embedded_broker: str) -> None:
    settings = Settings(topic_prefix=f"s{uuid.uuid4().hex[:8]}.", kafka={"bootstrap_servers": embedded_broker,
                                                                          "partitions": 1})
    topic = settings.topic("raw.gateway")
    group = f"g{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, embedded_broker, [topic])
    producer = RawProducer(settings, embedded_broker)
    producer.send("gateway", [envoy_line(index) for index in range(MESSAGES)])
    assert producer.flush(60).messages == MESSAGES

    landed: list[int] = []
    consumer = Consumer(consumer_config(settings, embedded_broker, group_id=group))
    consumer.subscribe([topic])
    loop = SlowLoop(
        consumer=consumer, family_by_topic={topic: "gateway"},
        targets=LandingTargets(new_events=lambda frame: NewEvents(frame, [0] * frame.height, 0),
                               insert_events=lambda new: landed.extend(e["kafka_offset"] for e in new.events),
                               land_dead_letters=lambda rows: None, send_events=lambda messages: None,
                               send_dead_letters=lambda messages: None),
        batch_size=1000, flush_interval_s=0.2, max_record_bytes=1 << 20, raw_cap=4096, redact_bodies=True,
        events_per_message=100,
    )
    loop.start()
    assert loop.started.wait(90), "nothing was consumed"
    time.sleep(0.3)
    assert landed == []  # still normalizing
    began = time.monotonic()
    loop.stop(timeout=30)
    assert not loop.alive and time.monotonic() - began < 30
    assert landed == list(range(MESSAGES))

    check = Consumer(consumer_config(settings, embedded_broker, group_id=group))
    committed = check.committed([TopicPartition(topic, 0)], timeout=30)
    check.close()
    assert committed[0].offset == MESSAGES

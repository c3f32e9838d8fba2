"""The ingest loop normalizes one batch in its processes while it consumes the next (real broker,
real normalizing processes): batches land whole and in order, even when a normalizing process dies
while its batch is pending."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import orjson
import pytest
from confluent_kafka import Consumer

from streams.runtime.ingest import IngestLoop, LandingTargets
from streams.runtime.kafka import consumer_config, ensure_topics
from streams.runtime.normalize_pool import NormalizePool
from streams.runtime.producer import RawProducer
from streams.runtime.store import NewEvents
from streams.settings import Settings

pytestmark = pytest.mark.integration

MESSAGES = 1200


def envoy_line(index: int) -> bytes:
    return orjson.dumps({
        "start_time": "2026-11-30T10:00:00.000Z", "method": "POST", "path": "/v1/chat/completions",
        "protocol": "HTTP/1.1", "response_code": 200, "bytes_received": 10, "bytes_sent": 20, "duration": 5,
        "x-forwarded-for": "10.1.2.3", "user_agent": "pipelining-test", "x-request-id": f"req-{index}",
        "authority": "api.openai.com",
    })


class KillingPool(NormalizePool):
    """A real pool whose processes are SIGKILLed once, right after the third batch went to them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.submitted = 0
        self.killed = False

    def submit(self, messages):
        pending = super().submit(messages)
        self.submitted += 1
        if self.submitted == 3 and not self.killed:
            self.killed = True
            for pid in list(self._pool._processes):  # the processes now normalizing that batch
                os.kill(pid, signal.SIGKILL)
        return pending


def test_batches_land_whole_and_in_order_when_a_normalizing_process_dies(embedded_broker: str) -> None:
    settings = Settings(topic_prefix=f"p{uuid.uuid4().hex[:8]}.", kafka={"bootstrap_servers": embedded_broker,
                                                                          "partitions": 1})
    topic = settings.topic("raw.gateway")
    ensure_topics(settings, embedded_broker, [topic])
    producer = RawProducer(settings, embedded_broker)
    producer.send("gateway", [envoy_line(index) for index in range(MESSAGES)])
    assert producer.flush(60).messages == MESSAGES

    landed: list[int] = []
    done = threading.Event()

    def insert(new: NewEvents) -> None:
        landed.extend(event["kafka_offset"] for event in new.events)
        if len(landed) >= MESSAGES:
            done.set()

    consumer = Consumer(consumer_config(settings, embedded_broker, group_id=f"g{uuid.uuid4().hex[:8]}")
                        | {"auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    pool = KillingPool(2, max_record_bytes=1 << 20, raw_cap=4096, redact_bodies=True, policy_file=None)
    loop = IngestLoop(
        consumer=consumer, family_by_topic={topic: "gateway"},
        targets=LandingTargets(new_events=lambda frame: NewEvents(frame, [0] * frame.height, 0),
                               insert_events=insert, land_dead_letters=lambda rows: None,
                               send_events=lambda messages: None, send_dead_letters=lambda messages: None),
        batch_size=100, flush_interval_s=0.2, max_record_bytes=1 << 20, raw_cap=4096, redact_bodies=True,
        events_per_message=100, normalizer=pool,
    )
    loop.start()
    try:
        assert done.wait(120), f"{len(landed)} of {MESSAGES} events landed; last error: {loop.metrics.last_error}"
        time.sleep(0.5)  # nothing more arrives
    finally:
        loop.stop()
        pool.close()
    assert pool.killed and pool.submitted > MESSAGES // 100
    assert landed == list(range(MESSAGES))  # every message once, in its order
    assert "preparing a batch" in loop.metrics.last_error

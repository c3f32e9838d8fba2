"""The producers' local queue is bounded (``AISPM_INGEST__PRODUCE_BUFFER_KBYTES``): while the broker is
slower than the worker, what waits to be sent holds at most that much memory, and a full queue is
backpressure (the send waits for deliveries), never a lost message. Against the real broker."""

from __future__ import annotations

import os
import uuid

import pytest

from streams.runtime.app import produce_all
from streams.runtime.kafka import consumer_config, producer_config
from streams.settings import Settings

pytestmark = pytest.mark.integration

MESSAGE_BYTES = 8 << 10


def test_a_full_queue_waits_for_deliveries_and_loses_nothing(tmp_path, embedded_broker) -> None:
    from confluent_kafka import Consumer, Producer

    settings = Settings(data_dir=tmp_path, kafka={"bootstrap_servers": embedded_broker},
                        ingest={"produce_buffer_kbytes": 1024})
    topic = f"queue-{uuid.uuid4().hex[:8]}"
    # Random bytes: lz4 cannot shrink them below the cap.
    values = [index.to_bytes(4, "big") + os.urandom(MESSAGE_BYTES - 4) for index in range(4000)]  # 32 MiB

    bounded = Producer(producer_config(settings, embedded_broker))
    with pytest.raises(BufferError):  # the cap is in force: 1 MiB of messages fill the queue
        for value in values[:1000]:
            bounded.produce(topic, value)
    bounded.flush(30)

    produce_all(Producer(producer_config(settings, embedded_broker)), topic, [(None, None, v) for v in values])

    consumer = Consumer(consumer_config(settings, embedded_broker, group_id=f"g-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    seen: set[int] = set()
    for _ in range(200):
        for message in consumer.consume(num_messages=1000, timeout=0.5):
            if message.error() is None:
                seen.add(int.from_bytes(message.value()[:4], "big"))
        if len(seen) >= len(values):
            break
    consumer.close()
    assert set(range(len(values))) <= seen

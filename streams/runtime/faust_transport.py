"""Faust's aiokafka transport, with a fetch that waits at most 100 ms for data.

Faust builds its consumer with ``fetch_max_wait_ms=1500`` and no setting to change it. A broker
answers a waiting fetch as soon as data arrives (``fetch_min_bytes`` is 1) - a Kafka broker does;
the embedded Tansu broker does not, it answers when the wait is over: measured on loopback, produce
to the detection agent took p50 405 ms with 1,500 ms and 24 ms with 100 ms, and every alert waits
for that. An idle partition then costs a fetch request every 100 ms, nothing a cluster notices.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver

__all__ = ["FETCH_MAX_WAIT_MS", "Transport"]

FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it makes its fetcher (aiokafka 0.14, pinned).
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = _Consumer

"""The detection agent's consumer waits at most FETCH_MAX_WAIT_MS for data in a fetch (Faust: 1,500)."""

import asyncio
import inspect

import faust
from aiokafka import AIOKafkaConsumer

from streams.runtime.faust_transport import FETCH_MAX_WAIT_MS, Transport


def test_the_agents_consumer_fetches_with_the_short_wait() -> None:
    app = faust.App("transport-test", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False,
                    autodiscover=False)
    app.transport = Transport(app.conf.broker_consumer, app)

    async def build() -> AIOKafkaConsumer:  # aiokafka makes its consumer inside a running loop
        return app.consumer._thread._create_consumer(loop=asyncio.get_running_loop())

    consumer = asyncio.run(build())
    assert isinstance(consumer, AIOKafkaConsumer)
    assert consumer._fetch_max_wait_ms == FETCH_MAX_WAIT_MS < 1500
    # The attribute is what the consumer's fetcher is made with when it starts (an aiokafka upgrade
    # that renamed it would silently bring back the long wait).
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.start)

"""The Faust agents over the normalized-events and dead-letters topics. Thin: take a batch, call the
detection stage.

Each events-topic message holds a JSON array of normalized events (see streams/runtime/ingest.py), and the
agent takes several messages at a time, so Faust's per-message cost is paid once per many events.
Faust acknowledges the messages of a batch only when the loop comes back for the next one, that is
after ``DetectionStage.commit`` returned: a batch whose alerts were not recorded, sent and saved is
redelivered, never skipped. A failing commit (the store or the broker is down) is retried with
backoff instead of crashing the agent; the stream waits meanwhile.

The rules' state is not in Faust tables: it is saved in ClickHouse by the stage (after the alerts
it covers), because table recovery trusts the broker's high watermark, which the embedded broker
reports wrong, and because changelog writes and offset commits are not atomic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import faust

from streams.detect.stage import DetectionStage
from streams.runtime.kafka import Topics
from streams.runtime.landing import EventsLander, dead_letter_rows
from streams.runtime.retry import backoff_delays, describe
from streams.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


def register_detection_agent(app: faust.App, settings: Settings, *, stage: DetectionStage,
                             lander: EventsLander | None = None) -> None:
    """The detection agent, and the dead-letters agent that alerts on records no detection could judge;
    with ``lander`` (``AISPM_ROLE=land``) they land each batch's new events and dead letters too, after
    their detections were committed (see streams/runtime/landing.py)."""
    topics = Topics.from_settings(settings)
    events_topic = app.topic(topics.events, value_serializer="raw", key_serializer="raw",
                             partitions=settings.kafka.partitions)
    # One thread, so batches are prepared and committed in order, off the event loop (which keeps
    # Faust's heartbeats and the query endpoint answering while a batch is scored or landed).
    executor = ThreadPoolExecutor(1, thread_name_prefix="aispm-detect")

    async def until_done(work: Callable[[], T], what: str) -> T:
        loop = asyncio.get_running_loop()
        delays = backoff_delays()
        while True:
            try:
                return await loop.run_in_executor(executor, work)
            except Exception as error:  # noqa: BLE001 -- the store or broker is down: keep the batch, retry
                delay = next(delays)
                stage.metrics.last_error = describe(error)
                stage.metrics.add(retries=1)
                log.error("%s failed, retrying in %.1fs: %s", what, delay, stage.metrics.last_error)
                await asyncio.sleep(delay)

    # A batch's prepare and commit run as one step: the timer below must not slip in between (the access
    # windows it closes would be saved before those of the batch in flight).
    one_at_a_time = asyncio.Lock()
    loaded = asyncio.Event()

    @app.agent(events_topic, name="aispm-detect")
    async def detect(stream: faust.StreamT) -> None:
        await until_done(stage.load, "loading the detection state")
        loaded.set()
        async for batch in stream.take_events(settings.detection.batch_messages,
                                              within=settings.detection.batch_interval_s):
            values: list[Any] = [event.value for event in batch]
            async with one_at_a_time:
                if lander is None:
                    prepared = await until_done(lambda values=values: stage.prepare(values), "detecting a batch")
                    await until_done(lambda prepared=prepared: stage.commit(prepared), "recording a batch's alerts")
                    continue
                landing = await until_done(lambda values=values: lander.new(values), "finding a batch's new events")
                prepared = await until_done(
                    lambda landing=landing: stage.prepare_decoded(landing.frame, landing.events,
                                                                  messages=landing.messages,
                                                                  bad_messages=landing.bad_messages),
                    "detecting a batch")
                await until_done(lambda prepared=prepared: stage.commit(prepared), "recording a batch's alerts")
                await until_done(lambda landing=landing: lander.insert(landing), "landing a batch's events")

    dead_letters_topic = app.topic(topics.dead_letters, value_serializer="raw", key_serializer="raw",
                                   partitions=settings.kafka.partitions)

    @app.agent(dead_letters_topic, name="aispm-dead-letters")
    async def dead_letters(stream: faust.StreamT) -> None:
        """Records no detection could judge raise their alerts (``streams.detect.unreadable_records``);
        a landing worker lands them after that."""
        await loaded.wait()
        async for batch in stream.take_events(500, within=settings.detection.batch_interval_s):
            values = [event.value for event in batch]
            rows = dead_letter_rows(values)
            async with one_at_a_time:
                prepared = await until_done(lambda rows=rows: stage.prepare_dead_letters(rows),
                                            "reading dead letters")
                await until_done(lambda prepared=prepared: stage.commit(prepared), "recording dead letters' alerts")
            if lander is not None:
                await until_done(lambda values=values: lander.land_dead_letters(values), "landing dead letters")

    if stage.anomaly is not None:
        @app.timer(interval=max(1.0, settings.anomaly.close_every_s))
        async def close_due_windows() -> None:
            """Windows fall due without a batch too (the end of a replay, a source gone quiet)."""
            if not loaded.is_set():
                return
            async with one_at_a_time:
                prepared = await until_done(lambda: stage.prepare([]), "closing due access windows")
                if prepared.windows is not None:
                    await until_done(lambda: stage.commit(prepared), "recording closed access windows")

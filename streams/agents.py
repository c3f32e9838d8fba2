"""Faust agents over the normalized-events topic. Thin: decode a batch, call pure detections, send.

Each events-topic message holds a JSON array of normalized events (see streams/ingest.py), so the
agent's per-message cost is paid once per batch. State lives in Faust tables (changelogged, restored
after a restart): the posture rules' per-principal windows, the open alerts, and the event ids already
counted towards each alert. ``use_partitioner=True`` lets a table be written from a timer or a batch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import faust
import orjson

from streams.alerts import AlertDeduper
from streams.detections.pipeline import Detectors
from streams.eventtime import EventClock
from streams.kafka import Topics
from streams.rules import state as rule_state_tools
from streams.settings import Settings
from streams.writeback import WriteBack

log = logging.getLogger(__name__)


class DetectionMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages = 0
        self.events = 0
        self.findings = 0
        self.alerts_sent = 0
        self.repeats_ignored = 0
        self.rule_errors = 0
        self.bad_messages = 0
        self.redelivered_skipped = 0

    def snapshot(self) -> dict:
        with self._lock:
            return {key: value for key, value in vars(self).items() if not key.startswith("_")}

    def add(self, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                setattr(self, key, getattr(self, key) + value)


def register_detection_agent(app: faust.App, settings: Settings, *, detectors: Detectors,
                             land_alerts: Any, metrics: DetectionMetrics) -> None:
    topics = Topics.from_settings(settings)
    partitions = settings.kafka.partitions
    events_topic = app.topic(topics.events, value_serializer="raw", key_serializer="raw", partitions=partitions)
    alerts_topic = app.topic(topics.alerts, value_serializer="raw", key_serializer="raw", partitions=partitions)
    rule_state = app.Table("rule-state", partitions=partitions, use_partitioner=True,
                           key_type=str)
    open_alerts = app.Table("open-alerts", partitions=partitions, use_partitioner=True,
                            key_type=str)
    counted = app.Table("alert-events", partitions=partitions, use_partitioner=True,
                        key_type=str)
    # The last events-topic offset whose effects are in the tables, per partition. Faust commits
    # offsets every few seconds, so a restart redelivers recent messages whose findings are already
    # counted in rule state; restored with the tables, this says which to skip.
    processed = app.Table("processed-offsets", partitions=partitions, use_partitioner=True,
                          key_type=str)
    window_ms = settings.detection.alert_window_s * 1000
    # Per batch, state changes collect in write-back views and reach the tables (and their changelog
    # topics) once per changed key.
    rule_view, alerts_view, counted_view = WriteBack(rule_state), WriteBack(open_alerts), WriteBack(counted)
    deduper = AlertDeduper(window_ms, state=alerts_view)
    clock = EventClock()  # windows and rule state expire by event time, so a replay gives live verdicts

    @app.agent(events_topic, name="aispm-detect")
    async def detect(stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()
        async for value in stream:
            message = stream.current_event.message
            position = f"{message.topic}|{message.partition}"
            if processed.get(position, -1) >= message.offset:
                metrics.add(redelivered_skipped=1)
                continue
            try:
                events = orjson.loads(value)
                if not isinstance(events, list):
                    raise TypeError("expected a JSON array of events")
            except (ValueError, TypeError) as error:  # not ours to crash on; the raw data is in ClickHouse already
                log.error("skipping an events-topic message that is not a batch of events: %s", error)
                metrics.add(bad_messages=1)
                processed[position] = message.offset
                continue
            clock.observe(events)
            result = detectors.detect(events, rule_view)
            for error in result.rule_errors:
                log.error("rule %s failed on event %s: %s", error.rule_id, error.event_id, error.error)
            batch = detectors.alerts(result.findings, deduper, counted_view)
            for view in (rule_view, alerts_view, counted_view):
                view.flush()
            # After the state it covers: a crash in between costs a double count, never a lost batch.
            processed[position] = message.offset
            for alert in batch.ocsf:
                uid = alert["finding_info"]["uid"].encode()
                await alerts_topic.send(key=uid, value=orjson.dumps(alert, default=str))
            if batch.rows:
                await loop.run_in_executor(None, land_alerts, batch.rows)
            metrics.add(messages=1, events=len(events), findings=len(result.findings), alerts_sent=len(batch.ocsf),
                        repeats_ignored=batch.repeats_ignored, rule_errors=len(result.rule_errors))

    @app.timer(interval=60.0)
    async def forget_closed_windows() -> None:
        now_ms = clock.now_ms()
        if now_ms is None:
            return
        deduper.expire(now_ms)
        alerts_view.flush()
        rule_state_tools.sweep(rule_state, now_ms)
        for key in [key for key in list(counted.keys()) if key not in open_alerts]:
            del counted[key]

"""The Faust application: the ingest service, the query endpoint and the detection agents.

Built by ``create_app`` at start (no import-time app), so tests and the CLI each build their own from
``Settings``.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from mode import Service

from streams.agents import DetectionMetrics, register_detection_agent
from streams.detections.pipeline import Detectors
from streams.ingest import IngestLoop, IngestMetrics, LandingTargets
from streams.kafka import Topics, consumer_config, faust_broker_settings, producer_config
from streams.policy import policy_source
from streams.query import QueryServer, clear_worker_state, ensure_token, write_worker_state
from streams.settings import Settings
from streams.store import Store

log = logging.getLogger(__name__)


class IngestService(Service):
    """Hosts the batch landing loop (confluent-kafka, own thread) and the query endpoint."""

    def __init__(self, *, settings: Settings, bootstrap: str, store: Store, detectors: Detectors,
                 detection_metrics: DetectionMetrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.bootstrap = bootstrap
        self.store = store
        self.detectors = detectors
        self.detection_metrics = detection_metrics
        self.topics = Topics.from_settings(settings)
        self.metrics = IngestMetrics()
        self.loop_runner: IngestLoop | None = None
        self.normalize_pool: Any = None
        self.producer: Any = None
        self.query_server: QueryServer | None = None

    def stats(self) -> dict:
        return {"ingest": self.metrics.snapshot(), "detection": self.detection_metrics.snapshot(),
                "ingest_running": bool(self.loop_runner and self.loop_runner.alive)}

    async def on_start(self) -> None:
        from confluent_kafka import Consumer, Producer

        settings = self.settings
        self.producer = Producer(producer_config(settings, self.bootstrap))
        consumer = Consumer(consumer_config(settings, self.bootstrap))
        consumer.subscribe(list(self.topics.raw.values()))
        family_by_topic = {topic: family for family, topic in self.topics.raw.items()}
        if settings.ingest.normalize_processes:
            from streams.normalize_pool import NormalizePool

            self.normalize_pool = NormalizePool(
                settings.ingest.normalize_processes, max_record_bytes=settings.ingest.max_record_bytes,
                raw_cap=settings.ingest.dead_letter_raw_cap, redact_bodies=settings.ingest.redact_bodies,
                policy_file=settings.detection.policy_file,
            )
        self.loop_runner = IngestLoop(
            consumer=consumer,
            family_by_topic=family_by_topic,
            targets=LandingTargets(
                new_events=self.store.new_events,
                insert_events=self.store.insert_events,
                land_dead_letters=self.store.land_dead_letters,
                send_events=self._send_events,
                send_dead_letters=self._send_dead_letters,
                enrich=self.detectors.enrich,
            ),
            batch_size=settings.ingest.batch_size,
            flush_interval_s=settings.ingest.flush_interval_s,
            max_record_bytes=settings.ingest.max_record_bytes,
            raw_cap=settings.ingest.dead_letter_raw_cap,
            redact_bodies=settings.ingest.redact_bodies,
            events_per_message=settings.ingest.events_per_message,
            metrics=self.metrics,
            normalizer=self.normalize_pool,
        )
        self.loop_runner.start()
        self.query_server = QueryServer(
            store=self.store, stats=self.stats, token=ensure_token(settings), port=settings.query.port,
            max_rows=settings.query.max_rows, timeout_s=settings.query.timeout_s,
        )
        await self.query_server.start()
        write_worker_state(settings, query_port=settings.query.port, bootstrap=self.bootstrap)
        log.info("aispm worker ready: query endpoint on 127.0.0.1:%d", settings.query.port)

    async def on_stop(self) -> None:
        clear_worker_state(self.settings)
        if self.query_server is not None:
            await self.query_server.stop()
        if self.loop_runner is not None:
            self.loop_runner.stop()
        if self.normalize_pool is not None:
            self.normalize_pool.close()
        if self.producer is not None:
            self.producer.flush(10)

    def _send_events(self, messages: list[bytes]) -> None:
        self._produce(self.topics.events, messages)

    def _send_dead_letters(self, messages: list[bytes]) -> None:
        self._produce(self.topics.dead_letters, messages)

    def _produce(self, topic: str, messages: list[bytes]) -> None:
        for value in messages:
            while True:
                try:
                    self.producer.produce(topic, value)
                    break
                except BufferError:  # local queue full: let deliveries drain, then retry
                    self.producer.poll(0.1)
        remaining = self.producer.flush(30)
        if remaining:
            raise RuntimeError(f"{remaining} messages to {topic} not delivered within 30 s")


def create_app(settings: Settings, *, bootstrap: str, store: Store) -> faust.App:
    app = faust.App(
        "aispm",
        **faust_broker_settings(settings, bootstrap),
        store="memory://",
        autodiscover=False,
        web_enabled=False,
        web_bind="127.0.0.1",
        web_port=settings.web_port,
        topic_partitions=settings.kafka.partitions,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=max(1.0, settings.kafka.session_timeout_ms / 3000),
        producer_linger_ms=5,
        datadir=str(settings.data_dir.resolve() / "faust"),
    )
    detectors = Detectors.default(policy_source(settings.detection.policy_file),
                                  sigma_paths=settings.detection.sigma_rules)
    detection_metrics = DetectionMetrics()
    register_detection_agent(app, settings, detectors=detectors, land_alerts=store.land_alerts,
                             metrics=detection_metrics)
    ingest = IngestService(settings=settings, bootstrap=bootstrap, store=store, detectors=detectors,
                           detection_metrics=detection_metrics)
    app.aispm_ingest = ingest  # type: ignore[attr-defined]
    return app

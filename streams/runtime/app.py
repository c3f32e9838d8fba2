"""The Faust application: the ingest service, the query endpoint, the detection agents and the scheduler.

Built by ``create_app`` at start (no import-time app), so tests and the CLI each build their own from
``Settings``.
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import faust
from mode import Service

from streams.detect.anomaly import AnomalyStage
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionMetrics, DetectionStage
from streams.enrich.policy import policy_source
from streams.normalize.redact import installation_redactor
from streams.runtime.agents import register_detection_agent
from streams.runtime.faust_transport import Transport
from streams.runtime.gc_tuning import tune_for_streaming
from streams.runtime.ingest import IngestLoop, IngestMetrics, LandingTargets
from streams.runtime.kafka import Topics, consumer_config, faust_broker_settings, producer_config
from streams.runtime.landing import EventsLander
from streams.runtime.query import QueryServer, clear_worker_state, ensure_token, write_worker_state
from streams.runtime.store import NewEvents, Store
from streams.settings import Settings

log = logging.getLogger(__name__)

_STREAM_BUFFER_BATCHES = 4
"""Detection batches of events-topic messages Faust buffers ahead of the agent."""


class _NoStore:
    """The store of a worker that has none (``AISPM_ROLE=ingest``): its endpoint serves counters only."""

    def __init__(self) -> None:
        self.analyst = SimpleNamespace(slots=1)  # the endpoint sizes its query threads from it

    def query(self, sql: str, parameters: dict | None = None) -> tuple[list[str], list[tuple]]:
        raise RuntimeError("this worker opens no store (AISPM_ROLE=ingest): query the landing worker")

    def cancel_queries(self) -> None:
        pass

    def migrated(self) -> bool:
        return True


class IngestService(Service):
    """Hosts the batch landing loop (confluent-kafka, own thread) and the query endpoint.

    By role (``AISPM_ROLE``): ``all`` runs the loop against the store; ``ingest`` runs it without one
    (nothing deduplicated or inserted here: events and dead letters go to their topics only, every
    event with its raw record); ``land`` runs no loop (its agents land the topics)."""

    def __init__(self, *, settings: Settings, bootstrap: str, store: Store | None, detectors: Detectors,
                 detection_metrics: DetectionMetrics, alert_producer: Any, anomaly: AnomalyStage | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.anomaly = anomaly
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
        self.alert_producer = alert_producer
        self.query_server: QueryServer | None = None
        self.ops_server: Any = None

    def stats(self) -> dict:
        return {"ingest": self.metrics.snapshot(), "detection": self.detection_metrics.snapshot(),
                "anomaly": self.anomaly.metrics.snapshot() if self.anomaly is not None else None,
                "ingest_running": bool(self.loop_runner and self.loop_runner.alive)}

    async def on_start(self) -> None:
        settings = self.settings
        if settings.role != "land":
            self._start_ingest_loop()
        else:
            self.metrics.note_assignment(set(), added=True)  # no raw consumer to join: ready once up
        store: Any = self.store if self.store is not None else _NoStore()
        self.query_server = QueryServer(
            store=store, stats=self.stats, token=ensure_token(settings), port=settings.query.port,
            timeout_s=settings.query.timeout_s,
        )
        await self.query_server.start()
        from streams.runtime.metrics import OpsServer, StatsCollector

        self.ops_server = OpsServer(
            host=settings.ops.host, port=settings.ops.port, collector=StatsCollector(self.stats, self.metrics),
            alive=self._alive, store_ping=store.migrated,
            max_backlog=settings.ops.ready_max_backlog, store_check_s=settings.ops.store_check_s,
        )
        await self.ops_server.start()
        write_worker_state(settings, query_port=settings.query.port, bootstrap=self.bootstrap, role=settings.role)
        log.info("aispm worker (role %s) ready: query endpoint on 127.0.0.1:%d, metrics and health on %s:%d",
                 settings.role, settings.query.port, settings.ops.host, settings.ops.port)

    def _alive(self) -> bool:
        return self.settings.role == "land" or bool(self.loop_runner and self.loop_runner.alive)

    def _start_ingest_loop(self) -> None:
        from confluent_kafka import Consumer, Producer

        settings = self.settings
        self.producer = Producer(producer_config(settings, self.bootstrap))
        consumer = Consumer(consumer_config(settings, self.bootstrap))
        metrics = self.metrics

        def assigned(_consumer: Any, partitions: list) -> None:
            metrics.note_assignment({(p.topic, p.partition) for p in partitions}, added=True)

        def revoked(_consumer: Any, partitions: list) -> None:
            metrics.note_assignment({(p.topic, p.partition) for p in partitions}, added=False)

        consumer.subscribe(list(self.topics.raw.values()), on_assign=assigned, on_revoke=revoked,
                           on_lost=revoked)
        events_partitions = _partition_count(self.producer, self.topics.events)
        family_by_topic = {topic: family for family, topic in self.topics.raw.items()}
        key = settings.ingest.fingerprint_key
        redactor = installation_redactor(settings.data_dir, key.get_secret_value() if key else None)
        processes = settings.ingest.normalizing_processes()
        if processes:
            from streams.runtime.normalize_pool import NormalizePool

            self.normalize_pool = NormalizePool(
                processes, max_record_bytes=settings.ingest.max_record_bytes,
                raw_cap=settings.ingest.dead_letter_raw_cap, redact_bodies=settings.ingest.redact_bodies,
                policy_file=settings.detection.policy_file, redactor=redactor,
            )
        if self.store is not None:
            targets = LandingTargets(
                new_events=self.store.new_events, insert_events=self.store.insert_events,
                land_dead_letters=self.store.land_dead_letters, send_events=self._send_events,
                send_dead_letters=self._send_dead_letters, enrich=self.detectors.enrich)
        else:  # AISPM_ROLE=ingest: the landing worker deduplicates and lands what is forwarded
            targets = LandingTargets(
                new_events=lambda frame: NewEvents(frame, [], 0), insert_events=lambda new: None,
                land_dead_letters=lambda rows: None, send_events=self._send_events,
                send_dead_letters=self._send_dead_letters, enrich=self.detectors.enrich)
        self.loop_runner = IngestLoop(
            consumer=consumer,
            family_by_topic=family_by_topic,
            targets=targets,
            batch_size=settings.ingest.batch_size,
            flush_interval_s=settings.ingest.flush_interval_s,
            max_record_bytes=settings.ingest.max_record_bytes,
            raw_cap=settings.ingest.dead_letter_raw_cap,
            redact_bodies=settings.ingest.redact_bodies,
            events_per_message=settings.ingest.events_per_message,
            events_partitions=events_partitions,
            metrics=self.metrics,
            max_buffered_messages=settings.ingest.max_buffered_messages,
            normalizer=self.normalize_pool,
            redactor=redactor,
            # The landing worker stores what it receives: every event travels with its raw record then.
            raw_wanted=self.detectors.raw_wanted() if self.store is not None else None,
        )
        tune_for_streaming()  # everything start-up makes exists now
        self.loop_runner.start()

    async def on_stop(self) -> None:
        clear_worker_state(self.settings)
        if self.query_server is not None:
            await self.query_server.stop()
        if self.loop_runner is not None:
            # Lands the batches it holds and commits, within the bound (the rest is redelivered).
            await asyncio.get_running_loop().run_in_executor(
                None, self.loop_runner.stop, self.settings.shutdown_timeout_s)
        if self.ops_server is not None:
            await self.ops_server.stop()
        if self.normalize_pool is not None:
            self.normalize_pool.close()
        for producer in (self.producer, self.alert_producer):
            if producer is not None:
                producer.flush(10)

    def _send_events(self, messages: list[tuple[int, bytes]]) -> None:
        produce_all(self.producer, self.topics.events, [(partition, None, value) for partition, value in messages])

    def _send_dead_letters(self, messages: list[bytes]) -> None:
        produce_all(self.producer, self.topics.dead_letters, [(None, None, value) for value in messages])


def _partition_count(producer: Any, topic: str) -> int:
    """Partitions of ``topic`` as the cluster has it (it may predate the configured count)."""
    metadata = producer.list_topics(topic, timeout=30).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise RuntimeError(f"topic {topic} is not available: {metadata.error if metadata else 'missing'}")
    return len(metadata.partitions)


def produce_all(producer: Any, topic: str, messages: list[tuple[int | None, bytes | None, bytes]],
                timeout_s: float = 30) -> None:
    """Produce (partition, key, value) messages and return once all were delivered; raise otherwise."""
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    for partition, key, value in messages:
        extra = {} if partition is None else {"partition": partition}
        while True:
            try:
                producer.produce(topic, value, key=key, on_delivery=delivered, **extra)
                break
            except BufferError:  # local queue full: let deliveries drain, then retry
                producer.poll(0.1)
    remaining = producer.flush(timeout_s)
    if remaining or failures:
        raise RuntimeError(f"{remaining + len(failures)} messages to {topic} not delivered "
                           f"within {timeout_s:.0f} s: {failures[:3]}")


def create_app(settings: Settings, *, bootstrap: str, store: Store | None) -> faust.App:
    """The worker's app for ``settings.role``; ``store`` is None for ``ingest`` (it opens none)."""
    app = faust.App(
        # An ingest worker runs no agent: in a group of its own it cannot make the detection group rebalance.
        "aispm" if settings.role != "ingest" else "aispm-ingest-only",
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
        # Faust holds up to this many fetched events-topic messages for the detection agent (its default,
        # 4,096, is up to ~1.4 GB of Arrow batches while detection lags behind ingest): a few batches'
        # worth keep the agent busy; the rest wait in Kafka.
        stream_buffer_maxsize=_STREAM_BUFFER_BATCHES * settings.detection.batch_messages,
        datadir=str(settings.data_dir.resolve() / "faust"),
    )
    app.transport = Transport(app.conf.broker_consumer, app)  # fetches that wait 100 ms, not 1,500
    from confluent_kafka import Producer

    detectors = Detectors.default(policy_source(settings.detection.policy_file),
                                  sigma_paths=settings.detection.sigma_rules)
    detection_metrics = DetectionMetrics()
    alert_producer = Producer(producer_config(settings, bootstrap))
    topics = Topics.from_settings(settings)
    ingest = IngestService(settings=settings, bootstrap=bootstrap, store=store, detectors=detectors,
                           detection_metrics=detection_metrics, alert_producer=alert_producer, anomaly=None)
    app.aispm_ingest = ingest  # type: ignore[attr-defined]
    services: list[Service] = [ingest]
    app.aispm_services = services  # type: ignore[attr-defined]
    if store is None:  # an ingest worker: no store, no detection, no scheduled jobs
        return app
    stage = DetectionStage.configured(
        settings, detectors=detectors, store=store, metrics=detection_metrics,
        send_alerts=lambda messages: produce_all(alert_producer, topics.alerts,
                                                 [(None, key, value) for key, value in messages]),
        send_remediation=lambda messages: produce_all(alert_producer, topics.remediation,
                                                      [(None, key, value) for key, value in messages]),
    )
    ingest.anomaly = stage.anomaly
    lander = EventsLander(store, ingest.metrics) if settings.role == "land" else None
    register_detection_agent(app, settings, stage=stage, lander=lander)
    return app

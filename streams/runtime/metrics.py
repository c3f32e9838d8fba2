"""The worker's operations endpoint: Prometheus metrics, liveness and readiness.

The metrics are read from the counters the stages keep anyway (``IngestMetrics``, ``DetectionMetrics``,
``AnomalyMetrics``) when Prometheus scrapes, by one collector: nothing on the hot path knows about
Prometheus. ``readiness`` is pure, so what makes a worker ready is tested without a server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["OpsServer", "Readiness", "StatsCollector", "readiness", "render_metrics"]


def _histogram(family: Any, labels: list[str], state: dict) -> None:
    running = 0
    buckets = []
    for bound, count in zip([*state["bounds"], float("inf")], state["counts"], strict=True):
        running += count
        buckets.append((str(bound) if bound != float("inf") else "+Inf", running))
    family.add_metric(labels, buckets, state["sum"])


class StatsCollector:
    """A prometheus_client collector over the worker's ``stats()`` (the same dict `aispm status` shows),
    plus the ingest stage's distributions and partition positions."""

    def __init__(self, stats: Callable[[], dict], ingest: Any) -> None:
        self.stats = stats
        self.ingest = ingest

    def describe(self) -> list:
        return []  # collected at scrape time only

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        stats = self.stats()
        ingest = stats.get("ingest") or {}
        distributions = self.ingest.distributions()
        positions = self.ingest.positions()

        messages = CounterMetricFamily("aispm_ingest_messages", "Raw messages landed, per source family.",
                                       labels=["family"])
        for family, count in sorted(distributions["messages_by_family"].items()):
            messages.add_metric([family], count)
        yield messages
        events = CounterMetricFamily("aispm_ingest_events",
                                     "Normalized events landed (new ones), per source family and format.",
                                     labels=["family", "format"])
        for family, fmt, count in sorted(distributions["events_by_source"]):
            events.add_metric([family, fmt], count)
        yield events
        for name, key, text in (
            ("aispm_ingest_duplicates_skipped", "duplicates_skipped", "Events dropped as already stored."),
            ("aispm_ingest_batches", "batches", "Batches landed."),
        ):
            counter = CounterMetricFamily(name, text)
            counter.add_metric([], ingest.get(key, 0))
            yield counter
        dead = CounterMetricFamily("aispm_dead_letters", "Dead letters, per reason.", labels=["reason"])
        for reason, count in sorted((ingest.get("dead_letters_by_reason") or {}).items()):
            dead.add_metric([reason], count)
        yield dead

        sizes = HistogramMetricFamily("aispm_ingest_batch_messages", "Messages per landed batch.")
        _histogram(sizes, [], distributions["batch_messages"])
        yield sizes
        landing = HistogramMetricFamily("aispm_ingest_landing_latency_seconds",
                                        "Produce-to-landed time of each raw message.")
        _histogram(landing, [], distributions["landing_latency_s"])
        yield landing
        stages = HistogramMetricFamily("aispm_ingest_stage_seconds",
                                       "Time of one step for one batch (insert = the ClickHouse insert).",
                                       labels=["stage"])
        for stage, state in sorted(distributions["stage_latency_s"].items()):
            _histogram(stages, [stage], state)
        yield stages

        lag = GaugeMetricFamily(
            "aispm_ingest_partition_lag_records",
            "Records the consumer delivered to this worker and it has not landed yet, per partition "
            "(counted from delivered records, not from the broker's high watermark).",
            labels=["topic", "partition"])
        delivered = GaugeMetricFamily("aispm_ingest_partition_delivered_offset",
                                      "Offset after the last record delivered, per partition.",
                                      labels=["topic", "partition"])
        landed = GaugeMetricFamily("aispm_ingest_partition_landed_offset",
                                   "Offset after the last record landed (committed next), per partition.",
                                   labels=["topic", "partition"])
        for item in positions["partitions"]:
            labels = [item["topic"], str(item["partition"])]
            lag.add_metric(labels, item["lag"])
            delivered.add_metric(labels, item["delivered"])
            landed.add_metric(labels, item["landed"])
        yield from (lag, delivered, landed)
        assigned = GaugeMetricFamily("aispm_ingest_assigned_partitions",
                                     "Raw-topic partitions assigned to this worker (-1 before it joined).")
        assigned.add_metric([], positions["assigned"] if positions["joined"] else -1)
        yield assigned
        buffer = ingest.get("buffer") or {}
        for name, key, text in (
            ("aispm_ingest_buffered_messages", "messages", "Raw messages consumed and not landed yet."),
            ("aispm_ingest_buffered_messages_peak", "peak", "Most raw messages held at once since start."),
            ("aispm_ingest_buffer_bound_messages", "bound", "AISPM_INGEST__MAX_BUFFERED_MESSAGES (-1: none)."),
        ):
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], -1 if buffer.get(key) is None else buffer[key])
            yield gauge
        pauses = CounterMetricFamily("aispm_ingest_pauses", "Times consumption paused on a full buffer.")
        pauses.add_metric([], buffer.get("pauses", 0))
        yield pauses

        detection = stats.get("detection") or {}
        for name, key, text in (
            ("aispm_detection_events", "events", "Events the detection agent evaluated."),
            ("aispm_detection_findings", "findings", "Rule matches."),
            ("aispm_detection_rule_errors", "rule_errors", "Rule evaluations that raised."),
            ("aispm_detection_retries", "retries", "Detection steps retried (store or broker down)."),
        ):
            counter = CounterMetricFamily(name, text)
            counter.add_metric([], detection.get(key, 0))
            yield counter
        alerts = CounterMetricFamily("aispm_alerts_sent", "Alert messages sent, per detection and severity.",
                                     labels=["detection", "severity"])
        for detection_id, severity, count in detection.get("alerts_by_detection", []):
            alerts.add_metric([detection_id, severity], count)
        yield alerts

        anomaly = stats.get("anomaly")
        if anomaly is not None:
            for name, key, text in (
                ("aispm_anomaly_windows_closed", "windows_closed", "Access windows closed."),
                ("aispm_anomaly_windows_scored", "windows_scored", "Access windows scored by a model."),
                ("aispm_anomaly_anomalies", "anomalies", "Windows scored as anomalous."),
                ("aispm_anomaly_late_events", "late_events", "Events for windows already closed."),
            ):
                counter = CounterMetricFamily(name, text)
                counter.add_metric([], anomaly.get(key, 0))
                yield counter
        up = GaugeMetricFamily("aispm_ingest_running", "1 while the ingest thread runs.")
        up.add_metric([], 1 if stats.get("ingest_running") else 0)
        yield up


def render_metrics(collector: StatsCollector) -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reasons: list[str]


def readiness(*, joined: bool, ingest_running: bool, store_ok: bool, backlog: int, max_backlog: int) -> Readiness:
    """Ready: the ingest consumer joined its group, its thread runs, the store answers, and fewer than
    ``max_backlog`` delivered records wait to land."""
    reasons = []
    if not ingest_running:
        reasons.append("the ingest thread is not running")
    if not joined:
        reasons.append("the ingest consumer has not joined its group yet")
    if not store_ok:
        reasons.append("the store does not answer")
    if backlog > max_backlog:
        reasons.append(f"{backlog} delivered records wait to land (bound {max_backlog})")
    return Readiness(not reasons, reasons)


class OpsServer:
    """aiohttp on ``host:port``: /metrics, /healthz (the process and its ingest thread live), /readyz."""

    def __init__(self, *, host: str, port: int, collector: StatsCollector, alive: Callable[[], bool],
                 store_ping: Callable[[], Any], max_backlog: int, store_check_s: float) -> None:
        self.host, self.port = host, port
        self.collector = collector
        self.alive = alive
        self.store_ping = store_ping
        self.max_backlog = max_backlog
        self.store_check_s = store_check_s
        self._store_checked: tuple[float, bool] | None = None
        self._runner: Any = None

    async def _store_ok(self) -> bool:
        now = time.monotonic()
        if self._store_checked is not None and now - self._store_checked[0] < self.store_check_s:
            return self._store_checked[1]
        try:
            await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, self.store_ping), 5)
            ok = True
        except Exception as error:  # noqa: BLE001 -- any failure means not ready; the reason is logged
            log.warning("readiness: the store did not answer: %s", error)
            ok = False
        self._store_checked = (time.monotonic(), ok)
        return ok

    async def start(self) -> None:
        from aiohttp import web

        async def metrics(request: web.Request) -> web.Response:
            body = await asyncio.get_running_loop().run_in_executor(None, render_metrics, self.collector)
            return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

        async def healthz(request: web.Request) -> web.Response:
            alive = self.alive()
            return web.json_response({"alive": alive}, status=200 if alive else 503)

        async def readyz(request: web.Request) -> web.Response:
            positions = self.collector.ingest.positions()
            state = readiness(joined=positions["joined"], ingest_running=self.alive(),
                              store_ok=await self._store_ok(), backlog=positions["backlog"],
                              max_backlog=self.max_backlog)
            return web.json_response({"ready": state.ready, "reasons": state.reasons,
                                      "backlog": positions["backlog"]}, status=200 if state.ready else 503)

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/readyz", readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

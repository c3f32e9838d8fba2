"""/metrics, /healthz and /readyz on a running worker, after a known input."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.runtime.producer import RawProducer
from tests.conftest import REPO, WorkerHandle, free_port, worker_env

pytestmark = pytest.mark.integration


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_metrics_and_health_after_a_known_input(tmp_path, embedded_broker) -> None:
    port = free_port()
    worker = WorkerHandle(env=worker_env(tmp_path, embedded_broker, AISPM_OPS__PORT=str(port),
                                         AISPM_LOG_FORMAT="json"), data_dir=tmp_path)
    worker.start(timeout_s=180)
    try:
        assert _get(port, "/healthz")[0] == 200
        lines = [line for line in (REPO / "tests/samples/gateway/envoy.jsonl").read_bytes().splitlines() if line]
        garbage = [b'{"truncated": ', b'\xff\xfe not text']
        settings = worker.settings()
        producer = RawProducer(settings, settings.kafka.bootstrap_servers)
        producer.send("gateway", lines + garbage)
        assert producer.flush().failed == 0
        producer.close()
        stats = worker.wait_for_messages(len(lines) + len(garbage))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _get(port, "/readyz")[0] != 200:
            time.sleep(0.5)
        status, body = _get(port, "/readyz")
        assert status == 200, body
        text = _get(port, "/metrics")[1].decode()
        assert _metric(text, "aispm_ingest_messages_total", family="gateway") == len(lines) + len(garbage)
        assert _metric(text, "aispm_ingest_events_total", family="gateway") == stats["events_landed"] > 0
        assert _metric(text, "aispm_ingest_events_total", family="gateway", format="envoy") == stats["events_landed"]
        assert _metric(text, "aispm_dead_letters_total") == stats["dead_letters"] >= 2
        assert _metric(text, "aispm_ingest_batch_messages_count") == stats["batches"]
        assert _metric(text, "aispm_ingest_landing_latency_seconds_count") == len(lines) + len(garbage)
        assert _metric(text, "aispm_ingest_stage_seconds_count", stage="insert") >= stats["batches"]
        assert _metric(text, "aispm_ingest_partition_lag_records") == 0  # everything delivered has landed
        assert _metric(text, "aispm_ingest_assigned_partitions") == 3 * settings.kafka.partitions
        # JSON logs (after the spinner's terminal codes Faust prints): whole objects, level named.
        entries = [orjson.loads(line[line.index('{"time"'):]) for line in
                   (tmp_path / "worker.log").read_text().splitlines() if '{"time"' in line]
        assert entries and all(entry["level"] and entry["logger"] for entry in entries), worker.log_tail()
    finally:
        worker.stop()
    assert worker.process.returncode == 0, worker.log_tail()

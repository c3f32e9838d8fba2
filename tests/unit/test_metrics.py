"""/metrics from the stages' own counters, readiness, and JSON logs."""

from __future__ import annotations

import logging
from collections import Counter

import orjson
from prometheus_client.parser import text_string_to_metric_families

from streams.detect.stage import DetectionMetrics
from streams.runtime.ingest import IngestMetrics
from streams.runtime.logs import JsonFormatter, logging_config
from streams.runtime.metrics import StatsCollector, readiness, render_metrics


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_export_what_the_stages_counted() -> None:
    ingest, detection = IngestMetrics(), DetectionMetrics()
    ingest.note_assignment({("raw.gateway", 0), ("raw.gateway", 1)}, added=True)
    ingest.note_delivered({("raw.gateway", 0): 120, ("raw.gateway", 1): 40})
    ingest.record_batch(messages=100, landed=90, duplicates=5, dead=Counter(truncated_json=3, unknown_format=2),
                        latencies_ms=[20.0] * 99 + [3000.0], forwarded=90, families=Counter(gateway=100),
                        sources=Counter({("gateway", "envoy"): 60, ("gateway", "squid"): 30}),
                        offsets={("raw.gateway", 0): 100})
    with ingest.timed("insert"):
        pass
    detection.add(events=90, findings=4)
    detection.count_alerts([{"detection": "shadow_ai_egress", "severity": "medium"}] * 2
                           + [{"detection": "bedrock_invocation_logging_deleted", "severity": "high"}])

    def stats() -> dict:
        return {"ingest": ingest.snapshot(), "detection": detection.snapshot(),
                "anomaly": {"windows_closed": 7, "windows_scored": 6, "anomalies": 1, "late_events": 0},
                "ingest_running": True}

    got = _samples(render_metrics(StatsCollector(stats, ingest)).decode())
    assert got[("aispm_ingest_messages_total", (("family", "gateway"),))] == 100
    assert got[("aispm_ingest_events_total", (("family", "gateway"), ("format", "envoy")))] == 60
    assert got[("aispm_ingest_events_total", (("family", "gateway"), ("format", "squid")))] == 30
    assert got[("aispm_dead_letters_total", (("reason", "truncated_json"),))] == 3
    assert got[("aispm_ingest_batch_messages_count", ())] == 1
    assert got[("aispm_ingest_batch_messages_bucket", (("le", "100"),))] == 1
    assert got[("aispm_ingest_batch_messages_bucket", (("le", "10"),))] == 0
    assert got[("aispm_ingest_landing_latency_seconds_bucket", (("le", "0.025"),))] == 99
    assert got[("aispm_ingest_landing_latency_seconds_bucket", (("le", "+Inf"),))] == 100
    assert got[("aispm_ingest_stage_seconds_count", (("stage", "insert"),))] == 1
    # Lag from delivered records: partition 0 delivered 120, landed 100; partition 1 landed nothing.
    assert got[("aispm_ingest_partition_lag_records", (("partition", "0"), ("topic", "raw.gateway")))] == 20
    assert got[("aispm_ingest_partition_lag_records", (("partition", "1"), ("topic", "raw.gateway")))] == 40
    assert got[("aispm_ingest_assigned_partitions", ())] == 2
    assert got[("aispm_alerts_sent_total", (("detection", "shadow_ai_egress"), ("severity", "medium")))] == 2
    assert got[("aispm_anomaly_windows_scored_total", ())] == 6
    assert got[("aispm_ingest_running", ())] == 1


def test_before_joining_assigned_partitions_is_minus_one() -> None:
    ingest = IngestMetrics()
    got = _samples(render_metrics(StatsCollector(lambda: {"ingest": ingest.snapshot()}, ingest)).decode())
    assert got[("aispm_ingest_assigned_partitions", ())] == -1
    ingest.note_assignment(set(), added=True)  # joined, with no partition (more workers than partitions)
    assert ingest.positions()["joined"]


def test_readiness_names_every_reason() -> None:
    assert readiness(joined=True, ingest_running=True, store_ok=True, backlog=10, max_backlog=10).ready
    state = readiness(joined=False, ingest_running=True, store_ok=False, backlog=11, max_backlog=10)
    assert not state.ready and len(state.reasons) == 3
    assert any("11 delivered records" in reason for reason in state.reasons)


def test_json_logs_are_one_object_a_line_with_credentials_masked() -> None:
    record = logging.LogRecord("aispm.test", logging.WARNING, __file__, 1,
                               "connecting to %s", ("https://svc:hunter2hunter2@kafka.internal:9096",), None)
    record.partition = 3
    line = JsonFormatter().format(record)
    entry = orjson.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "aispm.test" and entry["partition"] == 3
    assert "hunter2hunter2" not in line and "\n" not in line
    assert logging_config("text", "INFO") is None
    assert logging_config("json", "INFO")["root"]["handlers"] == ["stderr"]

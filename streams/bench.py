"""`make bench`: >= 200,000 mixed events through broker -> worker -> ClickHouse, one JSON line out.

Runs the embedded broker and a real `aispm up` worker process on loopback in a temporary data dir,
produces the events as fast as the producer goes, and waits until the worker has landed them all.
Reports end-to-end events/s (first produce to last landed), produce-to-landed latency p50/p99 (from
the worker's own per-message measurement against each message's Kafka timestamp), and the worker's
peak RSS (the kernel's VmHWM).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson


def _stratus_records() -> list[dict]:
    here = Path(__file__).resolve().parents[1]
    folder = here.parent / "shared" / "datasets" / "stratus-red-team-detonation-logs"
    records: list[dict] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            records.extend(orjson.loads(path.read_bytes()))
    if not records:
        from streams.demo.samples import real_samples

        records = [orjson.loads(value) for value in real_samples()["cloudtrail"]]
    return records


def mixed_events(total: int, seed: int = 11) -> dict[str, list[bytes]]:
    """Deterministic mixed traffic, ~1 KB per event on average, every event with its own id."""
    rng = random.Random(seed)
    cloudtrail = _stratus_records()
    out: dict[str, list[bytes]] = {"cloudtrail": [], "gateway": [], "audit": []}
    for i in range(total):
        kind = i % 10
        if kind < 6:
            record = dict(cloudtrail[rng.randrange(len(cloudtrail))])
            record["eventID"] = str(uuid.UUID(int=rng.getrandbits(128)))
            out["cloudtrail"].append(orjson.dumps(record))
        elif kind < 8:
            out["gateway"].append(orjson.dumps({
                "start_time": f"2026-11-20T08:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
                "method": "POST", "path": f"/v1/chat/completions?req={i}", "protocol": "HTTP/1.1",
                "response_code": 200, "response_flags": "-", "bytes_received": rng.randrange(200, 4000),
                "bytes_sent": rng.randrange(500, 9000), "duration": rng.randrange(30, 900),
                "x-forwarded-for": f"10.{i % 200}.{i % 250}.{i % 240}", "user_agent": "openai-python/1.54.0",
                "x-request-id": str(uuid.UUID(int=rng.getrandbits(128))), "authority": "api.openai.com",
                "upstream_host": "162.159.140.245:443", "downstream_remote_address": f"10.9.{i % 250}.7:51234",
            }))
        elif kind < 9:
            out["gateway"].append(
                f'10.4.{i % 250}.{i % 200} - user{i % 97} [20/Nov/2026:08:{i // 60 % 60:02d}:{i % 60:02d} +0000] '
                f'"GET /api/v2/items/{i}?view=full HTTP/1.1" 200 {rng.randrange(200, 20000)} '
                f'"https://intranet.example/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"'.encode())
        else:
            out["audit"].append(orjson.dumps({
                "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
                "auditID": str(uuid.UUID(int=rng.getrandbits(128))), "stage": "ResponseComplete",
                "requestURI": f"/api/v1/namespaces/ml/pods/trainer-{i}", "verb": "get",
                "user": {"username": f"system:serviceaccount:ml:runner{i % 5}",
                         "groups": ["system:serviceaccounts", "system:authenticated"]},
                "sourceIPs": [f"10.3.{i % 250}.{i % 200}"], "userAgent": "kubectl/v1.30.0 (linux/amd64)",
                "objectRef": {"resource": "pods", "namespace": "ml", "name": f"trainer-{i}", "apiVersion": "v1"},
                "responseStatus": {"metadata": {}, "code": 200},
                "requestReceivedTimestamp": "2026-11-20T08:00:00.000000Z",
                "stageTimestamp": "2026-11-20T08:00:00.004000Z",
                "annotations": {"authorization.k8s.io/decision": "allow",
                                "authorization.k8s.io/reason": "RBAC: allowed by RoleBinding ml-readers"},
            }))
    return out


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)

    from streams.broker import port_in_use, start_embedded_broker
    from streams.demo_runner import start_worker, stop_worker, wait_until
    from streams.kafka import ensure_topics
    from streams.producer import RawProducer
    from streams.query import remote_stats
    from streams.settings import Settings

    events = mixed_events(args.events)
    sizes = [len(value) for values in events.values() for value in values]
    with tempfile.TemporaryDirectory(prefix="aispm-bench-") as tmp:
        def free(port: int) -> int:
            while port_in_use(port):
                port += 1
            return port

        os.environ.update({
            "AISPM_DATA_DIR": tmp,
            "AISPM_QUERY__PORT": str(free(28123)),
            "AISPM_LOG_LEVEL": "WARNING",
        })
        broker_settings = Settings(kafka={"embedded_port": free(29092)})
        with start_embedded_broker(broker_settings) as broker:
            os.environ["AISPM_KAFKA__BOOTSTRAP_SERVERS"] = broker.bootstrap
            settings = Settings()
            ensure_topics(settings, broker.bootstrap)
            worker = start_worker(settings)
            try:
                producer = RawProducer(settings, broker.bootstrap)
                started = time.monotonic()
                for family, values in events.items():
                    producer.send(family, values)
                report = producer.flush(300)
                produced_s = time.monotonic() - started

                def landed() -> bool:
                    return remote_stats(settings)["ingest"]["messages"] >= report.messages

                wait_until(landed, args.timeout, "the benchmark events to land")
                elapsed = time.monotonic() - started
                stats = remote_stats(settings)["ingest"]
                rss = _peak_rss_mb(worker.pid)
            finally:
                stop_worker(worker)
    result = {
        "events": report.messages,
        "avg_event_bytes": round(sum(sizes) / len(sizes)),
        "mix": {family: len(values) for family, values in events.items()},
        "events_per_s": round(report.messages / elapsed),
        "produce_s": round(produced_s, 2),
        "end_to_end_s": round(elapsed, 2),
        "latency_ms": {"p50": stats["latency_ms"]["p50"], "p99": stats["latency_ms"]["p99"]},
        "events_landed": stats["events_landed"],
        "dead_letters": stats["dead_letters"],
        "worker_peak_rss_mb": rss,
        "machine": {"cpus": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version()},
    }
    print(orjson.dumps(result).decode())
    return 0 if stats["events_landed"] + stats["duplicates_skipped"] + stats["dead_letters"] >= report.messages else 1


if __name__ == "__main__":
    sys.exit(main())

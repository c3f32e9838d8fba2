"""`make bench`: >= 200,000 mixed events through broker -> worker -> ClickHouse, one JSON line out.

Runs the embedded broker and a real `aispm up` worker process on loopback in a temporary data dir,
produces the events as fast as the producer goes, and waits until the worker has landed them all.
Reports end-to-end events/s (first produce to last landed), produce-to-landed latency p50/p99 (from
the worker's own per-message measurement against each message's Kafka timestamp), and the worker's
peak RSS (the kernel's VmHWM), and that of its child processes (normalizing pool).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import orjson


def mixed_events(total: int, seed: int = 11) -> dict[str, list[bytes]]:
    """At least ``total`` events of realistic mixed traffic (~1 KB each), every one with its own id.

    The demo generator's company at a larger scale: CloudTrail, proxy/gateway/Zeek and audit logs in
    their real formats, mostly routine, with the demo's incidents (and malformed records) scaled along.
    """
    from streams.demo import expected_counts, generate

    scale = max(1, -(-total // sum(expected_counts(seed=seed, scale=1).records.values())))
    while True:  # larger scales are not exactly linear: grow until there is enough
        events = generate(seed=seed, scale=scale)
        produced = sum(len(values) for values in events.values())
        if produced >= total:
            return events
        scale = max(scale + 1, -(-scale * total // produced))


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

    import psutil

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
                del producer  # its connection would outlive the broker and log refusals

                def landed() -> bool:
                    return remote_stats(settings)["ingest"]["messages"] >= report.messages

                wait_until(landed, args.timeout, "the benchmark events to land")
                elapsed = time.monotonic() - started
                stats = remote_stats(settings)["ingest"]
                rss = _peak_rss_mb(worker.pid)
                helpers_rss = sum(_peak_rss_mb(child.pid) or 0
                                  for child in psutil.Process(worker.pid).children(recursive=True))
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
        "worker_children_peak_rss_mb": round(helpers_rss, 1),  # normalizing processes
        "settings": {"batch_size": settings.ingest.batch_size,
                     "normalize_processes": settings.ingest.normalize_processes},
        "machine": {"cpus": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version()},
    }
    print(orjson.dumps(result).decode())
    return 0 if stats["messages"] >= report.messages else 1


if __name__ == "__main__":
    sys.exit(main())

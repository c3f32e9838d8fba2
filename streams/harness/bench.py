"""`make bench`: the hot path measured against itself and against a bare loop, one JSON line out.

In one run, on one machine, over the same messages:
1. **stages**: CPU µs per event of each stage in this process, without Kafka: normalize, enrich,
   dedup (the store lookup), encode (events-topic messages), decode (the agent's side), detect, insert (chDB);
2. **bare loop**: a confluent-kafka consume -> decode -> build a small record -> produce loop over the
   same raw messages on the same broker: the ceiling Python + Kafka give here;
3. **end to end**: >= 200,000 mixed events produced at once to a real `aispm up` worker; events/s from
   first produce to last landed, and the ratio to the bare loop (run after it, on the same messages);
4. **paced**: the worker fed at about half that rate, with marker records whose produce-to-landed and
   produce-to-alert latencies (p50/p99) are measured (a lightly loaded worker, not a drained backlog);
5. the worker's peak RSS (the kernel's VmHWM) and that of its child processes.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import polars as pl


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


def _cpu_seconds(worker_pid: int, broker_pid: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of the worker's main process, its normalizing processes,
    the broker, and this process (the producer)."""
    import psutil

    def used(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    worker = psutil.Process(worker_pid)
    return {"worker": used(worker), "normalizing": sum(used(child) for child in worker.children(recursive=True)),
            "broker": used(psutil.Process(broker_pid)), "producer": used(psutil.Process())}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


# --- 1. stage costs -------------------------------------------------------------------------------------

def stage_costs(events: dict[str, list[bytes]], data_dir: Path, *, batch_size: int = 5000) -> dict[str, Any]:
    """CPU µs per event of each stage of the hot path, in this process (no Kafka, chDB for the store): the
    process's CPU while the stage runs, and apart the part of it spent in this thread (the Python work)."""
    from streams.demo.model import train_demo_model
    from streams.detect.anomaly import AnomalyStage
    from streams.detect.pipeline import Detectors
    from streams.detect.stage import DetectionStage
    from streams.normalize.batch import decode_events
    from streams.runtime.ingest import RawMessage, process_batch, route_frame
    from streams.runtime.store import Store
    from streams.settings import Settings

    detectors = Detectors.default()
    settings = Settings(data_dir=data_dir)
    store = Store(settings)
    store.migrate()
    train_demo_model(store, settings, trained_by="make bench")
    anomaly = AnomalyStage(store=store, settings=settings.anomaly)
    anomaly.load()
    # The worker's detection stage but for its anomaly stage, which is measured on its own below.
    stage = DetectionStage.configured(settings.model_copy(update={"anomaly": settings.anomaly.model_copy(
        update={"enabled": False})}), detectors=detectors, store=store, send_alerts=lambda _messages: None)
    stage.load()
    stages = ("normalize", "enrich", "dedup", "encode", "decode", "detect", "anomaly", "insert")
    spent = dict.fromkeys(stages, 0.0)  # the process's CPU: the stage's own and its chDB and polars threads'
    spent_here = dict.fromkeys(stages, 0.0)  # this thread's alone: the Python part
    total_events = 0
    messages = [RawMessage(family, f"raw.{family}", 0, offset, value, 0)
                for family, values in events.items() for offset, value in enumerate(values)]
    # The stages run one after another in this thread, so the process's CPU while one runs is what it costs
    # the machine: chDB runs a query (the dedup lookup, every insert of the detection stage) on its own
    # threads, and polars builds frames on its pool: by this thread's CPU alone a stage would look ~20
    # µs/event cheaper than it is. What the process spends outside every stage (merges that run between
    # them) is ``store_background``.

    def clock() -> tuple[float, float]:
        return time.process_time(), time.thread_time()

    def charge(stage: str, began: tuple[float, float], ended: tuple[float, float]) -> None:
        spent[stage] += ended[0] - began[0]
        spent_here[stage] += ended[1] - began[1]

    def timed_enrich(batch_events: list[dict]) -> None:  # inside process_batch, as in the worker
        began = clock()
        detectors.enrich(batch_events)
        charge("enrich", began, clock())

    loop_began = time.process_time()
    try:
        for start in range(0, len(messages), batch_size):
            batch = messages[start:start + batch_size]
            began = clock()
            output = process_batch(batch, max_record_bytes=settings.ingest.max_record_bytes,
                                   raw_cap=settings.ingest.dead_letter_raw_cap, enrich=timed_enrich)
            normalized = clock()
            new = store.new_events(output.frame)
            deduped = clock()
            encoded_messages = route_frame(new.frame, settings.kafka.partitions, settings.ingest.events_per_message)
            encoded = clock()
            # The agent's side: Arrow messages back to a frame; the worker's detection stage (the rows some
            # rule can match as dicts, the rules, identity bindings, graph facts, alerts landed).
            frame = pl.concat([decode_events(message) for _, message in encoded_messages], how="vertical")
            decoded = clock()
            stage.commit(stage.prepare_decoded(frame, [], messages=len(encoded_messages)))
            detected = clock()
            closed = anomaly.observe(frame)
            if closed is not None:
                anomaly.commit(closed)
            scored = clock()
            store.insert_events(new)
            inserted = clock()
            charge("normalize", began, normalized)  # the enrichment is taken out below
            charge("dedup", normalized, deduped)
            charge("encode", deduped, encoded)
            charge("decode", encoded, decoded)
            charge("detect", decoded, detected)
            charge("anomaly", detected, scored)
            charge("insert", scored, inserted)
            total_events += len(output.events)
    finally:
        loop_spent = time.process_time() - loop_began
        store.close()
    for account in (spent, spent_here):
        account["normalize"] -= account["enrich"]
    spent["store_background"] = max(0.0, loop_spent - sum(spent.values()))

    def per_event(account: dict[str, float]) -> dict[str, float]:
        figures = {stage: round(seconds * 1e6 / max(1, total_events), 2) for stage, seconds in account.items()}
        return figures | {"total": round(sum(figures.values()), 2)}

    return {"events": total_events, "cpu_us_per_event": per_event(spent),
            "this_thread_cpu_us_per_event": per_event(spent_here),
            "anomaly_windows_closed": anomaly.metrics.windows_closed,
            "anomaly_windows_scored": anomaly.metrics.windows_scored}


def backfill_rate(events: dict[str, list[bytes]], data_dir: Path) -> dict[str, Any]:
    """`aispm backfill` of the mix's CloudTrail, written as CloudTrail delivers it to S3 (gzip Records
    files under AWSLogs/..., with digests), into a fresh chDB store: events/s end to end, digests checked."""
    from streams.backfill.run import run_backfill
    from streams.demo.export import write_cloudtrail_export
    from streams.runtime.store import Store
    from streams.settings import Settings

    export = data_dir / "export"
    write_cloudtrail_export(export, events["cloudtrail"], per_file=2000)
    settings = Settings(data_dir=data_dir / "store")
    store = Store(settings)
    try:
        store.migrate()
        report = run_backfill(settings, store, "cloudtrail", [export])
    finally:
        store.close()
    return {"files": report.files, "events": report.events, "events_landed": report.events_landed,
            "seconds": round(report.seconds, 2), "events_per_s": report.events_per_s,
            "digests_valid": report.digests.valid if report.digests else None,
            "normalize_processes": settings.ingest.normalizing_processes()}


# --- 2. the bare loop -----------------------------------------------------------------------------------

def bare_loop(settings: Any, bootstrap: str, expected: int, timeout_s: float = 300) -> dict[str, Any]:
    """consume -> decode -> small record -> produce, over the raw topics the pipeline reads."""
    from confluent_kafka import Consumer, Producer

    from streams.runtime.kafka import Topics, consumer_config, ensure_topics, producer_config

    topics = Topics.from_settings(settings)
    out_topic = settings.topic("bare-loop-out")
    ensure_topics(settings, bootstrap, [out_topic])
    consumer = Consumer(consumer_config(settings, bootstrap, group_id=f"bare-{uuid.uuid4()}"))
    consumer.subscribe(list(topics.raw.values()))
    producer = Producer(producer_config(settings, bootstrap))
    seen = 0
    first: float | None = None
    deadline = time.monotonic() + timeout_s
    while seen < expected and time.monotonic() < deadline:
        for message in consumer.consume(1000, timeout=0.5):
            if message.error() is not None:
                continue
            if first is None:
                first = time.monotonic()
            value = message.value() or b""
            try:
                record = orjson.loads(value)
            except orjson.JSONDecodeError:
                record = {"line": value.decode("utf-8", "replace")}
            if not isinstance(record, dict):
                record = {"value": record}
            flat = {"topic": message.topic(), "partition": message.partition(), "offset": message.offset(),
                    "id": record.get("eventID") or record.get("uid") or "", "name": record.get("eventName", ""),
                    "source": record.get("eventSource", ""), "ip": record.get("sourceIPAddress", ""),
                    "size": len(value)}
            while True:
                try:
                    producer.produce(out_topic, orjson.dumps(flat))
                    break
                except BufferError:
                    producer.poll(0.05)
            seen += 1
        producer.poll(0)
    producer.flush(60)
    elapsed = time.monotonic() - (first or time.monotonic())
    consumer.close()
    return {"events": seen, "events_per_s": round(seen / elapsed) if elapsed > 0 else None}


# --- 4. the paced run ------------------------------------------------------------------------------------

def _marker(index: int, run: str) -> tuple[bytes, str]:
    """An Envoy access-log record with an unsanctioned AI host, stamped now, from a principal of its own:
    it lands as one event and raises one alert."""
    address = str(ipaddress.ip_address("10.200.0.0") + index)
    now = time.time()
    record = {
        "start_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
        "method": "POST", "path": "/v1/chat/completions", "protocol": "HTTP/1.1", "response_code": 200,
        "bytes_received": 800, "bytes_sent": 2400, "duration": 300, "x-forwarded-for": address,
        "user_agent": f"bench-marker/{run}", "x-request-id": f"{run}-{index}", "authority": "api.openai.com",
    }
    return orjson.dumps(record), address


def paced_run(settings: Any, bootstrap: str, events: dict[str, list[bytes]], rate: float,
              seconds: float = 20, markers_per_s: float = 10) -> dict[str, Any]:
    """Feed the worker ``rate`` messages/s with marker records among them; their latencies."""
    from confluent_kafka import Consumer

    from streams.runtime.kafka import Topics, consumer_config
    from streams.runtime.producer import RawProducer
    from streams.runtime.query import remote_query

    run = uuid.uuid4().hex[:8]
    alerts: dict[str, float] = {}
    stop = threading.Event()

    def watch_alerts() -> None:
        consumer = Consumer(consumer_config(settings, bootstrap, group_id=f"paced-{run}") | {"auto.offset.reset": "latest"})
        consumer.subscribe([Topics.from_settings(settings).alerts])
        while not stop.is_set():
            for message in consumer.consume(500, timeout=0.2):
                if message.error() is None:
                    alert = orjson.loads(message.value())
                    principal = alert.get("unmapped", {}).get("principal", "")
                    alerts.setdefault(principal, time.time())
        consumer.close()

    watcher = threading.Thread(target=watch_alerts, daemon=True)
    watcher.start()
    time.sleep(8)  # the watcher joins its group before the first marker goes out
    producer = RawProducer(settings, bootstrap)
    pool = [(family, value) for family, values in events.items() for value in values]
    produced_at: dict[str, float] = {}
    started = time.monotonic()
    sent = markers = 0
    every = max(1, int(rate / markers_per_s))
    while time.monotonic() - started < seconds:
        target = int((time.monotonic() - started) * rate)
        while sent < target:
            if sent % every == 0:
                value, address = _marker(markers, run)
                produced_at[address] = time.time()
                producer.send("gateway", [value])
                markers += 1
            else:
                family, value = pool[sent % len(pool)]
                producer.send(family, [value])
            sent += 1
        time.sleep(0.005)
    producer.flush(60)
    deadline = time.monotonic() + 60
    # Every marker's alert (the mix raises alerts of other principals too: those do not count).
    while not produced_at.keys() <= alerts.keys() and time.monotonic() < deadline:
        time.sleep(0.5)
    stop.set()
    watcher.join(5)
    rows = remote_query(settings, "SELECT src_ip, toUnixTimestamp64Milli(ingested_at) FROM events "
                        "WHERE user_agent = {ua:String}", {"ua": f"bench-marker/{run}"})[1]
    landed = [landed_ms - produced_at[address] * 1000 for address, landed_ms in rows if address in produced_at]
    order = list(produced_at)  # markers in the order they were produced
    stored = {address for address, _ in rows}
    alerted = [(alerts[address] - produced_at[address]) * 1000 for address in produced_at if address in alerts]
    return {
        "rate_per_s": round(rate), "seconds": seconds, "messages": sent, "markers": markers,
        "produce_to_landed_ms": {"p50": _percentile(landed, 0.5), "p99": _percentile(landed, 0.99),
                                 "samples": len(landed)},
        "produce_to_alert_ms": {"p50": _percentile(alerted, 0.5), "p99": _percentile(alerted, 0.99),
                                "samples": len(alerted)},
        # Positions (in produce order) of markers that had not landed / alerted when the run ended.
        "markers_not_landed": [i for i, address in enumerate(order) if address not in stored],
        "markers_not_alerted": [i for i, address in enumerate(order) if address not in alerts],
    }


# --- the run --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--paced-seconds", type=float, default=20)
    args = parser.parse_args(argv)

    import psutil

    from streams.demo.runner import start_worker, stop_worker, wait_until
    from streams.runtime.broker import port_in_use, start_embedded_broker
    from streams.runtime.kafka import ensure_topics
    from streams.runtime.producer import RawProducer
    from streams.runtime.query import remote_stats
    from streams.settings import Settings

    events = mixed_events(args.events)
    sizes = [len(value) for values in events.values() for value in values]
    with tempfile.TemporaryDirectory(prefix="aispm-bench-") as tmp:
        stages = stage_costs(events, Path(tmp) / "stages")
        backfill = backfill_rate(events, Path(tmp) / "backfill")

        def free(port: int) -> int:
            while port_in_use(port):
                port += 1
            return port

        os.environ.update({
            "AISPM_DATA_DIR": str(Path(tmp) / "worker"),
            "AISPM_QUERY__PORT": str(free(28123)),
            "AISPM_LOG_LEVEL": "WARNING",
            "AISPM_SCHEDULER__ENABLED": "false",  # the figures are the stream's, not a retraining's
        })
        broker_settings = Settings(kafka={"embedded_port": free(29092)})
        with start_embedded_broker(broker_settings) as broker:
            os.environ["AISPM_KAFKA__BOOTSTRAP_SERVERS"] = broker.bootstrap
            settings = Settings()
            ensure_topics(settings, broker.bootstrap)
            from streams.demo.model import train_demo_model
            from streams.runtime.store import Store

            store = Store(settings)  # the worker scores with a promoted model, as a deployment does
            try:
                store.migrate()
                train_demo_model(store, settings, trained_by="make bench")
            finally:
                store.close()
            worker = start_worker(settings)
            try:
                producer = RawProducer(settings, broker.bootstrap)
                cpu_before = _cpu_seconds(worker.pid, broker.process.pid)
                started = time.monotonic()
                for family, values in events.items():
                    producer.send(family, values)
                report = producer.flush(300)

                def landed() -> bool:
                    return remote_stats(settings)["ingest"]["messages"] >= report.messages

                wait_until(landed, args.timeout, "the benchmark events to land")
                elapsed = time.monotonic() - started
                cpu_used = {name: round(seconds - cpu_before.get(name, 0.0), 2)
                            for name, seconds in _cpu_seconds(worker.pid, broker.process.pid).items()}
                all_stats = remote_stats(settings)
                stats, anomaly_stats = all_stats["ingest"], all_stats.get("anomaly")
                end_to_end = round(report.messages / elapsed)
                # The same messages, still in the raw topics, through the bare loop (the worker is idle).
                bare = bare_loop(settings, broker.bootstrap, report.messages)
                paced = paced_run(settings, broker.bootstrap, events, rate=end_to_end / 2,
                                  seconds=args.paced_seconds)
                rss = _peak_rss_mb(worker.pid)
                helpers_rss = sum(_peak_rss_mb(child.pid) or 0
                                  for child in psutil.Process(worker.pid).children(recursive=True))
            finally:
                stop_worker(worker)
    result = {
        "events": report.messages,
        "avg_event_bytes": round(sum(sizes) / len(sizes)),
        "mix": {family: len(values) for family, values in events.items()},
        "events_per_s": end_to_end,
        "bare_loop_events_per_s": bare["events_per_s"],
        "ratio_to_bare_loop": round(end_to_end / bare["events_per_s"], 3) if bare["events_per_s"] else None,
        "end_to_end_s": round(elapsed, 2),
        # CPU seconds each party spent during the end-to-end run (2 cores give 2 s per second).
        "end_to_end_cpu_s": cpu_used,
        # Wall seconds the worker's ingest threads spent per step over the whole run (see IngestMetrics).
        "worker_stage_seconds": stats["stage_seconds"],
        "stages": stages,
        # gzip CloudTrail in S3's layout through `aispm backfill` into chDB (its own run, no broker).
        "backfill": backfill,
        "paced": paced,
        "events_landed": stats["events_landed"],
        "anomaly": anomaly_stats,
        "dead_letters": stats["dead_letters"],
        "worker_peak_rss_mb": rss,
        "worker_children_peak_rss_mb": round(helpers_rss, 1),  # normalizing processes
        "settings": {"batch_size": settings.ingest.batch_size,
                     "normalize_processes": settings.ingest.normalizing_processes()},
        "machine": {"cpus": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version()},
    }
    print(orjson.dumps(result).decode())
    return 0 if stats["messages"] >= report.messages else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make chaos`: mixed events through the real broker while the worker is killed and the store fails.

The same input goes through the pipeline twice on one embedded broker: once without faults (the
expected result) and once while the worker is SIGKILLed at random moments and at chosen crash points
(after forwarding and before inserting, after inserting and before committing, around landing
alerts...), restarted each time, and the store fails for a while. Then both runs are compared and one
JSON object is printed: sent, landed, lost, duplicated, dead letters, alerts expected/stored/missing,
alert count errors (in ClickHouse and on the alerts topic), kills, wall time. Exit code 1 when anything
was lost, doubled or miscounted.

Faults are injected from outside the production code: the worker runs through ``python -m
streams.harness.chaos worker``, which opens a ``FlakyStore`` (a ``Store`` whose writes fail while an outage
file exists, and which kills its own process at an armed crash point) and otherwise is ``aispm up``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from streams.runtime.store import Store
from streams.settings import Settings, settings_for_environment

CONTROL_ENV = "AISPM_CHAOS_CONTROL"
CHAOS_FINGERPRINT_KEY = "chaos-runs-share-this-fingerprint-key-0123456789"
OUTAGE_FILE = "outage"
CRASH_FILE = "crash"
# Crash points: where in the landing and alerting path a worker can die. ``before:X`` dies when X is
# called, ``after:X`` once X returned. Only methods the store has are armed.
CRASH_POINTS = (
    "before:insert_events",      # events forwarded downstream, not stored yet
    "after:insert_events",       # stored, offsets not committed
    "before:land_alerts",        # findings made, alerts not landed
    "after:land_alerts",         # alerts landed, not yet sent or acknowledged
    "after:land_alert_events",   # an alert's events recorded, its row not landed
    "after:save_rule_state",     # detection state saved, messages not acknowledged
)


class StoreOutage(RuntimeError):
    """What a write raises while the chaos outage file exists."""


class FlakyStore(Store):
    """A store whose writes fail while ``<control>/outage`` exists, and that SIGKILLs its own process
    when ``<control>/crash`` names the call it is making."""

    def __init__(self, settings: Settings, control: Path) -> None:
        super().__init__(settings)
        self._control = control
        for point in CRASH_POINTS:
            name = point.split(":", 1)[1]
            method = getattr(self, name, None)
            if method is not None and not getattr(method, "_flaky", False):
                setattr(self, name, self._flaky(name, method))

    def _flaky(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._maybe_crash(f"before:{name}")
            if (self._control / OUTAGE_FILE).exists():
                raise StoreOutage(f"chaos: the store is down ({name})")
            result = method(*args, **kwargs)
            self._maybe_crash(f"after:{name}")
            return result

        call._flaky = True  # type: ignore[attr-defined]
        return call

    def _maybe_crash(self, point: str) -> None:
        crash = self._control / CRASH_FILE
        try:
            armed = crash.read_text().strip()
        except OSError:
            return
        if armed == point:
            crash.unlink(missing_ok=True)  # the restarted worker must not die at the same place again
            os.kill(os.getpid(), signal.SIGKILL)


# Where an ingest worker (``AISPM_ROLE=ingest``, no store) can be made to die: its batch forwarded to the
# events topic, its offsets not committed, so the worker taking its partitions over forwards it again.
INGEST_CRASH_POINT = "after:send_events"


def _crash_after_forwarding(control: Path) -> None:
    from streams.runtime.app import IngestService

    forward = IngestService._send_events

    def send_events(self: IngestService, messages: list[tuple[int, bytes]]) -> None:
        forward(self, messages)
        crash = control / CRASH_FILE
        if messages and crash.exists() and crash.read_text().strip() == INGEST_CRASH_POINT:
            crash.unlink(missing_ok=True)
            os.kill(os.getpid(), signal.SIGKILL)

    IngestService._send_events = send_events  # type: ignore[method-assign]


def _worker_main() -> int:
    """`aispm up` with a FlakyStore (an ingest worker, which has no store, dies after forwarding instead)."""
    import logging

    from streams.runtime.worker import run_worker
    from streams.settings import load_settings

    logging.basicConfig(level=logging.WARNING)
    control = Path(os.environ[CONTROL_ENV])
    settings = load_settings()
    if settings.role == "ingest":
        _crash_after_forwarding(control)
    run_worker(settings, store_factory=lambda settings: FlakyStore(settings, control))
    return 0


# --- one run of the pipeline -------------------------------------------------------------------------

@dataclass
class RunResult:
    sent: int = 0
    event_rows: int = 0
    event_ids: set[str] = field(default_factory=set)
    dead_letter_rows: int = 0
    dead_letter_ids: int = 0
    alerts: dict[str, int] = field(default_factory=dict)
    """alert id -> count, from ClickHouse (latest row per alert)."""
    detections: dict[str, str] = field(default_factory=dict)
    alerts_on_topic: dict[str, int] = field(default_factory=dict)
    """alert id -> highest count sent on the alerts topic."""
    kills: list[str] = field(default_factory=list)
    outage_s: float = 0.0
    wall_s: float = 0.0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Run:
    """One worker process; ``shared_with`` puts it on another run's topics and consumer group (several
    workers of one deployment), ``env`` adds settings (e.g. ``AISPM_ROLE``)."""

    def __init__(self, root: Path, bootstrap: str, name: str, *, shared_with: Run | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.data_dir = root / name
        self.control = self.data_dir / "chaos"
        self.control.mkdir(parents=True)
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("AISPM_")}
        self.env.update({
            "AISPM_DATA_DIR": str(self.data_dir),
            "AISPM_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "AISPM_QUERY__PORT": str(_free_port()),
            "AISPM_WEB_PORT": str(_free_port()),
            "AISPM_OPS__PORT": str(_free_port()),
            "AISPM_TOPIC_PREFIX": f"{name}-{uuid.uuid4().hex[:6]}.",
            "AISPM_KAFKA__GROUP_ID": f"{name}-{uuid.uuid4().hex[:6]}",
            "AISPM_QUERY__MAX_ROWS": "5000000",
            "AISPM_LOG_LEVEL": "WARNING",
            "AISPM_SCHEDULER__ENABLED": "false",  # both runs compare the stream's results alone
            # Both runs redact with the same key, so records with secrets get the same event ids.
            "AISPM_INGEST__FINGERPRINT_KEY": CHAOS_FINGERPRINT_KEY,
            CONTROL_ENV: str(self.control),
        })
        if shared_with is not None:
            for key in ("AISPM_TOPIC_PREFIX", "AISPM_KAFKA__GROUP_ID"):
                self.env[key] = shared_with.env[key]
        self.env.update(env or {})
        self.settings = settings_for_environment(self.env)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from streams.demo.runner import start_worker

        self.process = start_worker(self.settings, env=self.env, timeout_s=180,
                                    command=[sys.executable, "-m", "streams.harness.chaos", "worker"])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        from streams.demo.runner import stop_worker

        if self.process is not None:
            stop_worker(self.process)

    def query(self, sql: str) -> list[list]:
        from streams.runtime.query import remote_query

        return remote_query(self.settings, sql)[1]

    def produce(self, messages: list[tuple[str, bytes, bytes]]) -> int:
        from streams.runtime.producer import RawProducer

        producer = RawProducer(self.settings, self.settings.kafka.bootstrap_servers or "")
        by_family: dict[str, list[tuple[bytes, bytes]]] = {}
        for family, key, value in messages:
            by_family.setdefault(family, []).append((key, value))
        for family, pairs in by_family.items():
            producer.send(family, [value for _, value in pairs], key=lambda index, pairs=pairs: pairs[index][0])
        report = producer.flush(120)
        producer.close()
        if report.failed:
            raise RuntimeError(f"{report.failed} messages not delivered: {report.errors[:3]}")
        return report.messages

    # -- completion ---------------------------------------------------------------------------------
    def topic_end_offsets(self, topic: str) -> dict[int, int]:
        """Next offset per partition, by reading the topic (the embedded broker's watermarks are wrong)."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        from streams.runtime.kafka import consumer_config

        bootstrap = self.settings.kafka.bootstrap_servers or ""
        consumer = Consumer(consumer_config(self.settings, bootstrap, group_id=f"chaos-{uuid.uuid4()}")
                            | {"enable.auto.commit": False})
        partitions = self.settings.kafka.partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        ends: dict[int, int] = {}
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3:
            for message in consumer.consume(1000, timeout=0.5):
                if message.error() is None:
                    ends[message.partition()] = message.offset() + 1
                    quiet_since = time.monotonic()
        consumer.close()
        return ends

    def committed(self, topic: str, group: str) -> dict[int, int]:
        from confluent_kafka import Consumer, TopicPartition

        from streams.runtime.kafka import consumer_config

        consumer = Consumer(consumer_config(self.settings, self.settings.kafka.bootstrap_servers or "",
                                            group_id=group))
        try:
            found = consumer.committed([TopicPartition(topic, p) for p in range(self.settings.kafka.partitions)],
                                       timeout=10)
        finally:
            consumer.close()
        return {tp.partition: tp.offset for tp in found if tp.offset >= 0}

    def stats(self) -> dict:
        from streams.runtime.query import remote_stats

        return remote_stats(self.settings)

    def peak_rss_mb(self) -> float | None:
        """The worker process's peak resident memory (VmHWM), its normalizing processes not included."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text() if self.process else ""
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return None

    def events_on_topic(self) -> tuple[int, int]:
        """(events, distinct event ids) on the events topic: more events than ids means batches were
        forwarded more than once."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        from streams.normalize.batch import decode_events
        from streams.runtime.kafka import Topics, consumer_config

        topic = Topics.from_settings(self.settings).events
        consumer = Consumer(consumer_config(self.settings, self.settings.kafka.bootstrap_servers or "",
                                            group_id=f"count-{uuid.uuid4()}") | {"enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(self.settings.kafka.partitions)])
        rows, ids = 0, set()
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3:
            for message in consumer.consume(1000, timeout=0.5):
                if message.error() is None:
                    column = decode_events(message.value())["event_id"]
                    rows += column.len()
                    ids.update(column.to_list())
                    quiet_since = time.monotonic()
        consumer.close()
        return rows, len(ids)

    def alerts_on_topic(self) -> dict[str, int]:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        from streams.runtime.kafka import Topics, consumer_config

        topic = Topics.from_settings(self.settings).alerts
        consumer = Consumer(consumer_config(self.settings, self.settings.kafka.bootstrap_servers or "",
                                            group_id=f"siem-{uuid.uuid4()}") | {"enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(self.settings.kafka.partitions)])
        counts: dict[str, int] = {}
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3:
            for message in consumer.consume(1000, timeout=0.5):
                if message.error() is None:
                    alert = orjson.loads(message.value())
                    uid = alert["finding_info"]["uid"]
                    counts[uid] = max(counts.get(uid, 0), int(alert["count"]))
                    quiet_since = time.monotonic()
        consumer.close()
        return counts

    def wait_settled(self, expect_events: int | None, expect_dead: int | None, timeout_s: float) -> None:
        """Until the store holds what is expected and the detection agent has committed every
        events-topic message (its consumer group is the Faust app id)."""
        from streams.runtime.kafka import Topics

        events_topic = Topics.from_settings(self.settings).events
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                events, dead = self.query("SELECT (SELECT uniqExact(event_id) FROM events), "
                                          "(SELECT uniqExact(dead_letter_id) FROM dead_letters)")[0]
            except Exception:  # noqa: BLE001 -- the worker may be restarting
                time.sleep(1)
                continue
            if (expect_events is None or events >= expect_events) and (expect_dead is None or dead >= expect_dead):
                ends = self.topic_end_offsets(events_topic)
                committed = self.committed(events_topic, "aispm")
                if all(committed.get(partition, 0) >= end for partition, end in ends.items()):
                    time.sleep(2)  # the last alert rows land before the commit that follows them
                    return
            time.sleep(1)
        raise TimeoutError(f"the pipeline did not settle within {timeout_s:.0f}s; see {self.data_dir}/run/worker.log")

    def collect(self, result: RunResult) -> RunResult:
        result.event_rows = self.query("SELECT count() FROM events")[0][0]
        result.event_ids = {row[0] for row in self.query("SELECT DISTINCT event_id FROM events")}
        result.dead_letter_rows, result.dead_letter_ids = self.query(
            "SELECT count(), uniqExact(dead_letter_id) FROM dead_letters")[0]
        result.alerts = {row[0]: int(row[1]) for row in self.query("SELECT alert_id, count FROM alerts FINAL")}
        result.detections = {row[0]: row[1] for row in self.query("SELECT alert_id, detection FROM alerts FINAL")}
        result.alerts_on_topic = self.alerts_on_topic()
        return result


def keyed_messages(events: dict[str, list[bytes]]) -> list[tuple[str, bytes, bytes]]:
    """Every message with a key by position: both runs put each record on the same partition."""
    return [(family, f"{family}:{index}".encode(), value)
            for family, values in events.items() for index, value in enumerate(values)]


def run_clean(root: Path, bootstrap: str, messages: list[tuple[str, bytes, bytes]], timeout_s: float) -> RunResult:
    run = Run(root, bootstrap, "clean")
    started = time.monotonic()
    run.start()
    try:
        result = RunResult(sent=run.produce(messages))
        # Every message landed first: settling alone passed on a loaded machine before the worker had
        # forwarded anything (an empty events topic is settled), and the expected result had no alerts.
        deadline = time.monotonic() + timeout_s
        while run.stats()["ingest"]["messages"] < result.sent:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the clean run did not land its input; see {run.data_dir}/run/worker.log")
            time.sleep(0.5)
        run.wait_settled(None, None, timeout_s)
        run.collect(result)
    finally:
        run.stop()
    result.wall_s = round(time.monotonic() - started, 1)
    return result


def run_with_faults(root: Path, bootstrap: str, messages: list[tuple[str, bytes, bytes]], expected: RunResult,
                    *, kills: int, outage_s: float, seed: int, timeout_s: float) -> RunResult:
    rng = random.Random(seed)
    run = Run(root, bootstrap, "chaos")
    started = time.monotonic()
    run.start()
    result = RunResult()
    chunks = kills + 2
    size = -(-len(messages) // chunks)
    # Every crash point once (as far as the kills go), the rest at random moments, in a random order.
    plan = [*rng.sample(CRASH_POINTS, min(kills, len(CRASH_POINTS))), *["random"] * max(0, kills - len(CRASH_POINTS))]
    rng.shuffle(plan)
    outage_after = rng.randrange(1, kills + 1)  # which kill the outage follows
    try:
        result.sent += run.produce(messages[:size])
        for number, mode in enumerate(plan, start=1):
            result.sent += run.produce(messages[number * size:(number + 1) * size])
            if mode == "random":
                time.sleep(rng.uniform(0.2, 2.5))  # mid-batch, mid-insert, mid-alert: wherever it is
                run.kill()
            else:
                (run.control / CRASH_FILE).write_text(mode)
                deadline = time.monotonic() + 20
                while run.process is not None and run.process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                if run.process is not None and run.process.poll() is None:  # the point was not reached
                    (run.control / CRASH_FILE).unlink(missing_ok=True)
                    mode = f"random (armed {mode}, not reached)"
                    run.kill()
            result.kills.append(mode)
            run.start()
            if number == outage_after:
                (run.control / OUTAGE_FILE).touch()
                time.sleep(outage_s)
                (run.control / OUTAGE_FILE).unlink()
                result.outage_s = outage_s
        result.sent += run.produce(messages[(kills + 1) * size:])
        run.wait_settled(len(expected.event_ids), expected.dead_letter_ids, timeout_s)
        run.collect(result)
    finally:
        run.stop()
    result.wall_s = round(time.monotonic() - started, 1)
    return result


def run_scaled(root: Path, bootstrap: str, messages: list[tuple[str, bytes, bytes]], expected: RunResult,
               *, timeout_s: float) -> tuple[RunResult, dict[str, Any]]:
    """Two ingest workers in one group (``AISPM_ROLE=ingest``) and the landing worker (``land``), which
    owns the store; one ingest worker is SIGKILLed mid-stream, right after forwarding a batch whose
    offsets it had not committed, and is not restarted: the other takes its partitions over."""
    lander = Run(root, bootstrap, "scaled-land", env={"AISPM_ROLE": "land"})
    ingest_env = {"AISPM_ROLE": "ingest", "AISPM_INGEST__NORMALIZE_PROCESSES": "0",
                  "AISPM_INGEST__BATCH_SIZE": "1000"}
    ingesters = [Run(root, bootstrap, f"scaled-ingest-{n}", shared_with=lander, env=ingest_env) for n in (1, 2)]
    started = time.monotonic()
    result = RunResult()
    facts: dict[str, Any] = {}
    runs = [lander, *ingesters]
    try:
        for run in runs:
            run.start()
        third = len(messages) // 3
        victim, survivor = ingesters
        # A trickle until both joined and work (the second to join may find the first part consumed).
        sent_until, deadline = 0, time.monotonic() + 90
        while min(run.stats()["ingest"]["messages"] for run in ingesters) == 0:
            if time.monotonic() > deadline or sent_until >= third:
                raise TimeoutError("the two ingest workers did not both receive messages")
            result.sent += lander.produce(messages[sent_until:sent_until + 100])
            sent_until += 100
            time.sleep(0.5)
        result.sent += lander.produce(messages[sent_until:third])
        (victim.control / CRASH_FILE).write_text(INGEST_CRASH_POINT)
        result.sent += lander.produce(messages[third:2 * third])
        deadline = time.monotonic() + 30
        while victim.process is not None and victim.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        facts["killed_after_forwarding"] = victim.process is not None and victim.process.returncode == -signal.SIGKILL
        victim.kill()
        result.kills.append(INGEST_CRASH_POINT if facts["killed_after_forwarding"] else "random")
        result.sent += lander.produce(messages[2 * third:])
        lander.wait_settled(len(expected.event_ids), expected.dead_letter_ids, timeout_s)
        lander.collect(result)
        facts["events_on_topic"], facts["distinct_on_topic"] = lander.events_on_topic()
        facts["survivor_messages"] = survivor.stats()["ingest"]["messages"]
        facts["duplicates_dropped_by_lander"] = lander.stats()["ingest"]["duplicates_skipped"]
    finally:
        for run in runs:
            run.stop()
    result.wall_s = round(time.monotonic() - started, 1)
    return result, facts


def run_store_outage(root: Path, bootstrap: str, messages: list[tuple[str, bytes, bytes]], expected: RunResult,
                     *, outage_s: float, max_buffered: int, batch_size: int,
                     timeout_s: float) -> tuple[RunResult, dict[str, Any]]:
    """One worker whose store fails for ``outage_s`` while most of the input arrives. The worker's
    buffer is bounded by ``max_buffered`` messages (``AISPM_INGEST__MAX_BUFFERED_MESSAGES``)."""
    run = Run(root, bootstrap, "outage", env={"AISPM_INGEST__MAX_BUFFERED_MESSAGES": str(max_buffered),
                                              "AISPM_INGEST__BATCH_SIZE": str(batch_size)})
    started = time.monotonic()
    result = RunResult()
    facts: dict[str, Any] = {"bound": max_buffered}
    run.start()
    try:
        fifth = len(messages) // 5
        result.sent += run.produce(messages[:fifth])
        deadline = time.monotonic() + 60
        while run.stats()["ingest"]["messages"] < result.sent:
            if time.monotonic() > deadline:
                raise TimeoutError("the first part of the input did not land before the outage")
            time.sleep(0.2)
        facts["rss_before_outage_mb"] = run.peak_rss_mb()
        (run.control / OUTAGE_FILE).touch()
        outage_began = time.monotonic()
        result.sent += run.produce(messages[fifth:])  # under load: the rest arrives during the outage
        held: list[int] = []
        while time.monotonic() - outage_began < outage_s:
            ingest = run.stats()["ingest"]
            held.append(ingest["buffer"]["messages"])
            time.sleep(0.25)
        during = run.stats()["ingest"]
        facts["landed_during_outage"] = during["messages"]
        facts["most_held_during_outage"] = max(held)
        (run.control / OUTAGE_FILE).unlink()
        result.outage_s = outage_s
        run.wait_settled(len(expected.event_ids), expected.dead_letter_ids, timeout_s)
        facts["catch_up_s"] = round(time.monotonic() - outage_began - outage_s, 1)
        run.collect(result)
        buffer = run.stats()["ingest"]["buffer"]
        facts |= {"buffer_peak": buffer["peak"], "pauses": buffer["pauses"], "paused_s": buffer["paused_s"],
                  "retries": run.stats()["detection"]["retries"], "peak_rss_mb": run.peak_rss_mb()}
        facts["events_on_topic"], facts["distinct_on_topic"] = run.events_on_topic()
    finally:
        run.stop()
    result.wall_s = round(time.monotonic() - started, 1)
    return result, facts


def compare(expected: RunResult, actual: RunResult) -> dict[str, Any]:
    lost = expected.event_ids - actual.event_ids
    missing = sorted(set(expected.alerts) - set(actual.alerts))
    unexpected = sorted(set(actual.alerts) - set(expected.alerts))
    count_errors = {alert_id: {"expected": expected.alerts[alert_id], "stored": actual.alerts[alert_id],
                               "detection": actual.detections.get(alert_id, "")}
                    for alert_id in set(expected.alerts) & set(actual.alerts)
                    if expected.alerts[alert_id] != actual.alerts[alert_id]}
    topic_missing = sorted(set(actual.alerts) - set(actual.alerts_on_topic))
    topic_count_errors = {alert_id: {"stored": count, "topic": actual.alerts_on_topic[alert_id]}
                          for alert_id, count in actual.alerts.items()
                          if alert_id in actual.alerts_on_topic and actual.alerts_on_topic[alert_id] != count}
    return {
        "sent": actual.sent,
        "events_expected": len(expected.event_ids),
        "landed": len(actual.event_ids),
        "lost": len(lost),
        "duplicated": actual.event_rows - len(actual.event_ids),
        "dead_letters_expected": expected.dead_letter_ids,
        "dead_letters_stored": actual.dead_letter_ids,
        "dead_letters_duplicated": actual.dead_letter_rows - actual.dead_letter_ids,
        "alerts_expected": len(expected.alerts),
        "alerts_stored": len(actual.alerts),
        "alerts_missing": len(missing),
        "alerts_unexpected": len(unexpected),
        "alert_count_errors": len(count_errors),
        "alert_count_sum": {"expected": sum(expected.alerts.values()), "stored": sum(actual.alerts.values())},
        "alerts_missing_on_topic": len(topic_missing),
        "alert_topic_count_errors": len(topic_count_errors),
        "kills": len(actual.kills),
        "kill_points": actual.kills,
        "store_outage_s": actual.outage_s,
        "wall_s": {"clean": expected.wall_s, "chaos": actual.wall_s},
        "details": {"missing": missing[:10], "unexpected": unexpected[:10],
                    "count_errors": dict(list(count_errors.items())[:10]),
                    "topic_missing": topic_missing[:10],
                    "topic_count_errors": dict(list(topic_count_errors.items())[:10])},
    }


def passed(report: dict[str, Any]) -> bool:
    return (report["lost"] == 0 and report["duplicated"] == 0 and report["alerts_missing"] == 0
            and report["alerts_unexpected"] == 0 and report["alert_count_errors"] == 0
            and report["alerts_missing_on_topic"] == 0 and report["alert_topic_count_errors"] == 0
            and report["dead_letters_stored"] == report["dead_letters_expected"]
            and report["dead_letters_duplicated"] == 0)


def chaos(*, events: int, kills: int, outage_s: float, seed: int, timeout_s: float,
          keep: Path | None = None) -> dict[str, Any]:
    from streams.harness.bench import mixed_events
    from streams.runtime.broker import start_embedded_broker

    messages = keyed_messages(mixed_events(events, seed=seed))
    with tempfile.TemporaryDirectory(prefix="aispm-chaos-") as tmp:
        root = keep or Path(tmp)
        broker_settings = Settings(data_dir=root / "broker", kafka={"embedded_port": _free_port()})
        with start_embedded_broker(broker_settings) as broker:
            expected = run_clean(root, broker.bootstrap, messages, timeout_s)
            actual = run_with_faults(root, broker.bootstrap, messages, expected, kills=kills, outage_s=outage_s,
                                     seed=seed, timeout_s=timeout_s)
    return compare(expected, actual)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["worker"]:
        return _worker_main()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--outage", type=float, default=15.0, help="Seconds the store fails once.")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", type=Path, help="Keep both runs' data dirs here (for a post-mortem).")
    args = parser.parse_args(argv)
    report = chaos(events=args.events, kills=args.kills, outage_s=args.outage, seed=args.seed,
                   timeout_s=args.timeout, keep=args.keep)
    print(orjson.dumps(report).decode())
    return 0 if passed(report) else 1


if __name__ == "__main__":
    sys.exit(main())

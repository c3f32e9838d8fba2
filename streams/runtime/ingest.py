"""Raw messages -> normalized events and dead letters (pure), and the loop that lands them.

Why this stage is not a per-event Faust agent: Faust's consumer path costs ~180 µs per Kafka message
here (two tasks and an ``asyncio.wait`` per message), capping a one-message-per-event agent near
5k events/s. This stage therefore consumes the raw topics with confluent-kafka in batches, normalizes
and lands each batch in ClickHouse, and hands downstream Faust agents *batches* of normalized events
(``events_per_message`` per Kafka message), so Faust's per-message cost is paid once per batch.
It runs inside the Faust worker as a service (streams/runtime/app.py).

Delivery: only events not stored yet go downstream and into ClickHouse, so a redelivered batch or a
file ingested twice changes no count, neither of events nor of alerts. Offsets are committed only
after ClickHouse accepted the batch and the downstream messages were flushed; see ``land`` for why
forwarding comes first.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
import polars as pl

from streams.normalize import (
    DEFAULT_MAX_FAILURES_PER_MESSAGE,
    Failure,
    normalize_message,
)
from streams.normalize.base import RecordMeta
from streams.normalize.batch import as_dicts, check_events, encode_events
from streams.normalize.dead_letters import RawMessage, dead_letter_row
from streams.normalize.redact import Redactor, default_redactor
from streams.runtime.retry import until_done

log = logging.getLogger(__name__)


class BatchOutput:
    """A batch's normalized events and dead letters.

    ``frame``, the events as one checked columnar frame, is what is inserted and forwarded. The events
    as dicts stay in the process that made them: a copy of the output (a normalizing process sends it
    to the worker's) carries the frame alone, and the dicts are rebuilt from it only if asked for.
    Pickling 5,000 event dicts and reading them back cost ~5 µs an event, more than the frame.
    """

    __slots__ = ("_events", "dead_letters", "frame")

    def __init__(self, events: list[dict] | None = None, dead_letters: list[dict] | None = None,
                 frame: pl.DataFrame | None = None) -> None:
        self._events = events if events is not None or frame is not None else []
        self.dead_letters = dead_letters if dead_letters is not None else []
        self.frame = frame

    @property
    def events(self) -> list[dict]:
        if self._events is None:
            self._events = as_dicts(self.frame)
        return self._events

    @events.setter
    def events(self, events: list[dict]) -> None:
        self._events = events

    def __getstate__(self) -> tuple:
        return (None if self.frame is not None else self._events, self.dead_letters, self.frame)

    def __setstate__(self, state: tuple) -> None:
        self._events, self.dead_letters, self.frame = state


def process_batch(messages: Iterable[RawMessage], *, max_record_bytes: int, raw_cap: int,
                  redact_bodies: bool = True, now_ms: int | None = None,
                  enrich: Callable[[list[dict]], Any] | None = None,
                  max_failures_per_message: int = DEFAULT_MAX_FAILURES_PER_MESSAGE,
                  redactor: Redactor | None = None) -> BatchOutput:
    """Normalize a batch of raw messages, then ``enrich`` the events (AI use, sanctioned or not).

    ``redactor`` fingerprints redacted credentials: the installation's (``installation_redactor``) in
    the worker; ``default_redactor()`` (a key per process) when not given.

    Never raises for any message content; enrichment may (e.g. a policy that cannot be read). A message
    gives at most ``max_failures_per_message`` dead letters plus one ``too_many_failures`` row counting
    the rest by reason (its ``detail`` is JSON: ``{"suppressed": n, "by_reason": {...}}``).
    """
    received_at = now_ms if now_ms is not None else int(time.time() * 1000)
    redactor = redactor or default_redactor()
    out = BatchOutput()
    origins: list[tuple[RawMessage, int]] = []  # per event: its message and that message's failure count
    for message in messages:
        result = normalize_message(
            message.family, message.value, RecordMeta(message.topic, message.partition, message.offset),
            max_record_bytes=max_record_bytes, redact_body_content=redact_bodies,
            max_failures=max_failures_per_message, redactor=redactor, validate=False,
        )
        out.events.extend(result.events)
        origins.extend([(message, len(result.failures))] * len(result.events))
        for index, failure in enumerate(result.failures):
            out.dead_letters.append(dead_letter_row(message, failure, index, received_at, raw_cap, redactor))
    if enrich is not None:
        enrich(out.events)  # before the check, so the checked frame holds the enrichment too
    checked = check_events(out.events)
    rejected_in: dict[int, int] = {}  # id(message) -> schema violations so far, for stable dead-letter ids
    for position, detail in checked.rejected:
        message, failed_before = origins[position]
        index = failed_before + rejected_in.get(id(message), 0)
        rejected_in[id(message)] = rejected_in.get(id(message), 0) + 1
        failure = Failure("schema_violation", detail, out.events[position]["raw"].encode())
        out.dead_letters.append(dead_letter_row(message, failure, index, received_at, raw_cap, redactor))
    out.events = checked.events
    out.frame = checked.frame
    return out


def partition_of(key: str, partitions: int) -> int:
    """A stable partition for ``key`` (the same in every process and version)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") % partitions


def route_events(events: list[dict], partitions: int, per_message: int) -> list[tuple[int, bytes]]:
    """(partition, events-topic message) pairs of events (see ``route_frame``)."""
    return route_frame(check_events(events).frame, partitions, per_message)


# What decides an event's events-topic partition: what stateful detections relate events by. CloudTrail
# by account (rules learn an account's AI data buckets and follow its principals), everything else by
# principal. Events of one key then reach the detections in the order they were forwarded, on one
# partition, whichever worker consumes it.
_ROUTING_KEY = (pl.when((pl.col("source_family") == "cloudtrail") & (pl.col("cloud_account") != ""))
                .then(pl.col("cloud_account"))
                .when(pl.col("actor") != "").then(pl.col("actor"))
                .otherwise(pl.col("src_ip")))


def route_frame(frame: pl.DataFrame, partitions: int, per_message: int,
                raw_wanted: pl.Expr | None = None) -> list[tuple[int, bytes]]:
    """(partition, events-topic message) pairs of a checked frame: rows grouped by their routing key
    (computed for the whole frame, hashed once per distinct key), in their order, ``per_message``
    rows an Arrow message at most.

    ``raw_wanted``: the rows whose raw record goes along (``Detectors.raw_wanted()``: those some rule
    can match, and what identity resolution reads); the others travel with an empty ``raw``. The events topic feeds
    the detections, which read nothing else of them; the raw record of every event is in ClickHouse.
    Most events match no rule, and the raw record is half of an event's bytes."""
    if frame.height == 0:
        return []
    if raw_wanted is not None:
        frame = frame.with_columns(pl.when(raw_wanted).then(pl.col("raw")).otherwise(pl.lit("")).alias("raw"))
    keys = frame.select(_ROUTING_KEY.alias("key"))["key"]
    partition_by_key = {key: partition_of(key, partitions) for key in keys.unique().to_list()}
    partition_column = keys.replace_strict(partition_by_key, return_dtype=pl.UInt32)
    messages = []
    for (partition,), group in frame.with_columns(partition_column.alias("_partition")).group_by(
            "_partition", maintain_order=True):
        rows = group.drop("_partition")
        messages.extend((int(partition), encode_events(rows.slice(start, per_message)))
                        for start in range(0, rows.height, per_message))
    return sorted(messages, key=lambda item: item[0])


def dead_letter_message(row: dict) -> bytes:
    """The dead-letter topic's JSON for one row (raw bytes as text when UTF-8, else base64)."""
    raw: bytes = row["raw"]
    try:
        raw_field: dict[str, Any] = {"raw": raw.decode("utf-8")}
    except UnicodeDecodeError:
        raw_field = {"raw_base64": base64.b64encode(raw).decode()}
    return orjson.dumps({key: value for key, value in row.items() if key != "raw"} | raw_field)


# --- metrics -----------------------------------------------------------------------------------------

class IngestMetrics:
    """Counters and produce-to-landed latencies of the landing loop (thread-safe)."""

    # The latest produce-to-landed latencies: enough for a p99 of the last minutes, a few hundred KB. (A
    # million samples, sorted under the lock at every status call, held ~30 MB and paused landing.)
    def __init__(self, latency_samples: int = 50_000) -> None:
        self._lock = threading.Lock()
        self.messages = 0
        self.events_forwarded = 0
        self.events_landed = 0
        self.duplicates_skipped = 0
        self.dead_letters: Counter[str] = Counter()
        self.batches = 0
        self.last_error = ""
        self._latencies_ms: deque[float] = deque(maxlen=latency_samples)
        self.started_at = time.time()
        self.stage_seconds: Counter[str] = Counter()
        """Wall seconds spent in each step (collect, normalize, queued, dedup, forward, insert, ...):
        where a batch's time goes, which says what limits the rate."""
        # For /metrics (streams/runtime/metrics.py): per-source counts, distributions, per-partition
        # positions. Updated once per batch, never per message.
        self.messages_by_family: Counter[str] = Counter()
        self.events_by_source: Counter[tuple[str, str]] = Counter()
        self.batch_messages = Buckets(BATCH_SIZE_BUCKETS)
        self.landing_latency_s = Buckets(LATENCY_BUCKETS_S)
        self.stage_latency_s: dict[str, Buckets] = {}
        self.delivered: dict[tuple[str, int], int] = {}
        """Per partition, the offset after the last record the consumer delivered to this worker."""
        self.landed: dict[tuple[str, int], int] = {}
        """Per partition, the offset after the last record landed (stored for commit)."""
        self.assigned: set[tuple[str, int]] | None = None
        """Partitions the group gave this worker's ingest consumer; None until it joined."""
        self.buffered_messages = 0
        """Raw messages consumed and not landed yet (normalizing, queued or landing)."""
        self.buffered_peak = 0
        self.buffer_bound: int | None = None
        self.pauses = 0
        """Times the consumer paused its partitions because the buffer was full."""
        self.paused_s = 0.0

    def note_buffered(self, change: int) -> None:
        with self._lock:
            self.buffered_messages += change
            self.buffered_peak = max(self.buffered_peak, self.buffered_messages)

    def note_paused(self, seconds: float, *, began: bool) -> None:
        with self._lock:
            self.pauses += began
            self.paused_s += seconds

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - began
            with self._lock:
                self.stage_seconds[stage] += spent
                buckets = self.stage_latency_s.get(stage)
                if buckets is None:
                    buckets = self.stage_latency_s[stage] = Buckets(LATENCY_BUCKETS_S)
                buckets.observe(spent)

    def record_batch(self, messages: int, landed: int, duplicates: int, dead: Counter[str],
                     latencies_ms: list[float], forwarded: int = 0, families: Counter[str] | None = None,
                     sources: Counter[tuple[str, str]] | None = None,
                     offsets: dict[tuple[str, int], int] | None = None) -> None:
        with self._lock:
            self.messages_by_family.update(families or {})
            self.events_by_source.update(sources or {})
            self.batch_messages.observe(messages)
            self.landing_latency_s.observe_many([latency / 1000 for latency in latencies_ms])
            for key, offset in (offsets or {}).items():
                self.landed[key] = max(self.landed.get(key, -1), offset)
            self.messages += messages
            self.events_forwarded += forwarded
            self.events_landed += landed
            self.duplicates_skipped += duplicates
            self.dead_letters.update(dead)
            self.batches += 1
            self._latencies_ms.extend(latencies_ms)

    def snapshot(self) -> dict:
        with self._lock:
            samples = list(self._latencies_ms)
        latencies = sorted(samples)  # outside the lock: landing does not wait for a status call
        with self._lock:
            return {
                "messages": self.messages,
                "events_forwarded": self.events_forwarded,
                "events_landed": self.events_landed,
                "duplicates_skipped": self.duplicates_skipped,
                "dead_letters": sum(self.dead_letters.values()),
                "dead_letters_by_reason": dict(self.dead_letters),
                "batches": self.batches,
                "latency_ms": {
                    "samples": len(latencies),
                    "p50": _percentile(latencies, 0.50),
                    "p99": _percentile(latencies, 0.99),
                    "max": latencies[-1] if latencies else None,
                },
                "stage_seconds": {stage: round(seconds, 3) for stage, seconds in self.stage_seconds.items()},
                "last_error": self.last_error,
                "uptime_s": round(time.time() - self.started_at, 3),
                "buffer": {"messages": self.buffered_messages, "peak": self.buffered_peak,
                           "bound": self.buffer_bound, "pauses": self.pauses,
                           "paused_s": round(self.paused_s, 3)},
            }

    def note_delivered(self, offsets: dict[tuple[str, int], int]) -> None:
        """The consumer delivered records up to ``offsets`` (exclusive) per partition."""
        with self._lock:
            for key, offset in offsets.items():
                self.delivered[key] = max(self.delivered.get(key, -1), offset)

    def note_assignment(self, partitions: set[tuple[str, int]], *, added: bool) -> None:
        with self._lock:
            current = self.assigned or set()
            self.assigned = current | partitions if added else current - partitions

    def positions(self) -> dict:
        """Per partition: delivered and landed offsets and the records between them (delivered to this
        worker, not landed yet). Counted from delivered records, not from the broker's high watermark
        (which the embedded broker reports too low)."""
        with self._lock:
            partitions = []
            for (topic, partition), delivered in sorted(self.delivered.items()):
                landed = self.landed.get((topic, partition), -1)
                partitions.append({"topic": topic, "partition": partition, "delivered": delivered,
                                   "landed": max(landed, 0), "lag": max(0, delivered - max(landed, 0))})
            return {"joined": self.assigned is not None, "assigned": len(self.assigned or ()),
                    "backlog": sum(item["lag"] for item in partitions), "partitions": partitions}

    def distributions(self) -> dict:
        """The metrics' distributions and per-source counts (for streams/runtime/metrics.py)."""
        with self._lock:
            return {
                "messages_by_family": dict(self.messages_by_family),
                "events_by_source": [[family, fmt, count] for (family, fmt), count in self.events_by_source.items()],
                "batch_messages": self.batch_messages.state(),
                "landing_latency_s": self.landing_latency_s.state(),
                "stage_latency_s": {stage: buckets.state() for stage, buckets in self.stage_latency_s.items()},
            }

    def reset_latencies(self) -> None:
        with self._lock:
            self._latencies_ms.clear()


BATCH_SIZE_BUCKETS = (1, 10, 100, 500, 1000, 2500, 5000, 10_000, 50_000, 200_000)
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Buckets:
    """A cumulative-ready histogram (Prometheus buckets: upper bounds, counts, sum). Not locked: its
    owner (``IngestMetrics``) holds its lock."""

    __slots__ = ("bounds", "count", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one: above every bound
        self.count = 0
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.total += value

    def observe_many(self, values: list[float]) -> None:
        for value in values:
            self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += len(values)
        self.total += sum(values)

    def state(self) -> dict:
        return {"bounds": list(self.bounds), "counts": list(self.counts), "sum": self.total, "count": self.count}


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return round(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))], 3)


# --- the loop ----------------------------------------------------------------------------------------

@dataclass
class LandingTargets:
    """Where a processed batch goes; plain callables so the loop is testable without Kafka."""

    new_events: Callable[[pl.DataFrame], Any]
    """The rows of a checked events frame not stored yet (``.frame``, ``.duplicates``), for ``insert_events``."""
    insert_events: Callable[[Any], None]
    land_dead_letters: Callable[[list[dict]], Any]
    send_events: Callable[[list[tuple[int, bytes]]], None]
    """(partition, message) pairs for the events topic; returns once they were delivered."""
    send_dead_letters: Callable[[list[bytes]], None]
    enrich: Callable[[list[dict]], Any] = lambda events: None
    """AI enrichment of events before they land (catalog + policy); a no-op by default."""


# How often collecting looks whether the batch normalizing meanwhile is done.
_PENDING_POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class PendingBatch:
    """A batch being normalized: ``result()`` waits for it, ``done()`` says whether that would wait."""

    batch: list[Any]
    result: Callable[[], PreparedBatch]
    done: Callable[[], bool]


@dataclass(slots=True)
class PreparedBatch:
    """A normalized batch waiting to land, with the offsets to commit once it has."""

    output: BatchOutput
    dead_letter_messages: list[bytes]
    offsets: dict[tuple[str, int], int]
    produced_at_ms: list[int]
    messages: int
    forwarded: bool = False
    """Its new events went downstream (set once, so retries of the insert do not send them again)."""
    families: Counter[str] = field(default_factory=Counter)
    """Messages per source family (for the metrics)."""


class IngestLoop:
    """Consume raw topics in batches, normalize, drop what is stored, forward, insert, then commit.

    Two threads in a pipeline: one consumes and normalizes batch N+1 (Python, holds the GIL) while the
    other lands batch N in ClickHouse and the downstream topics (chDB and librdkafka release the GIL),
    then hands batch N's offsets back to the first thread to store for commit. At most
    ``queue_depth`` batches wait between them, and at most ``max_buffered_messages`` messages are
    held consumed and not landed: when the store is down the lander retries while the consuming
    thread pauses its partitions and keeps polling (heartbeats, rebalances, ``max.poll.interval.ms``)
    without taking messages, then resumes once the lander caught up. Nothing is committed for a batch
    that did not land, and a batch forwarded once is not forwarded again by its retries.
    """

    def __init__(self, *, consumer: Any, family_by_topic: dict[str, str], targets: LandingTargets,
                 batch_size: int, flush_interval_s: float, max_record_bytes: int, raw_cap: int,
                 redact_bodies: bool, events_per_message: int, events_partitions: int = 1,
                 metrics: IngestMetrics | None = None,
                 queue_depth: int = 2,
                 max_buffered_messages: int | None = None,
                 normalizer: Any = None,
                 redactor: Redactor | None = None, raw_wanted: pl.Expr | None = None) -> None:
        self.consumer = consumer
        self.family_by_topic = family_by_topic
        self.targets = targets
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_record_bytes = max_record_bytes
        self.raw_cap = raw_cap
        self.redact_bodies = redact_bodies
        self.events_per_message = events_per_message
        self.events_partitions = events_partitions
        self.metrics = metrics or IngestMetrics()
        self.normalizer = normalizer
        """Normalizes and enriches batches elsewhere (a ``streams.runtime.normalize_pool.NormalizePool``);
        None: in this thread."""
        self.redactor = redactor
        self.raw_wanted = raw_wanted
        """Which events carry their raw record on the events topic (see ``route_frame``); None: all."""
        self._stop = threading.Event()
        self._queue: queue.Queue[PreparedBatch | None] = queue.Queue(maxsize=queue_depth)
        self._thread: threading.Thread | None = None
        self._landed: deque[dict[tuple[str, int], int]] = deque()  # landed offsets, not yet stored
        self.max_buffered_messages = max_buffered_messages
        """Most messages consumed and not landed; None: only ``queue_depth`` bounds them."""
        self.metrics.buffer_bound = max_buffered_messages
        self._paused_since: float | None = None
        self._carried: list[Any] = []
        """Messages a paused consumer still returned (a partition assigned meanwhile) and could not seek
        back to: they open the next batch (counted as buffered), never dropped."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="aispm-ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        lander = threading.Thread(target=self._land_loop, name="aispm-land", daemon=True)
        lander.start()
        # The batch normalizing while the next one is collected (a pool's processes do the work). The
        # collecting stops early once it is done, so that a slow trickle of messages does not hold it.
        pending: PendingBatch | list[Any] | None = None
        try:
            while not self._stop.is_set():
                self._store_landed_offsets()
                if pending is not None and self._ready(pending):
                    self._queue_prepared(self._finish_preparing(pending))
                    pending = None
                room = self._wait_for_room(pending)
                if room is None:
                    continue
                with self.metrics.timed("collect"):
                    batch = self._collect(stop_early=None if pending is None else partial(self._ready, pending),
                                          limit=room)
                if pending is not None:
                    self._queue_prepared(self._finish_preparing(pending))
                    pending = None
                if batch:
                    with self.metrics.timed("normalize"):
                        pending = self._start_preparing_with_retry(batch) or batch
        finally:
            if pending is not None:
                # Stopping (SIGTERM): the batch already consumed lands too, then its offsets are committed
                # (``stop``'s timeout bounds the wait; what does not make it is redelivered).
                prepared = self._finish_preparing(pending)
                if prepared is not None:
                    self._queue.put(prepared)
            self._queue.put(None)  # lands what is queued, then stops
            lander.join()
            self._store_landed_offsets()
            try:
                self.consumer.close()  # commits stored offsets and leaves the group at once
            except Exception as exc:  # noqa: BLE001 -- shutting down; nothing left to lose
                log.warning("closing the consumer failed: %s", exc)

    def _start_preparing_with_retry(self, batch: list[Any]) -> PendingBatch | None:
        return until_done(lambda: self.start_preparing(batch), what=f"preparing a batch of {len(batch)} messages",
                          stop=self._stop, log=log, on_error=self._note_error)

    @staticmethod
    def _ready(pending: PendingBatch | list[Any]) -> bool:
        return not isinstance(pending, PendingBatch) or pending.done()

    def _finish_preparing(self, pending: PendingBatch | list[Any]) -> PreparedBatch | None:
        """The prepared batch (``pending`` is a bare batch when it could not even start). Normalization
        never raises on content; enrichment (policy, catalog) or a dead normalizing process might:
        then the batch is prepared again, with backoff, until that works or the loop stops."""
        batch = pending.batch if isinstance(pending, PendingBatch) else pending
        with self.metrics.timed("normalize"):
            if isinstance(pending, PendingBatch):
                try:
                    return pending.result()
                except Exception as exc:  # noqa: BLE001 -- retried below, like any failure
                    self._note_error(f"preparing a batch of {len(batch)} messages: {exc}")
                    log.warning("preparing a batch of %d messages failed (%s); retrying", len(batch), exc)
            return until_done(lambda: self.prepare(batch), what=f"preparing a batch of {len(batch)} messages",
                              stop=self._stop, log=log, on_error=self._note_error)

    def _queue_prepared(self, prepared: PreparedBatch | None) -> None:
        with self.metrics.timed("wait_for_lander"):
            # Kept when stopping too: the lander lands what is queued before it stops.
            while prepared is not None:
                try:
                    self._queue.put(prepared, timeout=0.2)
                    return
                except queue.Full:
                    self._store_landed_offsets()
                    self._hold(0)

    def _wait_for_room(self, pending: PendingBatch | list[Any] | None) -> int | None:
        """How many messages the next batch may take: until a whole batch fits under
        ``max_buffered_messages``, the partitions stay paused (None: look at ``pending`` again first)."""
        if self.max_buffered_messages is None:
            self._resume()  # paused only while the lander's queue was full
            return self.batch_size
        wanted = min(self.batch_size, self.max_buffered_messages)
        with self.metrics.timed("wait_for_room"):
            while not self._stop.is_set():
                room = self.max_buffered_messages - self.metrics.buffered_messages
                if room >= wanted:
                    self._resume()
                    return min(self.batch_size, room)
                if pending is not None and self._ready(pending):
                    return None  # queue the batch that finished normalizing before waiting on
                self._store_landed_offsets()
                self._hold(0.2)
        return None

    def _hold(self, wait_s: float) -> None:
        """Serve the group (heartbeats, rebalances, the poll interval) with every partition paused."""
        from confluent_kafka import KafkaException, TopicPartition

        if self.consumer is None:
            time.sleep(wait_s)
            return
        if self._paused_since is None:
            self._paused_since = time.monotonic()
            self.metrics.note_paused(0, began=True)
            log.warning("ingest buffer full (%d messages not landed): pausing consumption until landing catches up",
                        self.metrics.buffered_messages)
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.pause(assignment)  # again each time: a rebalance hands partitions over unpaused
        for message in self.consumer.consume(num_messages=1, timeout=wait_s):
            if message.error() is not None:
                continue
            try:  # a partition assigned between the pause and the poll: read it again later
                self.consumer.seek(TopicPartition(message.topic(), message.partition(), message.offset()))
                self.consumer.pause([TopicPartition(message.topic(), message.partition())])
            except KafkaException:
                self._carried.append(message)
                self.metrics.note_buffered(1)

    def _resume(self) -> None:
        if self._paused_since is None:
            return
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.resume(assignment)
        self.metrics.note_paused(time.monotonic() - self._paused_since, began=False)
        log.warning("ingest buffer has room again: consuming")
        self._paused_since = None

    def _note_error(self, message: str) -> None:
        self.metrics.last_error = message

    def _collect(self, stop_early: Callable[[], bool] | None = None, limit: int | None = None) -> list[Any]:
        """Up to ``limit`` (batch_size) messages, waiting at most flush_interval_s after the first one; no
        longer than until ``stop_early()`` says so. Counted as buffered until their batch lands."""
        size = self.batch_size if limit is None else limit
        carried, self._carried = self._carried, []  # counted when the paused consumer returned them
        batch = list(carried)
        try:
            return self._collect_more(batch, size, stop_early)
        finally:
            self.metrics.note_buffered(len(batch) - len(carried))

    def _collect_more(self, batch: list[Any], size: int, stop_early: Callable[[], bool] | None) -> list[Any]:
        deadline: float | None = None
        while len(batch) < size and not self._stop.is_set():
            timeout = self.flush_interval_s if deadline is None else max(0.0, deadline - time.monotonic())
            if stop_early is not None:
                if stop_early():
                    break
                timeout = min(timeout, _PENDING_POLL_S)
            for message in self.consumer.consume(num_messages=size - len(batch), timeout=timeout):
                error = message.error()
                if error is not None:  # transient broker/partition errors; librdkafka retries itself
                    log.warning("consumer error: %s", error)
                    continue
                batch.append(message)
            if batch and deadline is None:
                deadline = time.monotonic() + self.flush_interval_s
            if deadline is None or time.monotonic() >= deadline:
                break
        return batch

    def prepare(self, batch: list[Any]) -> PreparedBatch:
        return self.start_preparing(batch).result()

    def start_preparing(self, batch: list[Any]) -> PendingBatch:
        """Start normalizing a batch; ``result()`` of what is returned waits for it. With a normalizing
        pool the work goes on in its processes while this thread collects the next batch."""
        raw = [
            RawMessage(self.family_by_topic[m.topic()], m.topic(), m.partition(), m.offset(), m.value(),
                       m.timestamp()[1])
            for m in batch
        ]
        if self.normalizer is not None:
            pending = self.normalizer.submit(raw)
            return PendingBatch(batch, lambda: self._prepared(raw, pending()), pending.done)
        output = process_batch(raw, max_record_bytes=self.max_record_bytes, raw_cap=self.raw_cap,
                               redact_bodies=self.redact_bodies, enrich=self.targets.enrich,
                               redactor=self.redactor)
        return PendingBatch(batch, lambda: self._prepared(raw, output), lambda: True)

    def _prepared(self, raw: list[RawMessage], output: BatchOutput) -> PreparedBatch:
        offsets: dict[tuple[str, int], int] = {}
        for message in raw:
            key = (message.topic, message.partition)
            offsets[key] = max(offsets.get(key, -1), message.offset + 1)
        self.metrics.note_delivered(offsets)
        return PreparedBatch(
            output=output,
            dead_letter_messages=[dead_letter_message(row) for row in output.dead_letters],
            offsets=offsets,
            produced_at_ms=[message.timestamp_ms for message in raw if message.timestamp_ms > 0],
            messages=len(raw),
            families=Counter(message.family for message in raw),
        )

    def _land_loop(self) -> None:
        landing = True
        while True:
            with self.metrics.timed("lander_idle"):
                prepared = self._queue.get()
            if prepared is None:
                return
            # Once a batch could not land, later batches must not land either: storing their (higher)
            # offsets would commit past the failed one. They are all redelivered on the next start.
            landing = landing and self._land_with_retry(prepared)
            self.metrics.note_buffered(-prepared.messages)

    def _land_with_retry(self, prepared: PreparedBatch) -> bool:
        """Land a batch; on a store or broker failure retry with backoff instead of losing it.

        Returns False when stopping before the batch could land: it stays uncommitted.
        """
        def attempt() -> bool:
            self.land(prepared)
            return True

        return until_done(attempt, what=f"landing a batch of {prepared.messages} messages", stop=self._stop,
                          log=log, on_error=self._note_error) is not None

    def land(self, prepared: PreparedBatch) -> None:
        """Dedup, forward the new events, insert them, then hand the offsets back for commit.

        Forwarding comes before inserting: if the worker dies between the two, the redelivered batch
        is not stored yet and goes downstream again (detections dedup it). In the other order those
        events would be found stored on redelivery and never reach the detections.
        """
        output = prepared.output
        if output.frame is None:
            output.frame = check_events(output.events).frame
        timed = self.metrics.timed
        with timed("dedup"):
            new = self.targets.new_events(output.frame)
        if not prepared.forwarded:
            # A retry after a failed insert must not forward the batch again: each retry would put
            # another copy of every event on the events topic.
            with timed("encode"):
                messages = route_frame(new.frame, self.events_partitions, self.events_per_message,
                                       self.raw_wanted)
            with timed("forward"):
                self.targets.send_events(messages)
            prepared.forwarded = True
        with timed("insert"):
            self.targets.insert_events(new)
        with timed("dead_letters"):
            self.targets.land_dead_letters(output.dead_letters)
            self.targets.send_dead_letters(prepared.dead_letter_messages)
        self._commit(prepared.offsets)
        now_ms = time.time() * 1000
        self.metrics.record_batch(
            messages=prepared.messages,
            landed=new.frame.height,
            duplicates=new.duplicates,
            dead=Counter(row["reason"] for row in output.dead_letters),
            latencies_ms=[now_ms - produced for produced in prepared.produced_at_ms],
            forwarded=new.frame.height,
            families=prepared.families,
            sources=_events_by_source(new.frame),
            offsets=prepared.offsets,
        )

    def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Hand a landed batch's offsets to the consuming thread, which stores them for commit.

        Only the consuming thread calls the consumer: librdkafka calls made from this thread while the
        other one sits in ``consume()`` were seen to block indefinitely.
        """
        self._landed.append(offsets)

    def _store_landed_offsets(self) -> None:
        """Store landed offsets (consuming thread only); librdkafka commits them in the background."""
        from confluent_kafka import KafkaException, TopicPartition

        merged: dict[tuple[str, int], int] = {}
        while self._landed:
            for key, offset in self._landed.popleft().items():
                merged[key] = max(merged.get(key, -1), offset)
        if not merged:
            return
        try:
            self.consumer.store_offsets(
                offsets=[TopicPartition(topic, partition, offset) for (topic, partition), offset in merged.items()],
            )
        except KafkaException as exc:
            # E.g. the partitions moved to another worker in a rebalance. The batch has landed; if it
            # is redelivered, landing drops it again, so this costs time, never a double count.
            log.warning("storing offsets failed (the batch is landed; a redelivery is deduplicated): %s", exc)


def _events_by_source(frame: pl.DataFrame) -> Counter[tuple[str, str]]:
    """Events of a frame per (source family, format)."""
    if frame.height == 0 or "source_format" not in frame.columns:
        return Counter()
    counts = frame.group_by("source_family", "source_format").len()
    return Counter({(family, fmt): n for family, fmt, n in counts.iter_rows()})

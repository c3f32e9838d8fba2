"""Reading log files into raw Kafka messages, and producing them (what `aispm ingest` does)."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import orjson

from streams.kafka import Topics, producer_config
from streams.settings import Settings


def open_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def _json_any_depth(value: object) -> bytes:
    """Compact JSON of a parsed document however deep: orjson writes at most 255 levels and the stdlib
    and msgspec ~1000, while orjson reads 1023. Iterative, so the depth cannot overflow a stack."""
    out = bytearray()
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, bytes):  # punctuation queued below; parsed JSON holds no bytes
            out += item
            continue
        if isinstance(item, dict):
            parts: list[object] = [b"{"]
            for position, (key, child) in enumerate(item.items()):
                parts += [b"," if position else b"", orjson.dumps(key) + b":", child]
            parts.append(b"}")
        elif isinstance(item, list):
            parts = [b"["]
            for position, child in enumerate(item):
                parts += [b"," if position else b"", child]
            parts.append(b"]")
        else:
            out += orjson.dumps(item)
            continue
        pending.extend(reversed(parts))
    return bytes(out)


def _record_json(record: object) -> bytes:
    try:
        return orjson.dumps(record)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes: still sent, dead-lettered downstream
        return _json_any_depth(record)


def split_records(data: bytes) -> Iterator[bytes]:
    """One Kafka message value per record in a file's bytes.

    A whole-file JSON document is split into its records (``{"Records": [...]}`` and arrays); an
    EventBridge envelope or any other object stays one message. Anything else is read as lines (JSON
    lines or text logs); a malformed line is still sent, so it lands as a dead letter, not nowhere,
    and so is a record nested deeper than orjson writes.
    """
    stripped = data.strip()
    if not stripped:
        return
    if stripped[:1] in (b"{", b"["):
        try:
            document = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("Records"), list):
            yield from map(_record_json, document["Records"])
            return
        if isinstance(document, list):
            yield from map(_record_json, document)
            return
        if isinstance(document, dict):
            yield stripped
            return
    for line in stripped.splitlines():
        if line.strip():
            yield line.rstrip(b"\r")


_REPORTED = 100  # problems listed one by one; the counts cover the rest


def _where(source: str, index: int) -> str:
    return f"{source} record {index + 1}" if source else f"record {index + 1}"


@dataclass
class SendReport:
    messages: int = 0
    bytes: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    skipped_records: list[str] = field(default_factory=list)
    per_file: dict[str, int] = field(default_factory=dict)


class RawProducer:
    """Produces raw records of one family to its raw topic and counts confirmed deliveries."""

    def __init__(self, settings: Settings, bootstrap: str) -> None:
        from confluent_kafka import Producer

        self.topics = Topics.from_settings(settings)
        self._producer = Producer(producer_config(settings, bootstrap) | {"linger.ms": 5})
        self.report = SendReport()

    def _delivered(self, source: str, index: int, error: object, message: object) -> None:
        if error is not None:
            self.report.failed += 1
            if len(self.report.errors) < _REPORTED:
                self.report.errors.append(f"{_where(source, index)}: {error}")

    def send(self, family: str, values: list[bytes] | Iterator[bytes], *, key: Callable[[int], bytes] | None = None,
             on_progress: Callable[[int], None] | None = None, source: str = "") -> int:
        """Produce every value; one the client refuses (e.g. over ``message.max.bytes``) is skipped and
        reported by ``source`` and record number, and the rest are still sent. Returns how many were."""
        from confluent_kafka import KafkaException

        topic = self.topics.raw[family]
        count = 0
        index = -1
        for index, value in enumerate(values):
            try:
                self._produce(topic, value, key(index) if key else None, partial(self._delivered, source, index))
            except KafkaException as refused:
                self.report.skipped += 1
                if len(self.report.skipped_records) < _REPORTED:
                    self.report.skipped_records.append(
                        f"{_where(source, index)} ({len(value)} bytes) not sent: {refused.args[0].str()}")
            else:
                count += 1
                self.report.messages += 1
                self.report.bytes += len(value)
            if (index + 1) % 1000 == 0:
                self._producer.poll(0)
                if on_progress:
                    on_progress(1000)
        if on_progress:
            on_progress((index + 1) % 1000)
        return count

    def _produce(self, topic: str, value: bytes, key: bytes | None, on_delivery: Callable[..., None]) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key=key, on_delivery=on_delivery)
                return
            except BufferError:  # local queue full: let deliveries drain, then retry
                self._producer.poll(0.05)

    def close(self) -> None:
        """Release the client now (its connections would otherwise outlive, and log about, the broker)."""
        self._producer = None

    def flush(self, timeout: float = 60) -> SendReport:
        remaining = self._producer.flush(timeout)
        if remaining:
            self.report.failed += remaining
            self.report.errors.append(f"{remaining} messages not delivered within {timeout}s")
        return self.report

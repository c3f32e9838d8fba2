"""Reading log files into raw Kafka messages, and producing them (what `aispm ingest` does)."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from streams.kafka import Topics, producer_config
from streams.settings import Settings


def open_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def split_records(data: bytes) -> Iterator[bytes]:
    """One Kafka message value per record in a file's bytes.

    A whole-file JSON document is split into its records (``{"Records": [...]}`` and arrays); an
    EventBridge envelope or any other object stays one message. Anything else is read as lines (JSON
    lines or text logs); a malformed line is still sent, so it lands as a dead letter, not nowhere.
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
            for record in document["Records"]:
                yield orjson.dumps(record)
            return
        if isinstance(document, list):
            for record in document:
                yield orjson.dumps(record)
            return
        if isinstance(document, dict):
            yield stripped
            return
    for line in stripped.splitlines():
        if line.strip():
            yield line.rstrip(b"\r")


@dataclass
class SendReport:
    messages: int = 0
    bytes: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    per_file: dict[str, int] = field(default_factory=dict)


class RawProducer:
    """Produces raw records of one family to its raw topic and counts confirmed deliveries."""

    def __init__(self, settings: Settings, bootstrap: str) -> None:
        from confluent_kafka import Producer

        self.topics = Topics.from_settings(settings)
        self._producer = Producer(producer_config(settings, bootstrap) | {"linger.ms": 5})
        self.report = SendReport()

    def _delivered(self, error: object, message: object) -> None:
        if error is not None:
            self.report.failed += 1
            if len(self.report.errors) < 10:
                self.report.errors.append(str(error))

    def send(self, family: str, values: list[bytes] | Iterator[bytes], *, key: Callable[[int], bytes] | None = None,
             on_progress: Callable[[int], None] | None = None) -> int:
        topic = self.topics.raw[family]
        count = 0
        for index, value in enumerate(values):
            while True:
                try:
                    self._producer.produce(topic, value, key=key(index) if key else None,
                                           on_delivery=self._delivered)
                    break
                except BufferError:
                    self._producer.poll(0.05)
            count += 1
            self.report.messages += 1
            self.report.bytes += len(value)
            if count % 1000 == 0:
                self._producer.poll(0)
                if on_progress:
                    on_progress(1000)
        if on_progress:
            on_progress(count % 1000)
        return count

    def close(self) -> None:
        """Release the client now (its connections would otherwise outlive, and log about, the broker)."""
        self._producer = None

    def flush(self, timeout: float = 60) -> SendReport:
        remaining = self._producer.flush(timeout)
        if remaining:
            self.report.failed += remaining
            self.report.errors.append(f"{remaining} messages not delivered within {timeout}s")
        return self.report

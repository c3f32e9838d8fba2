"""Reading log files into raw Kafka messages, and producing them (what `aispm ingest` does)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from streams.runtime.kafka import Topics, producer_config
from streams.settings import Settings

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


@dataclass(frozen=True, slots=True)
class FilesSent:
    """What `aispm ingest` sent: the raw topic and the delivery report."""

    topic: str
    report: SendReport

    @property
    def complete(self) -> bool:
        """Every record was delivered (none failed, none was refused)."""
        return not (self.report.failed or self.report.skipped)

    def summary(self) -> dict:
        report = self.report
        return {
            "topic": self.topic, "files": report.per_file, "messages": report.messages, "bytes": report.bytes,
            "failed": report.failed, "errors": report.errors, "skipped": report.skipped,
            "skipped_records": report.skipped_records,
        }


FileProgress = Callable[[Path, int], Callable[[int], None]]
"""Called when a file starts, with its record count; returns what is called with each count sent."""


def send_files(settings: Settings, family: str, paths: Iterable[Path], *,
               on_file: FileProgress | None = None) -> FilesSent:
    """Send every record of ``paths`` (JSON, JSON lines, Records files, text logs; .gz too) to the raw
    topic of ``family``, creating the topics if needed. Raises BrokerError when no broker can be found."""
    from streams.normalize.files import UnreadableFile, open_bytes, split_records
    from streams.runtime.broker import resolve_bootstrap
    from streams.runtime.kafka import ensure_topics

    bootstrap = resolve_bootstrap(settings)
    ensure_topics(settings, bootstrap)
    producer = RawProducer(settings, bootstrap)
    for path in paths:
        try:
            records = list(split_records(open_bytes(path, settings.ingest.max_file_bytes)))
        except UnreadableFile as error:
            producer.report.skipped += 1
            if len(producer.report.skipped_records) < _REPORTED:
                producer.report.skipped_records.append(f"{path} not sent ({error.reason}): {error.detail}")
            continue
        on_progress = on_file(path, len(records)) if on_file else None
        producer.report.per_file[str(path)] = producer.send(family, records, on_progress=on_progress,
                                                            source=str(path))
    report = producer.flush()
    producer.close()
    return FilesSent(producer.topics.raw[family], report)

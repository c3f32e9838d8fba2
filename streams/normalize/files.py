"""Reading log files into records: gzip or plain, JSON documents, CloudTrail Records files, JSON lines,
text logs. What `aispm ingest`, `aispm detect` and backfills share."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson

from streams.normalize.base import (
    KeyPath,
    StandIns,
    may_repeat_keys,
    repeated_keys,
    rewritten,
)
from streams.settings import IngestSettings

__all__ = ["DEFAULT_MAX_FILE_BYTES", "UnreadableFile", "file_topic", "open_bytes", "split_records", "written_ms"]

DEFAULT_MAX_FILE_BYTES: int = IngestSettings.model_fields["max_file_bytes"].default


class UnreadableFile(ValueError):
    """A log file whose content cannot be read: the dead letter it becomes (``raw``: its bytes as stored)."""

    def __init__(self, reason: str, detail: str, raw: bytes) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.raw = reason, detail, raw


def file_topic(path: Path | str) -> str:
    """Where a file's records are placed (at partition 0, offset the record's index), for their
    dead-letter ids and events' ``kafka_topic``."""
    return f"file:{path}"


def written_ms(path: Path | str) -> int:
    """When a file's records were produced: its modification time, epoch ms. What their dead letters'
    alerts are windowed by, so a run again (after an interruption) finds the same alerts."""
    return os.stat(path).st_mtime_ns // 1_000_000


def open_bytes(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The file's bytes, decompressed when it is gzip (by its name or its first bytes). Raises
    ``UnreadableFile`` for a gzip file that is cut short or corrupt ('unreadable_file') and for one that
    holds more than ``max_bytes`` once decompressed ('oversized'), read no further than that."""
    stored = path.read_bytes()
    data = stored
    if path.suffix == ".gz" or stored[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(stored)) as stream:
                data = stream.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
            raise UnreadableFile("unreadable_file", f"not a whole gzip file: {error}", stored) from error
    if len(data) > max_bytes:
        raise UnreadableFile("oversized", f"the file holds more than {max_bytes} bytes once decompressed "
                                          "(ingest.max_file_bytes)", stored)
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
    and so is a record nested deeper than orjson writes. A record that repeats a key is sent as it was
    written, and a document that repeats one outside its records whole, so both become the stream's
    ``duplicate_key`` dead letters: orjson's rewrite would keep one of the values, and JSON readers
    disagree on which one counts.
    """
    stripped = data.strip()
    if not stripped:
        return
    if stripped[:1] in (b"{", b"["):
        readable, stand_ins = stripped, None
        try:
            document = orjson.loads(stripped)
        except orjson.JSONDecodeError as error:
            document = None
            try:  # a value orjson refuses: read with stand-ins, and a record that holds one sent with it
                read = StandIns.read(stripped.decode("utf-8"), error)
            except UnicodeDecodeError:  # wrong in another way too: read as lines
                read = None
            if read is not None:
                document, stand_ins = read
                readable = stand_ins.text.encode()
        if isinstance(document, dict) and isinstance(document.get("Records"), list):
            yield from _put_back(stand_ins, _split(readable, document, document["Records"], ("Records",)))
            return
        if isinstance(document, list):
            yield from _put_back(stand_ins, _split(readable, document, document, ()))
            return
        if isinstance(document, dict):
            yield stripped
            return
    for line in stripped.splitlines():
        if line.strip():
            yield line.rstrip(b"\r")


def _put_back(stand_ins: StandIns | None, values: Iterator[bytes]) -> Iterator[bytes]:
    """``values`` with the values that ``stand_ins`` stood in for as they were written."""
    if stand_ins is None:
        yield from values
        return
    for value in values:
        yield stand_ins.put_back(value.decode())[0].encode()


def _split(text: bytes, document: object, records: list, at: KeyPath) -> Iterator[bytes]:
    """The records (at ``at`` in ``document``, read from ``text``) one by one; see ``split_records``."""
    as_written = _records_repeating_keys(text, document, at)
    if as_written is None:
        yield text
        return
    for index, record in enumerate(records):
        yield as_written[index] if index in as_written else _record_json(record)


def _records_repeating_keys(text: bytes, document: object, at: KeyPath) -> dict[int, bytes] | None:
    """Index -> text as written of each record that repeats a key; None when a repeat lies outside them.
    Nearly always the cheap test of ``may_repeat_keys`` is all it costs."""
    written = rewritten(document)
    if written == text:  # compact JSON written as orjson writes it: nothing was dropped
        return {}
    decoded = text.decode()  # orjson read it, so it is UTF-8
    if not may_repeat_keys(decoded, written):
        return {}
    found = repeated_keys(decoded)
    depth = len(at)
    as_written = {}
    for path in found.paths:
        if len(path) <= depth or path[:depth] != at or not isinstance(path[depth], int):
            return None
        start, end = found.spans[path[:depth + 1]]
        as_written[path[depth]] = decoded[start:end].encode()
    return as_written

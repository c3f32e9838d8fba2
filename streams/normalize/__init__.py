"""Normalizers: raw Kafka message bytes of one source family -> normalized events + failures.

Each family package knows its formats and detects which one a record is in; this module does what is
common to all: size limit, decoding, body and credential redaction, schema validation, and turning any
error into a failure with a reason instead of an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.event import validate_event
from streams.normalize import audit, cloudtrail, gateway
from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.redact import (
    may_hold_body,
    redact_bodies,
    redact_event_fields,
    redact_text,
    scan_message,
)

FAMILIES: dict[str, ModuleType] = {"cloudtrail": cloudtrail, "gateway": gateway, "audit": audit}
DEFAULT_MAX_RECORD_BYTES = 1 << 20

__all__ = ["FAMILIES", "Failure", "NormalizeError", "Normalized", "RecordMeta", "normalize_message"]


@dataclass(frozen=True, slots=True)
class Failure:
    """A record that did not normalize: why, and its bytes (credentials redacted)."""

    reason: str
    detail: str
    raw: bytes


# Records read outside Kafka (files, tests) carry no topic/partition/offset.
NO_KAFKA_POSITION = RecordMeta()


@dataclass(slots=True)
class Normalized:
    events: list[dict] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def normalize_message(
    family: str,
    value: bytes | None,
    meta: RecordMeta = NO_KAFKA_POSITION,
    *,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    redact_body_content: bool = True,
) -> Normalized:
    """Normalize one Kafka message. Never raises for any ``value``: bad input becomes failures."""
    result = Normalized()
    module = FAMILIES.get(family)
    if module is None:
        raise ValueError(f"unknown source family {family!r}; expected one of {sorted(FAMILIES)}")
    if not value:
        result.failures.append(Failure("empty", "message has no value", b""))
        return result
    if len(value) > max_record_bytes:
        result.failures.append(
            Failure("oversized", f"{len(value)} bytes exceeds the {max_record_bytes}-byte limit", value)
        )
        return result
    try:
        records = _decode(module, value)
    except NormalizeError as error:
        result.failures.append(Failure(error.reason, error.detail, value))
        return result
    scan = scan_message(value)
    for item in records:
        if isinstance(item, NormalizeError):
            result.failures.append(Failure(item.reason, item.detail, value))
            continue
        record, raw = item
        try:
            if redact_body_content and scan.bodies and not isinstance(record, str) and may_hold_body(raw):
                record, changed = redact_bodies(record)
                if changed:
                    raw = orjson.dumps(record).decode()
            if scan.secrets:
                raw = redact_text(raw)
            event = module.normalize(record, raw, meta)
            if scan.secrets:
                redact_event_fields(event)
            validate_event(event)
        except NormalizeError as error:
            result.failures.append(Failure(error.reason, error.detail, raw.encode()))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            result.failures.append(Failure("schema_violation", f"{where}: {first['msg']}", raw.encode()))
        except Exception as error:  # noqa: BLE001 -- a parser bug must cost one record, never the worker
            result.failures.append(
                Failure("normalizer_error", f"{type(error).__name__}: {error}"[:500], raw.encode())
            )
        else:
            result.events.append(event)
    return result


def _decode(module: ModuleType, value: bytes) -> list[tuple[Any, str] | NormalizeError]:
    """(record, raw text) pairs in one message, or an error per unreadable line.

    A message is one JSON document (possibly pretty-printed), JSON lines, or text lines for families
    that read text (nginx, Squid).
    """
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NormalizeError("bad_encoding", f"not UTF-8 at byte {exc.start}") from exc
    stripped = text.strip()
    if not stripped:
        raise NormalizeError("empty", "message is blank")
    if stripped[0] not in "{[":
        if not getattr(module, "ACCEPTS_TEXT", False):
            raise NormalizeError("malformed_json", "expected a JSON object")
        return [(line, line) for line in stripped.splitlines() if line.strip()]
    try:
        return _split(module, orjson.loads(stripped), stripped)
    except orjson.JSONDecodeError as exc:
        whole_error = NormalizeError("malformed_json", str(exc))
    lines = [line for line in stripped.splitlines() if line.strip()]
    if len(lines) < 2:
        raise whole_error
    items: list[tuple[Any, str] | NormalizeError] = []
    for line in lines:  # JSON lines: a bad line costs only itself
        try:
            items.extend(_split(module, orjson.loads(line), line))
        except orjson.JSONDecodeError as exc:
            items.append(NormalizeError("malformed_json", f"{exc} in line {line[:60]!r}"))
        except NormalizeError as error:
            items.append(error)
    return items


def _split(module: ModuleType, document: Any, raw: str) -> list[tuple[Any, str]]:
    records = module.split(document)
    if not records:  # e.g. {"Records": []}: say so, rather than let the message vanish from every count
        raise NormalizeError("empty", "the document holds no records")
    if len(records) == 1 and records[0] is document:
        return [(document, raw)]
    return [(record, orjson.dumps(record).decode()) for record in records]


def redact_failure_bytes(raw: bytes) -> bytes:
    """Credentials redacted from a dead letter's bytes (as text when they decode, else untouched)."""
    try:
        return redact_text(raw.decode("utf-8")).encode()
    except UnicodeDecodeError:
        return raw

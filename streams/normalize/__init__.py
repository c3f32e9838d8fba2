"""Normalizers: raw Kafka message bytes of one source family -> normalized events + failures.

Each family package knows its formats and detects which one a record is in; this module does what is
common to all: size limit, decoding, body and credential redaction, schema validation, and turning any
error into a failure with a reason instead of an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.event import validate_event
from schemas.families import SOURCE_FAMILIES
from streams.normalize import audit, cloudtrail, gateway
from streams.normalize.base import (
    KeyPath,
    NormalizeError,
    RecordMeta,
    StandIns,
    may_repeat_keys,
    refused_value_detail,
    repeated_key_error,
    repeated_keys,
    rewritten,
)
from streams.normalize.redact import Redactor, default_redactor, may_hold_body, scan_message

# Each family has split(document) and normalize(record, raw, meta, redactor); the redactor serves formats
# that write redaction markers themselves (values of Kubernetes Secrets).
FAMILIES: dict[str, ModuleType] = {"cloudtrail": cloudtrail, "gateway": gateway, "audit": audit}
assert tuple(FAMILIES) == SOURCE_FAMILIES, "a normalizer package per source family"
DEFAULT_MAX_RECORD_BYTES = 1 << 20
# One message can hold hundreds of thousands of records (``{"Records": [0, 0, ...]}``); past this many
# failures the rest of a message's failures become one summary, so a dead letter row costs a record
# at most this many times per message, not once per attacker-chosen array element.
DEFAULT_MAX_FAILURES_PER_MESSAGE = 100
MAX_RECORD_DEPTH = 254
"""Nested objects and arrays a record may have: orjson writes no deeper (its 255th level raises)."""
TOO_DEEP_MARKER = "[TOO_DEEP]"

__all__ = ["DEFAULT_MAX_FAILURES_PER_MESSAGE", "FAMILIES", "Failure", "NormalizeError", "Normalized", "RecordMeta",
           "normalize_message"]


@dataclass(frozen=True, slots=True)
class Failure:
    """A record that did not normalize: why, and its bytes (redacted only when its dead letter is made)."""

    reason: str
    detail: str
    raw: bytes
    records: int = 1
    """Records this failure stands for: more than one only for the ``too_many_failures`` summary."""


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
    max_failures: int = DEFAULT_MAX_FAILURES_PER_MESSAGE,
    redactor: Redactor | None = None,
    validate: bool = True,
) -> Normalized:
    """Normalize one Kafka message. Never raises for any ``value``: bad input becomes failures.

    Every record is accounted for once: as an event, as a failure, or (past ``max_failures`` failures
    in one message) in the closing ``too_many_failures`` summary, whose ``records`` counts them.
    Credentials are replaced by markers fingerprinted by ``redactor`` (default: ``default_redactor()``,
    whose key lives as long as the process). Failures keep their bytes as they came: a dead letter's
    bytes and detail are redacted when its row is made (``streams.runtime.ingest.dead_letter_row``).

    ``validate=False`` leaves the schema check to the caller, who checks a whole batch at once
    (``streams.normalize.batch``): each event is then valid by construction but for its values.
    """
    redactor = redactor or default_redactor()
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
    except Exception as error:  # noqa: BLE001 -- a splitting bug must cost one message, never the worker
        result.failures.append(Failure("normalizer_error", f"{type(error).__name__}: {error}"[:500], value))
        return result
    scan = scan_message(value)
    records = list(records)
    # A message of several records whose gate fired (a CloudTrail file: a trigger word somewhere among its
    # thousand records, nearly always) is gated again record by record, on each record's own text: only
    # the records that hold a trigger word pay for redaction. A credential lies within one record's text,
    # so what redaction finds in the records is the same.
    per_record = len(records) > 1 and (scan.secrets or scan.bodies)
    failures = _FailureLog(result.failures, max_failures)
    for record, raw in records:
        if isinstance(record, NormalizeError):
            failures.add(record.reason, record.detail, raw)
            continue
        try:
            gate = scan_message(raw.encode("utf-8", "surrogatepass")) if per_record else scan
            if redact_body_content and gate.bodies and not isinstance(record, str) and may_hold_body(raw):
                record, changed = redactor.redact_bodies(record)
                if changed:
                    raw = orjson.dumps(record).decode()
            if gate.secrets:
                raw = redactor.redact_text(raw)
            event = module.normalize(record, raw, meta, redactor)
            if gate.secrets:
                redactor.redact_event_fields(event)
            if validate:
                validate_event(event)
        except NormalizeError as error:
            failures.add(error.reason, error.detail, raw)
        except ValidationError as error:
            failures.add("schema_violation", schema_violation_detail(error), raw)
        except Exception as error:  # noqa: BLE001 -- a parser bug must cost one record, never the worker
            failures.add("normalizer_error", f"{type(error).__name__}: {error}"[:500], raw)
        else:
            result.events.append(event)
    failures.close(value)
    return result


def schema_violation_detail(error: ValidationError) -> str:
    first = error.errors()[0]
    return ".".join(str(part) for part in first["loc"]) + f": {first['msg']}"


class _FailureLog:
    """A message's failures: the first ``limit`` in full, the rest only counted by reason.

    Keeps memory and dead-letter rows bounded per message whatever the number of records in it.
    """

    __slots__ = ("failures", "limit", "suppressed")

    def __init__(self, failures: list[Failure], limit: int) -> None:
        self.failures = failures
        self.limit = limit
        self.suppressed: dict[str, int] = {}  # a Counter costs more to make than most messages to read

    def add(self, reason: str, detail: str, raw: str) -> None:
        if len(self.failures) < self.limit:
            self.failures.append(Failure(reason, detail, raw.encode()))
        else:
            self.suppressed[reason] = self.suppressed.get(reason, 0) + 1

    def close(self, message: bytes) -> None:
        """Append the summary of what was suppressed; it carries the message, capped where it is stored."""
        if not self.suppressed:
            return
        count = sum(self.suppressed.values())
        summary = {"suppressed": count, "by_reason": dict(sorted(self.suppressed.items()))}
        self.failures.append(Failure("too_many_failures", orjson.dumps(summary).decode(), message, records=count))


Item = tuple[Any, str]
"""A record and its text, or a ``NormalizeError`` in the record's place with the text it came from."""


def _decode(module: ModuleType, value: bytes) -> Iterable[Item]:
    """The records of one message, each with its text; an error in place of each unreadable one.

    A message is one JSON document (possibly pretty-printed), JSON lines, or text lines for families
    that read text (nginx, Squid). Raises ``NormalizeError`` when the message as a whole is unreadable.
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
        return [(line, line) for line in _lines(stripped)]
    try:
        document = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        whole_error = NormalizeError("malformed_json", str(exc))
        if (read := StandIns.read(stripped, exc)) is not None:
            return _with_refused_values(module, *read)
    else:
        return _records(module, document, stripped)
    lines = _lines(stripped)
    if len(lines) < 2:
        raise whole_error
    return _json_lines(module, lines)


def _with_refused_values(module: ModuleType, document: Any, stand_ins: StandIns) -> list[Item]:
    """The records of a document orjson refused for a value it cannot read, read with ``stand_ins``: a
    record that holds such a value is an error with its text as it came, the others are read as usual."""
    items: list[Item] = []
    for record, record_text in _records(module, document, stand_ins.text):
        record_text, value = stand_ins.put_back(record_text)
        if value is not None and not isinstance(record, NormalizeError):
            record = NormalizeError("malformed_json", refused_value_detail(value))
        items.append((record, record_text))
    return items


def _json_lines(module: ModuleType, lines: list[str]) -> Iterator[Item]:
    for number, line in enumerate(lines, 1):  # a bad line costs only itself
        try:
            yield from _records(module, orjson.loads(line), line)
        except orjson.JSONDecodeError as exc:
            # Where, not what: the line's text (redacted) is the dead letter's raw, and a detail cut
            # short could keep part of a secret that redaction no longer recognizes.
            yield NormalizeError("malformed_json", f"{exc} in line {number}"), line
        except NormalizeError as error:
            yield error, line


def _lines(text: str) -> list[str]:
    """The non-blank lines of ``text``, ended by ``\n`` (or ``\r\n``) only.

    Not ``str.splitlines``: it also ends lines at ``\r``, ``\v``, ``\x1c``, ``\x85``, ``\u2028`` and
    more, which a log line may carry inside a field, so one line written by an attacker would be read
    as several (a forged second record), and a JSON line with U+2028 inside a string as broken pieces.
    """
    return [line.removesuffix("\r") for line in text.split("\n") if line.strip()]


def _records(module: ModuleType, document: Any, text: str) -> Iterable[Item]:
    """The records of one JSON document (``text``, read as ``document``), each with its own text."""
    written = rewritten(document) if ":" in text else b""  # (no colon: no object with a key, nothing deep)
    repeated = repeated_keys(text) if may_repeat_keys(text, written) else None
    records = module.split(document)
    whole = not records or (len(records) == 1 and records[0] is document)
    if repeated and repeated.paths:
        if whole:
            raise repeated_key_error(repeated.paths[0])
        return _records_with_repeated_keys(document, text, records, repeated.paths, repeated.spans)
    if not records:  # e.g. {"Records": []}: say so, rather than let the message vanish from every count
        raise NormalizeError("empty", "the document holds no records")
    if whole:
        if written is None:
            raise _too_deep()
        return [(document, text)]
    return map(_with_text, records)


def _too_deep() -> NormalizeError:
    # Every record must be writable again (re-serialized raw, redaction, events topic); orjson is not.
    return NormalizeError("too_deep", f"the record nests deeper than the {MAX_RECORD_DEPTH} levels of objects "
                                      "and arrays allowed")


def _with_text(record: Any) -> Item:
    text = rewritten(record)
    if text is None:
        return _too_deep(), _clipped_text(record)
    return record, text.decode()


def _clipped_text(record: Any) -> str:
    """The record as JSON with what lies deeper than the allowed levels replaced by a marker."""
    return orjson.dumps(_clipped(record, MAX_RECORD_DEPTH)).decode()


def _clipped(node: Any, levels: int) -> Any:
    # Plain loops, not comprehensions: one Python frame per level keeps 254 levels far from the
    # interpreter's recursion limit.
    if not isinstance(node, (dict, list)):
        return node
    if levels == 0:
        return TOO_DEEP_MARKER
    if isinstance(node, dict):
        clipped_object = {}
        for key, value in node.items():
            clipped_object[key] = _clipped(value, levels - 1)
        return clipped_object
    clipped_array = []
    for item in node:
        clipped_array.append(_clipped(item, levels - 1))
    return clipped_array


def _records_with_repeated_keys(document: Any, text: str, records: list[Any], paths: list[KeyPath],
                                spans: dict[KeyPath, tuple[int, int]]) -> list[Item]:
    """The records of a document that repeats keys: each record that does is an error with its text as
    it arrived (both values); a repeat outside every record makes the whole document one error."""
    position = {id(record): index for index, record in enumerate(records) if isinstance(record, (dict, list))}
    repeats: dict[int, tuple[KeyPath, KeyPath]] = {}  # record index -> (its own path, key path within it)
    for path in paths:
        holder = _record_holding(document, path, position)
        if holder is None:
            raise repeated_key_error(path)
        index, depth = holder
        repeats.setdefault(index, (path[:depth], path[depth:]))
    items = []
    for index, record in enumerate(records):
        if index not in repeats:
            items.append(_with_text(record))
            continue
        record_path, key_path = repeats[index]
        span = spans.get(record_path)
        raw = text[span[0]:span[1]] if span else _clipped_text(record)
        items.append((repeated_key_error(key_path), raw))
    return items


def _record_holding(document: Any, path: KeyPath, position: dict[int, int]) -> tuple[int, int] | None:
    """(index of the record, depth of that record on ``path``) for the innermost record on the way to
    the repeated key at ``path``; None when the key is outside every record (in an envelope)."""
    node, holder = document, None
    for depth, part in enumerate(path):
        if isinstance(node, (dict, list)) and id(node) in position:
            holder = (position[id(node)], depth)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break  # the repeat is inside a value orjson dropped for a later one: the holder so far has it
    return holder


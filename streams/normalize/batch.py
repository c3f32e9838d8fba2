"""A batch of normalized events as one columnar frame, checked against the schema at once.

Normalizers build every event with all its keys and values of the right kinds (by construction:
``new_event`` and the coercions in ``base``). What construction does not bound — id lengths, integer
widths, the literal values — is checked here for the whole batch with a few vectorized expressions
instead of a pydantic validation per event; only the rows they flag are validated one by one, and
those that fail become dead letters exactly as per-event validation would make them. The frame then
serves the insert and the events topic as it is.

Scalar kinds are not re-checked: a number where text goes would be stored as its text. Only a
normalizer bug could make one (every normalizer is fuzzed with per-event validation, the default of
``normalize_message``); a value that is no scalar at all fails the frame and the batch is validated
one event at a time.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import get_args, get_type_hints

import polars as pl
from pydantic import ValidationError

from schemas.columns import FrameSchema
from schemas.event import EVENT_DEFAULTS, NormalizedEvent, Outcome, validate_event, with_defaults
from schemas.families import SOURCE_FAMILIES

__all__ = ["EVENTS", "CheckedBatch", "as_dicts", "check_events", "decode_events", "encode_events", "is_encoded_events"]

EVENTS = FrameSchema.of(NormalizedEvent)

_BOUNDS = {"UInt16": (0, 2**16 - 1), "UInt32": (0, 2**32 - 1), "Int32": (-(2**31), 2**31 - 1)}
# Rows that may break the schema: every bound the model declares, as one expression.
_SUSPECT = pl.any_horizontal(
    ~pl.col("event_id").str.len_chars().is_between(1, 256),
    ~pl.col("source_family").is_in(list(SOURCE_FAMILIES)),
    ~pl.col("outcome").is_in(list(get_args(Outcome))),
    *(pl.col(name).is_not_null() & ~pl.col(name).is_between(*_BOUNDS[kind])
      for name, kind in EVENTS.kinds.items() if kind in _BOUNDS),
)


@dataclass(slots=True)
class CheckedBatch:
    frame: pl.DataFrame
    """The valid events, in their order, with the optional fields filled."""
    events: list[dict]
    """The same events as dicts."""
    rejected: list[tuple[int, str]] = field(default_factory=list)
    """(position in the input, schema_violation detail) of each event that failed."""


def check_events(events: list[dict]) -> CheckedBatch:
    """The batch as a frame, minus the events that break the schema (with why)."""
    from streams.normalize import schema_violation_detail

    try:
        frame = EVENTS.frame([with_defaults(event) for event in events] if _lacks_optional(events) else events)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        # A value of the wrong kind (a parser bug): validate one by one, which names it.
        return _checked_one_by_one(events, schema_violation_detail)
    suspects = frame.select(_SUSPECT).to_series().arg_true().to_list()
    rejected = []
    for position in suspects:
        try:
            validate_event(events[position])
        except ValidationError as error:
            rejected.append((position, schema_violation_detail(error)))
    if not rejected:
        return CheckedBatch(frame, events)
    bad = {position for position, _ in rejected}
    keep = [position for position in range(len(events)) if position not in bad]
    return CheckedBatch(frame[keep], [events[position] for position in keep], rejected)


def _lacks_optional(events: list[dict]) -> bool:
    return any(len(event) < len(EVENTS.columns) for event in events)


def _checked_one_by_one(events: list[dict], describe) -> CheckedBatch:
    kept, rejected = [], []
    for position, event in enumerate(events):
        try:
            validate_event(event)
            kept.append(with_defaults(event))
        except ValidationError as error:
            rejected.append((position, describe(error)))
    return CheckedBatch(EVENTS.frame(kept), kept, rejected)


assert set(EVENT_DEFAULTS) <= set(EVENTS.columns)


# --- the events topic --------------------------------------------------------------------------------
# A message of the events topic is a batch of checked events as an Arrow IPC stream: written from the
# frame the store inserts, read without a per-event decode, and turned into dicts only for the events
# some rule can match (``streams.detect.engine``).
_IPC_MAGIC = b"\xff\xff\xff\xff"


def encode_events(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc_stream(buffer)
    return buffer.getvalue()


def is_encoded_events(value: bytes) -> bool:
    return value[:4] == _IPC_MAGIC


def decode_events(value: bytes) -> pl.DataFrame:
    """An events-topic message back as a frame; raises ``ValueError`` for what is not one: the columns
    must be the checked frame's, of its types, with no null where the schema has none (what is read
    from here is trusted as checked, and one batch that broke a stage would break it on every retry)."""
    try:
        frame = pl.read_ipc_stream(io.BytesIO(value))
    except Exception as error:  # noqa: BLE001 -- whatever Arrow says about foreign bytes
        raise ValueError(f"not an events batch: {error}") from None
    if frame.columns != _CHECKED_COLUMNS or frame.dtypes != _CHECKED_TYPES:
        raise ValueError("not an events batch: its columns are not the normalized event's, of their types")
    # Null counts are kept with each Arrow column: reading them costs ~5 µs a batch, scanning nothing.
    nulls = [name for name, count in zip(frame.columns, frame.null_count().row(0), strict=True)
             if count and name in _NOT_NULL]
    if nulls:
        raise ValueError(f"not an events batch: nulls in {', '.join(nulls)}")
    return frame


def _may_be_null(annotation: object) -> bool:
    """Whether a field's type admits None (through ``NotRequired[...]``, ``Annotated[...]`` and unions)."""
    return annotation is type(None) or any(_may_be_null(arg) for arg in get_args(annotation))


_CHECKED_COLUMNS, _CHECKED_TYPES = EVENTS.frame([]).columns, EVENTS.frame([]).dtypes
_NOT_NULL = frozenset(name for name, annotation in get_type_hints(NormalizedEvent, include_extras=True).items()
                      if not _may_be_null(annotation))


def as_dicts(frame: pl.DataFrame) -> list[dict]:
    """Rows of an events frame as normalized-event dicts (time back in epoch milliseconds)."""
    return frame.with_columns(*(pl.col(name).dt.epoch("ms") for name in EVENTS.time_columns)).to_dicts()

"""Building blocks shared by every normalizer: errors, record metadata, ids, time parsing.

Nothing here imports Faust or Kafka: normalizers are pure functions from bytes to event dicts.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.event import SCHEMA_VERSION


class NormalizeError(ValueError):
    """A record that cannot become a normalized event. ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class RecordMeta:
    """Where a record came from (its Kafka coordinates; -1 when read from a file)."""

    topic: str = ""
    partition: int = -1
    offset: int = -1


def stable_id(*parts: str | bytes) -> str:
    """A short, stable content hash used as event id when the source has none."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x1f")
    return digest.hexdigest()


def new_event(
    *,
    event_id: str,
    time: int,
    source_family: str,
    source_format: str,
    class_uid: int,
    activity_id: int,
    raw: str,
    meta: RecordMeta,
    **fields: Any,
) -> dict:
    """A normalized event dict with every field present; callers pass only what they know."""
    event = {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id,
        "time": time,
        "source_family": source_family,
        "source_format": source_format,
        "class_uid": class_uid,
        "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id,
        "actor": "",
        "actor_type": "",
        "src_ip": "",
        "user_agent": "",
        "action": "",
        "service": "",
        "target_host": "",
        "target_url": "",
        "target_resource": "",
        "outcome": "unknown",
        "status_code": None,
        "status_detail": "",
        "bytes_in": None,
        "bytes_out": None,
        "cloud_account": "",
        "cloud_region": "",
        "kafka_topic": meta.topic,
        "kafka_partition": meta.partition,
        "kafka_offset": meta.offset,
        "raw": raw,  # already redacted by the caller (streams.normalize.normalize_message)
        "ai_provider": "",
        "ai_product": "",
        "ai_category": "",
        "ai_model": "",
        "ai_sanctioned": None,
    }
    for key, value in fields.items():
        if key not in event:
            raise KeyError(f"not a normalized-event field: {key}")
        if value is not None:
            event[key] = value
    return event


# --- small coercions -------------------------------------------------------------------------------

def as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    raise NormalizeError("wrong_type", f"expected a string, got {type(value).__name__}")


def as_int(value: Any) -> int | None:
    """An integer from an int, a float or a numeric string; None for absent or '-'."""
    if value is None or value == "" or value == "-":
        return None
    if isinstance(value, bool):
        raise NormalizeError("wrong_type", "expected a number, got a boolean")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise NormalizeError("wrong_type", f"expected a finite number, got {value}")
        result = int(value)
    elif isinstance(value, str):
        try:
            result = int(float(value)) if ("." in value or "e" in value.lower()) else int(value)
        except (ValueError, OverflowError) as exc:
            raise NormalizeError("wrong_type", f"expected a number, got {value[:40]!r}") from exc
    else:
        raise NormalizeError("wrong_type", f"expected a number, got {type(value).__name__}")
    if not -(2**63) <= result < 2**63:
        raise NormalizeError("wrong_type", "number out of 64-bit range")
    return result


def get_path(record: Any, *path: str) -> Any:
    """``record[p0][p1]...`` or None when any step is missing or not a mapping."""
    node = record
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def normalize_ip(value: Any) -> str:
    """An IP string with anonymisation artefacts tolerated (``035.249.253.232`` -> ``35.249.253.232``)."""
    text = as_str(value).strip()
    if text.count(".") == 3 and all(part.isdigit() for part in text.split(".")):
        return ".".join(str(int(part)) for part in text.split("."))
    return text


# --- time ------------------------------------------------------------------------------------------

_MIN_MS = 0  # 1970
_MAX_MS = 4_102_444_800_000  # 2100-01-01

_ISO_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def epoch_ms_from_iso(value: Any) -> int:
    """Epoch ms from ISO-8601 text (``Z`` or offset; fractions of any length)."""
    text = as_str(value).strip()
    if not text:
        raise NormalizeError("missing_time", "no timestamp")
    text = _ISO_FRACTION.sub(lambda m: m.group(1), text.replace("Z", "+00:00").replace("z", "+00:00"), count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise NormalizeError("bad_time", f"unparseable timestamp {text[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _checked_ms(int(parsed.timestamp() * 1000))


def epoch_ms_from_seconds(value: Any) -> int:
    """Epoch ms from epoch seconds (int, float or numeric string), as Zeek and Squid write them."""
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise NormalizeError("bad_time", f"unparseable epoch seconds {str(value)[:40]!r}") from exc
    if not math.isfinite(seconds):
        raise NormalizeError("bad_time", f"epoch seconds is {seconds}")
    return _checked_ms(int(seconds * 1000))


def epoch_ms_from_clf(value: str) -> int:
    """Epoch ms from Common Log Format time, e.g. ``10/Oct/2000:13:55:36 -0700``."""
    try:
        parsed = datetime.strptime(value, "%d/%b/%Y:%H:%M:%S %z")
    except ValueError as exc:
        raise NormalizeError("bad_time", f"unparseable log time {value[:40]!r}") from exc
    return _checked_ms(int(parsed.timestamp() * 1000))


def _checked_ms(ms: int) -> int:
    if not _MIN_MS <= ms <= _MAX_MS:
        raise NormalizeError("bad_time", f"timestamp {ms} ms is outside 1970-2100")
    return ms

"""Building blocks shared by every normalizer: errors, record metadata, ids, time parsing.

Nothing here imports Faust or Kafka: normalizers are pure functions from bytes to event dicts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

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


# Every normalized field with its default, in the order events are written. ``new_event`` copies it:
# copying a finished dict is several times cheaper than building a 33-key literal (which grows its table
# step by step) or collecting the fields as keyword arguments.
_BLANK_EVENT: dict[str, Any] = {
    "schema_version": SCHEMA_VERSION,
    "event_id": "",
    "time": 0,
    "source_family": "",
    "source_format": "",
    "class_uid": 0,
    "activity_id": 0,
    "type_uid": 0,
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
    "kafka_topic": "",
    "kafka_partition": -1,
    "kafka_offset": -1,
    "raw": "",
    "ai_provider": "",
    "ai_product": "",
    "ai_category": "",
    "ai_model": "",
    "ai_sanctioned": None,
    "resolved_identity": "",
    "identity_source": "",
}


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
    """A normalized event dict with every field present; callers pass only what they know.

    A caller on a hot path may instead assign the fields it knows into the returned dict itself: values
    that are never ``None``, under names that are normalized-event fields (what this checks per field).
    """
    event = _BLANK_EVENT.copy()
    event["event_id"] = event_id
    event["time"] = time
    event["source_family"] = source_family
    event["source_format"] = source_format
    event["class_uid"] = class_uid
    event["activity_id"] = activity_id
    event["type_uid"] = class_uid * 100 + activity_id
    event["kafka_topic"] = meta.topic
    event["kafka_partition"] = meta.partition
    event["kafka_offset"] = meta.offset
    event["raw"] = raw  # already redacted by the caller (streams.normalize.normalize_message)
    for key, value in fields.items():
        if key not in event:
            raise KeyError(f"not a normalized-event field: {key}")
        if value is not None:
            event[key] = value
    return event


# --- small coercions -------------------------------------------------------------------------------

def as_str(value: Any) -> str:
    if value.__class__ is str:  # first: nearly every value is one
        return value
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


def first_present(record: dict, keys: tuple[str, ...], convert: Any) -> Any:
    """The first of ``keys`` whose value in ``record`` ``convert`` turns into something non-empty."""
    for key in keys:
        value = record.get(key)
        if value is not None:
            result = convert(value)
            if result:
                return result
    return ""


def normalize_ip(value: Any) -> str:
    """An IP string with anonymisation artefacts tolerated (``035.249.253.232`` -> ``35.249.253.232``)."""
    if value.__class__ is str and len(value) <= _MAX_CACHED_IP:
        # A log names few addresses, over and over: remember what each became.
        cached = _NORMALIZED_IPS.get(value)
        if cached is None:
            cached = _normalized_ip(value)
            if len(_NORMALIZED_IPS) >= _MAX_CACHED_IPS:
                _NORMALIZED_IPS.clear()  # bounded, whatever an attacker sends; refills in a few records
            _NORMALIZED_IPS[value] = cached
        return cached
    return _normalized_ip(value)


_MAX_CACHED_IP = 64  # longer text is no address worth remembering (and must not fill memory)
_MAX_CACHED_IPS = 4096
_NORMALIZED_IPS: dict[str, str] = {}


def _normalized_ip(value: Any) -> str:
    text = as_str(value).strip()
    if text.count(".") == 3 and all(part.isdigit() for part in text.split(".")):
        return ".".join(str(int(part)) for part in text.split("."))
    return text


# --- repeated JSON keys ----------------------------------------------------------------------------

KeyPath = tuple[str | int, ...]
"""Where a value sits in a JSON document: object keys and array indexes from the root."""

# The tokens that give a JSON text its structure: strings (keys among them) and punctuation. Numbers and
# literals are skipped; they never hold a key.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]')
_MAX_SPAN_DEPTH = 2  # records sit at most two levels down (``Records[i]``, ``logEvents[i]``, ``detail``)


def rewritten(document: Any) -> bytes | None:
    """``document`` as orjson writes it; None when it nests deeper than orjson writes (254 levels)."""
    try:
        return orjson.dumps(document)
    except TypeError:  # the one thing orjson reads but cannot write
        return None


def may_repeat_keys(text: str, written: bytes | None) -> bool:
    """Could some object in ``text`` repeat a key? ``written`` is ``rewritten`` of what orjson read.

    Never False when it does, so it can stand in front of the exact check, and cheap: most logs arrive
    written exactly as orjson writes them, and such text has nothing orjson dropped. Otherwise: orjson
    keeps the last of repeated keys, so its rewrite has one key separator fewer for each. Every ':' in
    ``text`` is a key's separator or a character in a string, and orjson never escapes ':'; so text
    without a repeated key has no more colons than the rewrite, and exactly as many unless it spells a
    colon as ``\\u003a`` (counted back in, so such text only costs the exact check).
    """
    if written is not None and len(written) == len(text) and written.decode() == text:
        return False
    colons = text.count(":")
    if colons < 2:  # at most one key
        return False
    if written is None:  # too deep to rewrite: only the exact check can tell
        return True
    written_colons = written.count(b":")
    if colons > written_colons:
        return True
    return ("\\" in text and "\\u003" in text
            and colons + text.count("\\u003a") + text.count("\\u003A") > written_colons)


@dataclass(frozen=True, slots=True)
class RepeatedKeys:
    """The keys a JSON text repeats within one object, and where its shallow containers are."""

    paths: list[KeyPath]
    """Each repeated key's path, in text order."""
    spans: dict[KeyPath, tuple[int, int]]
    """Text span of each object or array at most two levels down: a record's text as it arrived."""


def repeated_keys(text: str) -> RepeatedKeys:
    """Every key repeated within one object of ``text`` (valid JSON), found without recursion.

    Python's ``json`` with ``object_pairs_hook`` would see them too, but it recurses and refuses
    documents deeper than about 900 levels that orjson reads.
    """
    paths: list[KeyPath] = []
    spans: dict[KeyPath, tuple[int, int]] = {}
    keys_seen: list[set[str] | None] = []  # per open container: its keys so far (None: an array)
    slots: list[str | int] = []  # per open container: the key or index being read in it
    starts: list[int] = []
    expecting_key = False
    for token in _STRUCTURE.finditer(text):
        first = text[token.start()]
        if first == '"':
            if expecting_key and (keys := keys_seen[-1]) is not None:
                key = token.group()
                key = key[1:-1] if "\\" not in key else orjson.loads(key)
                if key in keys:
                    paths.append((*slots[:-1], key))
                keys.add(key)
                slots[-1] = key
                expecting_key = False
        elif first == "{" or first == "[":
            keys_seen.append(set() if first == "{" else None)
            slots.append("" if first == "{" else 0)
            starts.append(token.start())
            expecting_key = first == "{"
        elif first == "}" or first == "]":
            keys_seen.pop()
            slots.pop()
            start = starts.pop()
            if len(slots) <= _MAX_SPAN_DEPTH:
                spans[tuple(slots)] = (start, token.end())
            expecting_key = False
        elif first == ",":
            if keys_seen[-1] is None:
                slots[-1] += 1  # type: ignore[operator]  # an array's slot is its index
            else:
                expecting_key = True
    return RepeatedKeys(paths, spans)


# --- values orjson refuses -------------------------------------------------------------------------

# orjson refuses a whole document at a number past a double's range (1e400, which Python's json reads as
# infinity) and at a string escaping a lone UTF-16 surrogate ("\ud800", valid JSON syntax that a Java
# service writes back from a request parameter that held it). One such value in one record would make
# the document, a CloudTrail file of thousands of records of every principal of an account, one dead
# letter: hiding all of them from the detections.
_REFUSED_VALUE_ERRORS = ("number is infinity when parsed as double", "surrogate")
# A string runs to its closing quote or, unterminated, to the end of the text (a lone backslash last):
# one token, never tried again from each escaped quote inside it, so reading a text is linear in it.
_STRING_OR_NUMBER = re.compile(r'"[^"\\]*(?:\\[\s\S][^"\\]*)*(?:"|\\?\Z)|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def refused_value_detail(written: str) -> str:
    """A dead letter's detail for a record that holds ``written`` (a value ``StandIns`` stood in for)."""
    if written.startswith('"'):
        return "a string escapes a lone UTF-16 surrogate, which is not text: " + written[:40]
    return "number is infinity when parsed as double: " + written[:40]


def _refused(written: str) -> bool:
    if written[0] != '"':
        return math.isinf(float(written))
    if _SURROGATE_ESCAPE.search(written) is None:
        return False
    try:
        return _LONE_SURROGATE.search(json.loads(written)) is not None
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class StandIns:
    """A JSON text whose values orjson refuses stand replaced by strings no record holds (a random tag):
    what orjson writes of a record that held one contains the stand-in's text as is (it writes the
    control character escaped), so the record's text as it came is that with the value put back."""

    text: str
    values: dict[str, str]
    """Each stand-in's JSON text -> the value as written."""
    pattern: re.Pattern[str]

    @classmethod
    def read(cls, text: str, refused: orjson.JSONDecodeError) -> tuple[Any, StandIns] | None:
        """What orjson reads of ``text`` with stand-ins, and them, when ``refused`` (its error reading
        ``text`` as it is) was for such a value; None when it was not, or the text is wrong otherwise too."""
        if not any(why in str(refused) for why in _REFUSED_VALUE_ERRORS):
            return None
        stand_ins = cls.of(text)
        try:
            return orjson.loads(stand_ins.text), stand_ins
        except orjson.JSONDecodeError:
            return None

    @classmethod
    def of(cls, text: str) -> StandIns:
        tag = secrets.token_hex(8)
        values: dict[str, str] = {}

        def stand_in(token: re.Match[str]) -> str:
            written = token.group()
            if not _refused(written):
                return written
            standing = f'"\\u0000{tag}:{len(values)}"'
            values[standing] = written
            return standing

        return cls(_STRING_OR_NUMBER.sub(stand_in, text), values, re.compile(rf'"\\u0000{tag}:\d+"'))

    def put_back(self, text: str) -> tuple[str, str | None]:
        """``text`` with the values as written, and the first of them (None: it held none)."""
        if not self.values or "\\u0000" not in text:
            return text, None
        first: list[str] = []

        def value(standing: re.Match[str]) -> str:
            first.append(self.values[standing.group()])
            return first[-1]

        restored = self.pattern.sub(value, text)
        return restored, first[0] if first else None


def dotted(path: KeyPath) -> str:
    """``userIdentity.arn``, ``Records[1].eventName``: a key path as people write it (keys capped)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f"{'.' if text else ''}{part[:64]}"
    return text[:300] or "$"


def repeated_key_error(path: KeyPath) -> NormalizeError:
    # Names the key, never its values: which of them a reader takes is exactly what is in doubt.
    return NormalizeError("duplicate_key", f"key {dotted(path)} appears more than once in its object; "
                                           "JSON readers disagree on which value counts")


# --- time ------------------------------------------------------------------------------------------

_MIN_MS = 0  # 1970
_MAX_MS = 4_102_444_800_000  # 2100-01-01

_ISO_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def epoch_ms_from_iso(value: Any) -> int:
    """Epoch ms from ISO-8601 text (``Z`` or offset; fractions of any length)."""
    # Fast path for the one shape most logs write (CloudTrail always): ``YYYY-MM-DDTHH:MM:SSZ``. The
    # minute is looked up and the seconds added: whole seconds, so the sum is exactly what parsing the
    # full text gives. Anything else (or a first sight of a minute that does not parse) takes the
    # general path, which also words every error.
    if value.__class__ is str:
        second_ms = _SECOND_MS.get(value[16:])
        if second_ms is not None:
            minute = _MINUTE_SECONDS.get(value[:16])
            if minute is None:
                minute = minute_seconds(value[:16])
            if minute is not None:
                ms = minute * 1000 + second_ms
                return ms if _MIN_MS <= ms <= _MAX_MS else checked_ms(ms)
    return _epoch_ms_from_iso_text(value)


_SECOND_MS = {f":{second:02d}Z": second * 1000 for second in range(60)}  # how a whole-second UTC time ends
_MINUTE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}")
_MAX_CACHED_MINUTES = 10_000  # about a week of minutes; cleared when full, whatever a sender writes
_MINUTE_SECONDS: dict[str, int] = {}


def minute_seconds(prefix: str) -> int | None:
    """Epoch seconds of ``YYYY-MM-DDTHH:MM`` in UTC, remembered; None when it is no valid minute.
    (The fast paths of every ISO time parser: the minute parsed once, the seconds added.)"""
    seconds = _MINUTE_SECONDS.get(prefix)
    if seconds is not None:
        return seconds
    if not _MINUTE.fullmatch(prefix):
        return None
    try:
        minute = datetime(int(prefix[:4]), int(prefix[5:7]), int(prefix[8:10]), int(prefix[11:13]),
                          int(prefix[14:16]), tzinfo=UTC)
    except ValueError:
        return None
    if len(_MINUTE_SECONDS) >= _MAX_CACHED_MINUTES:
        _MINUTE_SECONDS.clear()
    seconds = _MINUTE_SECONDS[prefix] = int(minute.timestamp())
    return seconds


def _epoch_ms_from_iso_text(value: Any) -> int:
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
    return checked_ms(int(parsed.timestamp() * 1000))


def epoch_ms_from_seconds(value: Any) -> int:
    """Epoch ms from epoch seconds (int, float or numeric string), as Zeek and Squid write them."""
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise NormalizeError("bad_time", f"unparseable epoch seconds {str(value)[:40]!r}") from exc
    if not math.isfinite(seconds):
        raise NormalizeError("bad_time", f"epoch seconds is {seconds}")
    return checked_ms(int(seconds * 1000))


def epoch_ms_from_clf(value: str) -> int:
    """Epoch ms from Common Log Format time, e.g. ``10/Oct/2000:13:55:36 -0700``."""
    try:
        parsed = datetime.strptime(value, "%d/%b/%Y:%H:%M:%S %z")
    except ValueError as exc:
        raise NormalizeError("bad_time", f"unparseable log time {value[:40]!r}") from exc
    return checked_ms(int(parsed.timestamp() * 1000))


def checked_ms(ms: int) -> int:
    """``ms`` if it lies in 1970-2100, else ``bad_time``: a year 1 or 9999 is a broken record, not news."""
    if not _MIN_MS <= ms <= _MAX_MS:
        raise NormalizeError("bad_time", f"timestamp {ms} ms is outside 1970-2100")
    return ms

"""The fast paths in ``streams.normalize.base`` behave exactly like the code they replaced, for any input.

Each ``reference_*`` below is the implementation as it was before the fast path (kept verbatim here, so
the comparison does not depend on the code under test); hypothesis compares the two on generated
input: the same value, or the same error with the same reason and detail.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.event import SCHEMA_VERSION
from streams.normalize import base
from streams.normalize.base import RecordMeta, as_str, checked_ms, epoch_ms_from_iso, new_event, normalize_ip

MANY = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- the implementations before the fast paths ---------------------------------------------------------

_ISO_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def reference_as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    raise base.NormalizeError("wrong_type", f"expected a string, got {type(value).__name__}")


def reference_epoch_ms_from_iso(value: Any) -> int:
    text = reference_as_str(value).strip()
    if not text:
        raise base.NormalizeError("missing_time", "no timestamp")
    text = _ISO_FRACTION.sub(lambda m: m.group(1), text.replace("Z", "+00:00").replace("z", "+00:00"), count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise base.NormalizeError("bad_time", f"unparseable timestamp {text[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return checked_ms(int(parsed.timestamp() * 1000))


def reference_normalize_ip(value: Any) -> str:
    text = reference_as_str(value).strip()
    if text.count(".") == 3 and all(part.isdigit() for part in text.split(".")):
        return ".".join(str(int(part)) for part in text.split("."))
    return text


def reference_new_event(*, event_id: str, time: int, source_family: str, source_format: str, class_uid: int,
                        activity_id: int, raw: str, meta: RecordMeta, **fields: Any) -> dict:
    event = {
        "schema_version": SCHEMA_VERSION, "event_id": event_id, "time": time, "source_family": source_family,
        "source_format": source_format, "class_uid": class_uid, "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id, "actor": "", "actor_type": "", "src_ip": "", "user_agent": "",
        "action": "", "service": "", "target_host": "", "target_url": "", "target_resource": "",
        "outcome": "unknown", "status_code": None, "status_detail": "", "bytes_in": None, "bytes_out": None,
        "cloud_account": "", "cloud_region": "", "kafka_topic": meta.topic, "kafka_partition": meta.partition,
        "kafka_offset": meta.offset, "raw": raw, "ai_provider": "", "ai_product": "", "ai_category": "",
        "ai_model": "", "ai_sanctioned": None, "resolved_identity": "", "identity_source": "",
    }
    for key, value in fields.items():
        if key not in event:
            raise KeyError(f"not a normalized-event field: {key}")
        if value is not None:
            event[key] = value
    return event


def outcome(function: Any, *args: Any, **kwargs: Any) -> tuple:
    """What a call gives: its value (dicts as their items, in order), or its error and what it says."""
    try:
        value = function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 -- any error must be the same error
        return ("error", type(error).__name__, getattr(error, "reason", None), getattr(error, "detail", None),
                str(error))
    return ("value", list(value.items()) if isinstance(value, dict) else value)


class Text(str):
    """A ``str`` subclass: not what the fast paths look for, still text."""


# --- inputs --------------------------------------------------------------------------------------------

non_text = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))

# Characters that matter where a timestamp has its digits and separators: ASCII digits, other Unicode
# digits (``str.isdigit`` accepts them, ``int`` accepts some), separators, zone letters, blanks.
timestamp_chars = st.sampled_from("0123456789" "٣²𝟗" "-:T tZz.+ \n")


def timestamp_like(draw: Any) -> str:
    """Text near ``YYYY-MM-DDTHH:MM:SSZ``: a valid one, then a few characters replaced, added or cut."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
    text = list(f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
                f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z")
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(("replace", "insert", "delete")))
        if action == "insert" or position == len(text):
            text.insert(position, draw(timestamp_chars))
        elif action == "replace":
            text[position] = draw(timestamp_chars)
        else:
            del text[position]
    return "".join(text)


timestamps = st.one_of(
    st.composite(timestamp_like)(),
    st.builds(lambda hour, minute, second: f"2026-11-20T{hour:02d}:{minute:02d}:{second:02d}Z",
              st.integers(0, 30), st.integers(0, 99), st.integers(0, 99)),
    st.sampled_from(["1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2099-12-31T23:59:59Z", "2100-01-01T00:00:01Z",
                     "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-02-29T10:00:00Z", "2024-02-29T10:00:00Z",
                     "2026-11-20T24:00:00Z", "2026-11-20T08:60:00Z", "2026-11-20T08:00:60Z", "2026-11-20t08:00:00Z",
                     "2026-11-20T08:00:00z", "2026-11-20 08:00:00Z", " 2026-11-20T08:00:00Z", "2026-11-20T08:00:00.5Z"]),
    st.text(max_size=30),
    st.builds(Text, st.sampled_from(["2026-11-20T08:00:00Z", "2026-11-20T08:00:00+01:00"])),
    non_text,
)


# --- the comparisons -----------------------------------------------------------------------------------

@MANY
@given(st.one_of(st.text(max_size=5), st.builds(Text, st.text(max_size=5)), non_text))
def test_as_str_is_the_reference(value: Any) -> None:
    assert outcome(as_str, value) == outcome(reference_as_str, value)


@MANY
@given(timestamps)
def test_epoch_ms_from_iso_is_the_reference(value: Any) -> None:
    expected = outcome(reference_epoch_ms_from_iso, value)
    assert outcome(epoch_ms_from_iso, value) == expected
    assert outcome(epoch_ms_from_iso, value) == expected  # again, now from what was remembered


addresses = st.one_of(
    st.builds(lambda parts, pad: ".".join(f"{part:0{pad}d}" for part in parts),
              st.lists(st.integers(0, 999), min_size=3, max_size=5), st.integers(0, 4)),
    st.builds(lambda text, blank: blank + text + blank, st.sampled_from(["1.2.3.4", "035.249.253.232", "::1"]),
              st.sampled_from(["", " ", "\t", "\n "])),
    st.text(st.sampled_from("0123456789.²٣ :abf"), max_size=20),
    st.text(max_size=80),  # longer than what is remembered, too
    non_text,
)


@MANY
@given(addresses)
def test_normalize_ip_is_the_reference(value: Any) -> None:
    expected = outcome(reference_normalize_ip, value)
    assert outcome(normalize_ip, value) == expected
    assert outcome(normalize_ip, value) == expected


def test_what_the_fast_paths_remember_stays_bounded() -> None:
    for number in range(3 * base._MAX_CACHED_IPS):
        normalize_ip(f"10.{number // 65536}.{number // 256 % 256}.{number % 256}")
    assert len(base._NORMALIZED_IPS) <= base._MAX_CACHED_IPS
    for minutes in range(3 * base._MAX_CACHED_MINUTES):
        epoch_ms_from_iso(datetime.fromtimestamp(minutes * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert len(base._MINUTE_SECONDS) <= base._MAX_CACHED_MINUTES


NAMED = ("event_id", "time", "source_family", "source_format", "class_uid", "activity_id", "raw", "meta")
FIELD_NAMES = [name for name in [*base._BLANK_EVENT, "not_a_field", "actorr"] if name not in NAMED]
field_values = st.one_of(st.none(), st.text(max_size=5), st.integers(-5, 5), st.booleans())


@MANY
@given(
    st.text(max_size=5), st.integers(), st.text(max_size=5), st.integers(0, 10), st.integers(0, 10),
    st.builds(RecordMeta, st.text(max_size=5), st.integers(-1, 5), st.integers(-1, 100)),
    st.dictionaries(st.sampled_from(FIELD_NAMES), field_values),
)
def test_new_event_is_the_reference(event_id: str, time: int, raw: str, class_uid: int, activity_id: int,
                                    meta: RecordMeta, fields: dict[str, Any]) -> None:
    arguments = dict(event_id=event_id, time=time, source_family="cloudtrail", source_format="cloudtrail",
                     class_uid=class_uid, activity_id=activity_id, raw=raw, meta=meta, **fields)
    assert outcome(new_event, **arguments) == outcome(reference_new_event, **arguments)


def test_events_do_not_share_their_fields() -> None:
    first = new_event(event_id="a", time=1, source_family="f", source_format="f", class_uid=1, activity_id=1,
                      raw="", meta=RecordMeta(), actor="someone")
    second = new_event(event_id="b", time=2, source_family="f", source_format="f", class_uid=1, activity_id=1,
                       raw="", meta=RecordMeta())
    assert (first["actor"], second["actor"], base._BLANK_EVENT["actor"]) == ("someone", "", "")

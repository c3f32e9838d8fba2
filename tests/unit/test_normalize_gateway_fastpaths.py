"""The gateway normalizers' fast paths give exactly what the general code gives, and their caches stay small.

The fast paths (template-built events, cached ISO-8601 and Common Log Format times) exist only for speed:
each is checked here against the ``streams.normalize.base`` function it stands in for, on generated
inputs, valid and not.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.event import validate_event
from streams.normalize import base, gateway
from streams.normalize.base import NormalizeError, RecordMeta, new_event, stable_id
from streams.normalize.gateway import _common
from tests.unit.test_normalize_properties import mutated, mutated_line, real_messages

META = RecordMeta(topic="raw.gateway", partition=3, offset=41)
_LONG = 100_000  # characters: far longer than any real address or log time
_DISTINCT = 120


def _retained_bytes(make_records) -> int:
    """Bytes still allocated after normalizing the records ``make_records`` yields and dropping them."""
    gc.collect()
    tracemalloc.start()
    try:
        for record in make_records():
            try:
                gateway.normalize(record, "raw", META)
            except NormalizeError:
                pass
        gc.collect()
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_long_attacker_chosen_addresses_are_not_kept_by_a_cache() -> None:
    def records():
        for index in range(_DISTINCT):
            yield {"_path": "ssl", "uid": "C1", "ts": 1.5, "id.orig_h": f"{index}." + "1" * _LONG,
                   "id.resp_h": "10.0.0.1"}

    assert _retained_bytes(records) < _DISTINCT * _LONG // 10


def test_long_but_valid_log_times_are_not_kept_by_a_cache() -> None:
    # strptime reads any run of spaces where the format has one, so such a time is valid.
    def records():
        for index in range(_DISTINCT):
            yield f'10.0.0.1 - - [10/Oct/2000:13:{index // 60:02}:{index % 60:02}{" " * _LONG}-0700] "GET / HTTP/1.1" 200 5 "-" "a"'

    assert _retained_bytes(records) < _DISTINCT * _LONG // 10


# --- events built from templates are what new_event makes ---------------------------------------------

# The arguments of new_event that are not a field of their own name, and the fields it derives.
_NEW_EVENT_ARGUMENTS = ("event_id", "time", "source_family", "source_format", "class_uid", "activity_id", "raw")
_DERIVED = ("schema_version", "type_uid", "kafka_topic", "kafka_partition", "kafka_offset")


def rebuilt_by_new_event(event: dict) -> dict:
    """``new_event`` called with the values ``event`` holds."""
    fields = {key: value for key, value in event.items() if key not in _NEW_EVENT_ARGUMENTS + _DERIVED}
    meta = RecordMeta(event["kafka_topic"], event["kafka_partition"], event["kafka_offset"])
    return new_event(**{key: event[key] for key in _NEW_EVENT_ARGUMENTS}, meta=meta, **fields)


def real_records() -> list[Any]:
    """The records of the real gateway messages, as decoded (objects, or text lines)."""
    records: list[Any] = []
    for message in real_messages("gateway"):
        if message[:1] in b"{[":
            records.extend(gateway.split(orjson.loads(message)))
        else:
            records.append(message.decode())
    return records


def varied_record(data: st.DataObject) -> Any:
    """A real gateway record of any format, with one field or token changed."""
    record = data.draw(st.sampled_from(real_records()), label="record")
    if isinstance(record, str):
        return mutated_line(data, record.encode()).decode("utf-8", "replace").strip()
    return mutated(data, record)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_gateway_event_is_what_new_event_makes_of_its_values(data: st.DataObject) -> None:
    record = varied_record(data)
    try:
        event = gateway.normalize(record, "the record's text", META)
    except NormalizeError:
        return
    rebuilt = rebuilt_by_new_event(event)
    assert event == rebuilt
    assert list(event) == list(rebuilt)  # the same key order too (the events topic's JSON)
    validate_event(event)


def test_the_real_records_of_every_format_are_in_that_check() -> None:
    formats = {gateway.normalize(record, "raw", META)["source_format"] for record in real_records()}
    assert formats == set(gateway.FORMATS)


# --- fast time parsing is base's time parsing ---------------------------------------------------------

def same_outcome(fast, reference, value: Any) -> None:
    """``fast(value)`` returns what ``reference(value)`` returns, or raises the same NormalizeError."""
    try:
        expected: Any = reference(value)
    except NormalizeError as error:
        expected = (error.reason, error.detail)
    try:
        actual: Any = fast(value)
    except NormalizeError as error:
        actual = (error.reason, error.detail)
    assert actual == expected, value


def two_digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(min_value=low, max_value=high).map(lambda number: f"{number:02d}")


# Mostly the shape the fast path takes, with every part also drawn out of range or mis-shaped.
iso_times = st.builds(
    lambda year, month, day, separator, hours, minutes, seconds, dot, fraction, zone: (
        f"{year}-{month}-{day}{separator}{hours}:{minutes}:{seconds}{dot}{fraction}{zone}"),
    st.integers(min_value=0, max_value=9999).map(lambda year: f"{year:04d}") | st.sampled_from(("197", "20266", "２０２６")),
    two_digits(0, 13) | st.sampled_from(("1", "1a")),
    two_digits(0, 32) | st.sampled_from(("1", "٣١")),
    st.sampled_from(("T", "T", "T", " ", "t", "x")),
    two_digits(0, 25) | st.just("8"),
    two_digits(0, 61),
    two_digits(0, 62) | st.sampled_from(("5", "5.", "٥٥", "")),
    st.sampled_from((".", ".", ".", ",", "")),
    st.text(alphabet="0123456789", max_size=12) | st.sampled_from(("", "٣", "1e3", "5 ")),
    st.sampled_from(("Z", "Z", "Z", "z", "+00:00", "-07:00", "", "Z ", "ZZ", "+0100")),
)


@settings(max_examples=3000, deadline=None)
@given(value=iso_times | st.text(max_size=40) | st.sampled_from((None, 0, 1.5, True, "2026-11-20T08:00:01.7Z")))
def test_fast_iso_times_are_base_iso_times(value: Any) -> None:
    same_outcome(_common.epoch_ms_from_iso, base.epoch_ms_from_iso, value)


clf_times = st.builds(
    lambda day, month, year, hours, minutes, seconds, space, offset: (
        f"{day}/{month}/{year}:{hours}:{minutes}:{seconds}{space}{offset}"),
    two_digits(0, 32) | st.sampled_from(("1", " 1", "٣١")),
    st.sampled_from(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "nov", "NOV",
                     "Sept", "Foo", "Mär")),
    st.integers(min_value=0, max_value=9999).map(lambda year: f"{year:04d}") | st.sampled_from(("197", "20266")),
    two_digits(0, 25) | st.just("8"),
    two_digits(0, 61),
    two_digits(0, 62),
    st.sampled_from((" ", " ", "  ", "", "\t")),
    st.builds(lambda sign, hours, minutes: f"{sign}{hours}{minutes}", st.sampled_from("+-"), two_digits(0, 25),
              two_digits(0, 61))
    | st.sampled_from(("+0000", "Z", "+07:00", "-0700 ", "+00", "")),
)


@settings(max_examples=3000, deadline=None)
@given(value=clf_times | st.text(max_size=30))
def test_fast_log_times_are_base_log_times(value: str) -> None:
    same_outcome(_common.epoch_ms_from_clf, base.epoch_ms_from_clf, value)


@given(value=st.text(max_size=30) | st.integers(min_value=-(2**70), max_value=2**70).map(str)
       | st.sampled_from(("200", "0", "007", "-1", "1.5", "1e3", "-", "", " 5", "٣", "999999999999999999",
                          "9223372036854775807", "9223372036854775808")))
def test_fast_integers_are_base_integers(value: str) -> None:
    same_outcome(_common.to_int, base.as_int, value)


@given(source_format=st.sampled_from(gateway.FORMATS), raw=st.text(max_size=300))
def test_content_ids_are_base_stable_ids(source_format: str, raw: str) -> None:
    assert _common.source_id("", source_format, raw) == stable_id("gateway", source_format, raw)


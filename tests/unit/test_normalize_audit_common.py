"""The audit family's fast variants of base helpers give exactly what the base helpers give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.normalize import base
from streams.normalize.audit._common import audit_event, detail, first_text, http_status, iso_epoch_ms, text
from streams.normalize.base import NormalizeError, RecordMeta, epoch_ms_from_iso, first_present, new_event


def outcome(function: Any, *args: Any) -> tuple:
    """What a call gives: its value, or the error it raises (a NormalizeError with its reason and detail)."""
    try:
        return ("value", function(*args))
    except NormalizeError as error:
        return ("NormalizeError", error.reason, error.detail)
    except Exception as error:  # noqa: BLE001 -- whatever the base raises, the variant must raise too
        return (type(error).__name__, str(error))


# --- time -------------------------------------------------------------------------------------------

def _part(valid: tuple[int, int], possible: tuple[int, int], width: int) -> st.SearchStrategy[str]:
    """A number of ``width`` digits, mostly within ``valid``, sometimes anywhere in ``possible``."""
    numbers = st.one_of(*[st.integers(*valid)] * 4, st.integers(*possible))
    return numbers.map(lambda number: f"{number:0{width}d}")


# Timestamps shaped like the fast path's, with every part pushed past its range now and then.
_timestamps = st.builds(
    lambda year, month, day, hour, minute, second, separator, fraction, zone: (
        f"{year}-{month}-{day}{separator}{hour}:{minute}:{second}{fraction}{zone}"),
    st.sampled_from(("0000", "0001", "1969", "1970", "2099", "2100", "9999")) | _part((1970, 2100), (0, 9999), 4),
    _part((1, 12), (0, 13), 2), _part((1, 28), (0, 32), 2), _part((0, 23), (0, 25), 2), _part((0, 59), (0, 61), 2),
    _part((0, 59), (0, 61), 2),
    st.sampled_from(("T",) * 6 + (" ", "t")),
    st.one_of(*[st.text("0123456789", min_size=1, max_size=12).map(lambda digits: f".{digits}")] * 4,
              st.sampled_from(("", ".", ".٣", ".12a", ",5", ".123456789012345678"))),
    st.sampled_from(("Z",) * 6 + ("z", "+00:00", "-05:30", "", "ZZ", "Z ")),
)


@settings(max_examples=3000, deadline=None)
@given(value=_timestamps | st.text(max_size=40) | st.none() | st.integers() | st.floats() | st.booleans()
       | st.builds(lambda text: f" {text} ", _timestamps))
def test_iso_epoch_ms_is_the_base_parser(value: Any) -> None:
    assert outcome(iso_epoch_ms, value) == outcome(epoch_ms_from_iso, value)


@pytest.mark.parametrize("value", [
    "2026-11-20T08:00:22.7197060Z",  # Azure: 100 ns
    "2026-11-20T08:00:00.123456789Z",  # GCP: ns
    "2026-11-20T08:00:00.123456Z",  # Kubernetes: µs
    "2026-11-20T08:00:03.965Z",  # Okta: ms
    "1970-01-01T00:00:00.0004Z", "1969-12-31T23:59:59.9995Z", "2100-01-01T00:00:00.001Z", "2026-02-29T00:00:00.1Z",
])
def test_iso_epoch_ms_of_what_sources_write(value: str) -> None:
    assert outcome(iso_epoch_ms, value) == outcome(epoch_ms_from_iso, value)


def test_the_minute_cache_stays_bounded_whatever_the_times() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for minutes in range(base._MAX_CACHED_MINUTES + 10):
        value = f"{start + timedelta(minutes=minutes):%Y-%m-%dT%H:%M}:00.5Z"
        assert iso_epoch_ms(value) == epoch_ms_from_iso(value)
    assert 0 < len(base._MINUTE_SECONDS) <= base._MAX_CACHED_MINUTES


# --- the event dict ---------------------------------------------------------------------------------

_TEXT_FIELDS = ("actor", "actor_type", "src_ip", "user_agent", "action", "service", "target_url", "target_resource",
                "outcome", "status_detail", "cloud_account", "cloud_region")


@settings(max_examples=500, deadline=None)
@given(
    known=st.fixed_dictionaries({
        "event_id": st.text(max_size=20), "time": st.integers(0, 2**42), "source_format": st.text(max_size=12),
        "class_uid": st.integers(0, 9999), "activity_id": st.integers(0, 99), "raw": st.text(max_size=30),
    }),
    optional=st.fixed_dictionaries({}, optional={
        **dict.fromkeys(_TEXT_FIELDS, st.text(max_size=12)), "status_code": st.none() | st.integers(100, 599),
    }),
    meta=st.builds(RecordMeta, st.text(max_size=10), st.integers(-1, 64), st.integers(-1, 2**40)),
)
def test_audit_event_with_assigned_fields_is_new_event(known: dict, optional: dict, meta: RecordMeta) -> None:
    event = audit_event(**known, meta=meta)
    for name, value in optional.items():
        event[name] = value
    expected = new_event(**known, source_family="audit", meta=meta, **optional)
    assert event == expected
    assert list(event) == list(expected)  # the same order too: the events topic writes dicts as they are


# --- lookups ----------------------------------------------------------------------------------------

_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text(" \t\nab", max_size=4) \
    | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)


@settings(max_examples=1000, deadline=None)
@given(record=st.dictionaries(st.sampled_from(("a", "b", "c", "d")), _values), keys=st.lists(
    st.sampled_from(("a", "b", "c", "d")), max_size=4).map(tuple))
def test_first_text_is_first_present_with_text(record: dict, keys: tuple[str, ...]) -> None:
    assert outcome(first_text, record, keys) == outcome(first_present, record, keys, text)


@given(status=st.integers())
def test_http_status_of_a_number(status: int) -> None:
    if -(2**63) <= status < 2**63:
        expected: tuple = ("value", status if 100 <= status <= 599 else None)
    else:
        expected = ("NormalizeError", "wrong_type", "number out of 64-bit range")
    assert outcome(http_status, status) == expected


@given(parts=st.lists(st.sampled_from(("", "a", "b", "Forbidden", "a: b")), max_size=5))
def test_detail_joins_each_non_empty_part_once_in_order(parts: list[str]) -> None:
    expected: list[str] = []
    for part in parts:
        if part and part not in expected:
            expected.append(part)
    assert detail(*parts) == ": ".join(expected)

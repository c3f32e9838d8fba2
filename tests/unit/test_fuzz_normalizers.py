"""Fuzzing every normalizer family: 10,000+ generated inputs each, from real records of every format.

``test_normalize_properties`` explores shapes with hypothesis (random JSON, lines, mutated real
records). Here a seeded generator (fast, so ten thousand inputs a family fit in seconds) mutates real
records the way an attacker or a broken shipper would: nesting past what orjson writes inside arrays and
``Records``, huge strings and arrays, invalid UTF-8, NaN/Infinity and out-of-range numbers, repeated
keys, control characters and line separators, envelopes and JSON lines around it all. A hypothesis
part adds shrinkable hostile documents. For every input:

- nothing escapes ``normalize_message``, and nothing it returns breaks what comes after it (events
  validate and serialize for the events topic; dead letters become rows and topic messages);
- every record is accounted for once: events + dead letters (a summary counts what it stands for)
  == the records an independent reading of the input finds, wherever that is computable.
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.event import validate_event
from streams.normalize import (
    DEFAULT_MAX_FAILURES_PER_MESSAGE,
    FAMILIES,
    Normalized,
    audit,
    cloudtrail,
    gateway,
    normalize_message,
)
from streams.normalize.base import NormalizeError, RecordMeta
from streams.runtime.ingest import RawMessage, dead_letter_message, dead_letter_row, route_events
from tests.unit.test_normalize_properties import KNOWN_KEYS, json_values, real_messages

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "samples"
DATASETS = REPO.parent / "shared" / "datasets"
FAMILY_NAMES = ("cloudtrail", "gateway", "audit")
META = RecordMeta(topic="raw", partition=1, offset=99)
INPUTS_PER_FAMILY = 10_000
MAX_FAILURES = 20  # smaller than the default, so the summary path is exercised often

# Every format of each family, which its seeds must cover.
FORMATS = {"cloudtrail": {cloudtrail.FORMAT}, "gateway": set(gateway.FORMATS), "audit": set(audit.FORMATS)}


# --- seeds -----------------------------------------------------------------------------------------------

def _lines_of(path: Path, limit: int) -> list[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        return [line.strip() for line in itertools.islice(stream, limit) if line.strip()]


@cache
def seeds(family: str) -> tuple[bytes, ...]:
    """Real messages of every format of ``family``: the shared datasets and the repository's samples."""
    messages = list(real_messages(family))
    for path in sorted((SAMPLES / family).iterdir()):
        text = path.read_bytes()
        messages.append(text)  # the whole file, as a shipper may send it (JSON lines, one document)
        messages.extend(line for line in text.splitlines() if line.strip())
    if family == "cloudtrail":
        for path in sorted((DATASETS / "stratus-red-team-detonation-logs").glob("*.json"))[:12]:
            messages.extend(orjson.dumps(event) for event in orjson.loads(path.read_bytes())[:3])
        messages.extend(orjson.dumps(orjson.loads(line)["log"]) for line in
                        _lines_of(DATASETS / "panther-analysis-tests" / "AWS_CloudTrail.jsonl", 30))
    return tuple(messages)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_the_seeds_cover_every_format(family: str) -> None:
    formats = {event["source_format"] for message in seeds(family)
               for event in normalize_message(family, message, META).events}
    assert formats == FORMATS[family]


# --- an independent count of the records in a message ---------------------------------------------------

def _repeats_a_key(text: str) -> bool | None:
    """Does some object in ``text`` repeat a key? (None: too deep for the standard library to tell.)"""
    repeated = False

    def pairs(items: list[tuple[str, Any]]) -> dict:
        nonlocal repeated
        repeated = repeated or len({key for key, _ in items}) < len(items)
        return dict(items)

    try:
        json.loads(text, object_pairs_hook=pairs)
    except RecursionError:
        return None
    return repeated


def _python_json(text: str) -> Any:
    """Python's json, which reads a number past a double (as infinity) and lone surrogates (and refuses
    NaN and Infinity here)."""
    def refuse(constant: str) -> None:
        raise ValueError(constant)

    return json.loads(text, parse_constant=refuse)


def _records_in_document(family: str, text: str, reader: Callable[[str], Any] = orjson.loads) -> int | None:
    """Records in one JSON document that ``reader`` reads, as the family splits it (None: not computable)."""
    try:
        repeats = _repeats_a_key(text)
    except ValueError:  # not JSON to the standard library either
        return None
    if repeats is None or repeats:  # a repeat outside every record fails the whole document
        return None
    try:
        document = reader(text)
    except (ValueError, RecursionError):
        return None
    try:
        found = len(FAMILIES[family].split(document))
    except NormalizeError:
        return 1
    return max(found, 1)  # none: one "empty" failure


def records_in(family: str, payload: bytes) -> int | None:
    """How many records a message holds, read without the code under test (None: not computable)."""
    if not payload or len(payload) > 1 << 20:
        return 1
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return 1
    if not text:
        return 1
    if text[0] not in "{[":
        if family != "gateway":
            return 1
        return sum(1 for line in text.split("\n") if line.strip())
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as error:
        # A number past a double or a lone surrogate costs only its record: the others are read.
        if "number is infinity" in str(error) or "surrogate" in str(error):
            return _records_in_document(family, text, reader=_python_json)
    else:
        return _records_in_document(family, text)
    lines = [line.removesuffix("\r") for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return 1
    total = 0
    for line in lines:
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            total += 1
            continue
        found = _records_in_document(family, line)
        if found is None:
            return None
        total += found
    return total


# --- the property --------------------------------------------------------------------------------------

RAW_MESSAGE = RawMessage("audit", "raw", 1, 99, None, 0)


def check(family: str, payload: bytes) -> Normalized:
    """Everything that must hold for any input; returns the result for further checks."""
    result = normalize_message(family, payload, META, max_failures=MAX_FAILURES)  # must not raise
    for event in result.events:
        validate_event(event)
        assert event["source_family"] == family
        assert (event["kafka_topic"], event["kafka_partition"], event["kafka_offset"]) == ("raw", 1, 99)
    route_events(result.events, 4, 50)  # the events topic can carry them
    assert len(result.failures) <= MAX_FAILURES + 1
    for index, failure in enumerate(result.failures):
        assert failure.reason and isinstance(failure.raw, bytes) and failure.records >= 1
        assert failure.records == 1 or failure.reason == "too_many_failures"
        row = dead_letter_row(RAW_MESSAGE, failure, index, 0, 4096)
        dead_letter_message(row)  # the dead-letter topic can carry it
    # A parser bug or an invalid event is a test failure, not a dead letter.
    bugs = [(f.reason, f.detail) for f in result.failures if f.reason in ("normalizer_error", "schema_violation")]
    assert not bugs, f"{payload[:300]!r}: {bugs}"
    expected = records_in(family, payload)
    if expected is not None:
        accounted = len(result.events) + sum(failure.records for failure in result.failures)
        assert accounted == expected, f"{payload[:300]!r}: {accounted} accounted, {expected} found"
    return result


# --- mutations ------------------------------------------------------------------------------------------

HOSTILE_CHARACTERS = ("\r", "\n", "\r\n", "\x00", "\x1b[31m", "\x1c", "\x85", "\u2028", "\u2029", "\v", "\f",
                      "\t", "\ufeff", "\u202e", "\u200b", "\\", '"', "\ud7ff", "\U0001f600")
INVALID_UTF8 = (b"\xff", b"\xfe", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf",
                b"\xe2\x82", b"\x80")
NUMBER_TOKENS = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "18446744073709551616",
                 "-9223372036854775809", "99999999999999999999999999999", "0.1e1", "1E2", "00", "-")
WEIRD_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 2**63 - 1, -(2**63), 1.5e308, -0.0, "", "-", " ",
                                 [], {}, [[]], {"": {}}, "0" * 40, "2024-02-30T25:61:61Z", "1970-01-01T00:00:00Z",
                                 "9999-12-31T23:59:59Z", "99999999999.999", "api.openai.com:99999",
                                 "[::1]:443", "user@host@evil", "..", "\u0000", "%00", "${jndi:ldap://x}")


def deep_text(rng: random.Random) -> str:
    depth = rng.choice((200, 253, 254, 255, 256, 400, 900, 1023, 1024, 1025, 2000))
    opener, closer = ("[", "]") if rng.random() < 0.6 else ('{"a":', "}")
    return opener * depth + rng.choice(("1", '"x"', "[]", "{}")) + closer * depth


def huge_value(rng: random.Random) -> Any:
    kind = rng.randrange(4)
    if kind == 0:
        return "x" * rng.choice((10_000, 100_000, 400_000))
    if kind == 1:
        return [rng.choice((0, "a", None, {})) for _ in range(rng.choice((1000, 5000)))]
    if kind == 2:
        return {f"k{index}": index for index in range(rng.choice((1000, 5000)))}
    return rng.choice(HOSTILE_CHARACTERS) * 20_000


def random_value(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(WEIRD_VALUES)
    if roll < 0.9:
        return rng.choice(("", "a", "x" * 300, "".join(rng.choices(HOSTILE_CHARACTERS, k=5)), rng.random(),
                           rng.randrange(-(2**40), 2**40), [rng.random()], {"k": "v"}))
    return huge_value(rng)


def _containers(node: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every object and array in a decoded document, with its path (iterative: documents can be deep)."""
    found, stack = [], [(path, node)]
    while stack and len(found) < 2000:
        where, current = stack.pop()
        if isinstance(current, dict):
            found.append((where, current))
            stack.extend(((*where, key), value) for key, value in current.items())
        elif isinstance(current, list):
            found.append((where, current))
            stack.extend(((*where, index), value) for index, value in enumerate(current))
    return found


PLACEHOLDER = "\u0000fuzz-placeholder\u0000"


def mutate_document(rng: random.Random, document: Any) -> str:
    """``document`` as JSON text with one container changed (a value replaced, deleted, retyped, made
    huge or too deep, a key repeated, the record wrapped or multiplied)."""
    containers = _containers(document)
    if not containers:
        return orjson.dumps(random_value(rng)).decode()
    _, node = rng.choice(containers)
    action = rng.randrange(9)
    raw_splice = ""
    key: Any = None  # None: the container is empty, so only adding applies
    if node:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
    if action == 0 and key is not None:  # delete
        del node[key]
    elif action in (1, 2) or key is None:  # replace or add
        value = random_value(rng)
        if isinstance(node, dict):
            node[key if action == 1 and key is not None else rng.choice(KNOWN_KEYS)] = value
        else:
            node.append(value)
    elif action == 3:  # too deep to write, written by hand
        node[key] = PLACEHOLDER
        raw_splice = deep_text(rng)
    elif action == 4:  # a number orjson refuses or loses
        node[key] = PLACEHOLDER
        raw_splice = rng.choice(NUMBER_TOKENS)
    elif action == 5 and isinstance(node, dict):  # a repeated key, another value first
        original, node[key] = node[key], PLACEHOLDER
        raw_splice = f"{orjson.dumps(random_value(rng)).decode()},{orjson.dumps(key).decode()}:" \
                     f"{orjson.dumps(original).decode()}"
    elif action == 6:  # the record multiplied into an array or a Records envelope
        copies = [document] * rng.choice((2, 3, 50))
        return orjson.dumps(rng.choice((copies, {"Records": copies}, {"records": copies}))).decode()
    elif action == 7:  # a type the normalizers do not expect
        node[key] = rng.choice(([node[key]], {"value": node[key]}, str(node[key])[:50], None))
    else:  # a huge value
        node[key] = huge_value(rng)
    text = orjson.dumps(document).decode()
    if raw_splice:
        text = text.replace(orjson.dumps(PLACEHOLDER).decode(), raw_splice, 1)
    return text


def mutate_text(rng: random.Random, text: str) -> str:
    """Text-level changes: hostile characters, line separators, truncation, repetition."""
    action = rng.randrange(5)
    at = rng.randrange(len(text) + 1)
    if action == 0:
        return text[:at] + rng.choice(HOSTILE_CHARACTERS) + text[at:]
    if action == 1:
        return text[:at]
    if action == 2:
        return text[:at] + text[at:at + rng.randrange(1, 200)] + text[at:]
    if action == 3:  # another record after a separator that is not a newline
        return text + rng.choice(HOSTILE_CHARACTERS[:11]) + text
    return "\n".join([text] * rng.randrange(2, 6))


def mutate_bytes(rng: random.Random, payload: bytes) -> bytes:
    at = rng.randrange(len(payload) + 1)
    action = rng.randrange(3)
    if action == 0:
        return payload[:at] + rng.choice(INVALID_UTF8) + payload[at:]
    if action == 1 and payload:
        return payload[:at] + bytes([rng.randrange(256)]) + payload[at + 1:]
    return payload[:at] + rng.randbytes(rng.randrange(1, 16)) + payload[at:]


def generated_inputs(family: str, count: int, seed: int) -> list[bytes]:
    rng = random.Random(f"{family}:{seed}")
    pool = seeds(family)
    inputs = []
    for _ in range(count):
        payload = rng.choice(pool)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            roll = rng.random()
            text = payload.decode("utf-8", "replace").strip()
            if roll < 0.55 and text[:1] in ("{", "["):
                try:
                    payload = mutate_document(rng, orjson.loads(text)).encode()
                    continue
                except (orjson.JSONDecodeError, TypeError):  # unreadable, or too deep to write again
                    pass
            if roll < 0.85:
                payload = mutate_text(rng, text).encode("utf-8", "surrogatepass")
            else:
                payload = mutate_bytes(rng, payload)
        inputs.append(payload)
    return inputs


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_ten_thousand_mutated_real_records_per_family(family: str) -> None:
    inputs = generated_inputs(family, INPUTS_PER_FAMILY, seed=7)
    assert len(inputs) >= 10_000
    outcomes = {"events": 0, "dead_letters": 0}
    reasons: set[str] = set()
    for payload in inputs:
        result = check(family, payload)
        outcomes["events"] += len(result.events)
        outcomes["dead_letters"] += len(result.failures)
        reasons.update(failure.reason for failure in result.failures)
    # The fuzzer reached both sides and the hostile paths, not only one kind of rejection.
    assert outcomes["events"] > 1000 and outcomes["dead_letters"] > 1000, outcomes
    assert {"too_deep", "duplicate_key", "malformed_json", "bad_encoding", "too_many_failures"} <= reasons, reasons


# --- hypothesis: hostile documents that shrink to a minimal counterexample --------------------------------

FUZZ_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Deep:
    """A value nested ``depth`` levels: JSON no library writes, spliced into the text by ``to_text``."""

    def __init__(self, depth: int, leaf: str) -> None:
        self.text = "[" * depth + leaf + "]" * depth


class Pairs:
    """An object written with these (key, value) pairs, repeats included."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


def to_text(value: Any) -> str:
    if isinstance(value, Deep):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(key)}:{to_text(item)}" for key, item in value.pairs) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return to_text(Pairs(list(value.items())))
    return json.dumps(value, allow_nan=True, ensure_ascii=False)  # NaN, Infinity and big ints as written


hostile_text = st.text(st.characters(codec="utf-8", categories=("Cc", "Cf", "Zl", "Zp", "Zs", "Lu", "Nd", "Po")),
                       max_size=30)
hostile_scalars = (json_values | hostile_text | st.sampled_from((float("nan"), float("inf"), -float("inf"), 2**64))
                   | st.integers(min_value=250, max_value=1030).map(lambda depth: Deep(depth, "1"))
                   | st.integers(min_value=1, max_value=50_000).map(lambda size: "x" * size))
hostile_documents = st.recursive(
    hostile_scalars,
    lambda children: (st.lists(children, max_size=5)
                      | st.lists(st.tuples(st.sampled_from(KNOWN_KEYS) | hostile_text, children), max_size=6).map(Pairs)),
    max_leaves=20,
)
envelopes: dict[str, Callable[[list[str]], str]] = {
    "array": lambda records: "[" + ",".join(records) + "]",
    "Records": lambda records: '{"Records":[' + ",".join(records) + "]}",
    "records": lambda records: '{"records":[' + ",".join(records) + "]}",
    "lines": "\n".join,
    "crlf lines": "\r\n".join,
}


@pytest.mark.parametrize("family", FAMILY_NAMES)
@FUZZ_SETTINGS
@given(documents=st.lists(hostile_documents, min_size=1, max_size=4), envelope=st.sampled_from(sorted(envelopes)))
def test_hostile_documents_in_every_envelope(family: str, documents: list[Any], envelope: str) -> None:
    check(family, envelopes[envelope]([to_text(document) for document in documents]).encode())


@cache
def single_objects(family: str) -> list[bytes]:
    """The seeds that are one JSON object each."""
    objects = []
    for message in seeds(family):
        try:
            if isinstance(orjson.loads(message), dict):
                objects.append(message)
        except orjson.JSONDecodeError:
            continue
    return objects


@pytest.mark.parametrize("family", FAMILY_NAMES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_real_records_with_hostile_values_spliced_in(family: str, data: st.DataObject) -> None:
    record = orjson.loads(data.draw(st.sampled_from(single_objects(family)), label="message"))
    containers = [node for _, node in _containers(record) if isinstance(node, dict) and node]
    node = data.draw(st.sampled_from(containers), label="object")
    key = data.draw(st.sampled_from(sorted(node)), label="key")
    node[key] = data.draw(hostile_documents, label="value")
    if data.draw(st.booleans(), label="repeat the key"):
        node[key] = Pairs([(key, data.draw(hostile_documents, label="first value")), (key, node[key])])
    envelope = data.draw(st.sampled_from(sorted(envelopes)), label="envelope")
    check(family, envelopes[envelope]([to_text(record)] * data.draw(st.integers(1, 3), label="copies")).encode())


@pytest.mark.parametrize("family", FAMILY_NAMES)
@FUZZ_SETTINGS
@given(lines=st.lists(hostile_text | st.sampled_from([m.decode() for m in seeds("gateway") if m[:1] != b"{"]),
                      min_size=1, max_size=5),
       separator=st.sampled_from(HOSTILE_CHARACTERS[:11]))
def test_text_lines_with_hostile_separators(family: str, lines: list[str], separator: str) -> None:
    check(family, separator.join(lines).encode("utf-8", "surrogatepass"))


def test_the_default_cap_bounds_a_flood_of_failures() -> None:
    result = normalize_message("gateway", ("\n".join(["{bad"] * 5000)).encode(), META)
    assert len(result.failures) == DEFAULT_MAX_FAILURES_PER_MESSAGE + 1
    assert sum(failure.records for failure in result.failures) == 5000

"""What every part of a generation run shares: the simulated window, the one random source, emission.

Routine traffic (``cloudtrail``, ``gateway``, ``audit``), the incidents and the malformed records all
draw from one ``Rand`` and hand their records to one ``Simulation``, which orders them per family.
Because every draw comes from that one source, the order in which the parts run is part of the output.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.families import SOURCE_FAMILIES
from streams.demo.world import AWS_USERS, ROLE_BY_NAME

FAMILIES: tuple[str, ...] = SOURCE_FAMILIES  # generate_labelled emits the families in this order
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
START_US = int(START.timestamp()) * 1_000_000
DURATION_US = 2 * 3600 * 1_000_000
END_US = START_US + DURATION_US
MALFORMED_LABEL = "malformed"


def at_minute(minute: int, second: int = 0) -> int:
    """The moment ``minute:second`` after the window opens, in microseconds since the epoch."""
    return START_US + (minute * 60 + second) * 1_000_000


_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # AWS access key ids use base32 characters
_HEX = "0123456789abcdef"


class Rand:
    """The one random source of a generation run, with the id shapes the sources use."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    # plain draws
    def between(self, low: int, high: int) -> int:
        return self._rng.randrange(low, high)

    def chance(self, probability: float) -> bool:
        return self._rng.random() < probability

    def pick(self, items: Any) -> Any:
        return items[self._rng.randrange(len(items))]

    def weighted(self, items: tuple[tuple[Any, int], ...]) -> Any:
        total = sum(weight for _, weight in items)
        point = self._rng.randrange(total)
        for item, weight in items:
            point -= weight
            if point < 0:
                return item
        raise AssertionError("unreachable")

    def position(self, length: int) -> int:
        return self._rng.randrange(length + 1)

    # id shapes
    def uuid4(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def text(self, alphabet: str, length: int) -> str:
        return "".join(alphabet[self._rng.randrange(len(alphabet))] for _ in range(length))

    def alnum(self, length: int) -> str:
        return self.text(_ALNUM, length)

    def hex(self, length: int) -> str:
        return self.text(_HEX, length)

    def zeek_uid(self) -> str:
        return "C" + self.alnum(17)

    def aws_key(self, prefix: str) -> str:
        """An access key id: ``AKIA`` (long-lived user key) or ``ASIA`` (temporary) + 16 characters."""
        return prefix + self.text(_UPPER_ALNUM, 16)

    def s3_request_id(self) -> str:
        return self.text("0123456789ABCDEF", 16)

    def openai_project_key(self) -> str:
        """A fake key in the shape of an OpenAI project key (never a working one)."""
        return "sk-proj-" + self.text(_ALNUM + "_-", 74) + "T3BlbkFJ" + self.text(_ALNUM + "_-", 74)

    def public_ip(self) -> str:
        return (
            f"{self.pick((24, 47, 68, 71, 73, 76, 99, 174))}.{self.between(0, 256)}.{self.between(0, 256)}."
            f"{self.between(1, 255)}"
        )

    def ephemeral_port(self) -> int:
        return self.between(49152, 65536)


@dataclass(frozen=True, slots=True)
class DemoRecord:
    family: str
    value: bytes
    label: str
    """An incident id, ``"malformed"``, or ``""`` for background."""
    late: bool = False
    """Shipped after the rest of the run (a log source's backlog): ``aispm demo`` sends it once the
    others went through detection, so what it changes reaches alerts already raised."""


class Simulation:
    """One generation run: its random source, its scale, its AWS credentials and the records so far."""

    def __init__(self, seed: int, scale: int, *, start_us: int = START_US) -> None:
        self.rand = Rand(seed)
        self.seed = seed
        self.scale = scale
        self.start_us = start_us
        """When this run's window opens; routine traffic fills ``DURATION_US`` from here."""
        self.end_us = start_us + DURATION_US
        self._pending: dict[str, list[tuple[int, int, bytes, str]]] = {family: [] for family in FAMILIES}
        self._late: dict[str, list[tuple[int, int, bytes, str]]] = {family: [] for family in FAMILIES}
        self._sequence = 0
        # Issued before the window opens, because routine traffic, incidents and malformed records all
        # sign with them: temporary credentials per principal, and the reporting job's long-lived key.
        self.aws_sessions: dict[str, tuple[str, int]] = {}
        for person in AWS_USERS:
            self.aws_sessions[person.login] = (
                self.rand.aws_key("ASIA"),
                start_us - self.rand.between(0, 1_800_000_000),
            )
        for name in ROLE_BY_NAME:
            self.aws_sessions[name] = (
                self.rand.aws_key("ASIA"),
                start_us - self.rand.between(0, 3_000_000_000),
            )
        self.leaked_access_key = self.rand.aws_key("AKIA")

    def emit(self, family: str, at_us: int, record: dict | str | bytes, label: str = "", *,
             late: bool = False) -> None:
        if isinstance(record, bytes):
            value = record
        else:
            value = record.encode() if isinstance(record, str) else orjson.dumps(record)
        (self._late if late else self._pending)[family].append((at_us, self._sequence, value, label))
        self._sequence += 1

    @contextmanager
    def branch(self, salt: int) -> Iterator[None]:
        """Draw from a random source of its own (derived from the seed and ``salt``) inside the block:
        parts added to the demo later so, every record the main source made keeps its bytes."""
        main = self.rand
        self.rand = Rand(self.seed * 1_000_003 + salt)
        try:
            yield
        finally:
            self.rand = main

    def anytime(self) -> int:
        return self.rand.between(self.start_us, self.end_us - 60_000_000)

    def at_minute(self, minute: int, second: int = 0) -> int:
        """The moment ``minute:second`` after this run's window opens, in microseconds since the epoch."""
        return self.start_us + (minute * 60 + second) * 1_000_000

    def soon_after(self, at_us: int, max_seconds: float) -> int:
        return at_us + self.rand.between(1_000, int(max_seconds * 1_000_000))

    def count(self, base: int) -> int:
        """How many of a routine action to simulate: ``base`` per unit of scale (incidents do not scale)."""
        return base * self.scale

    def records(self) -> list[DemoRecord]:
        """Every record, family by family, in time order, the malformed ones at random positions; the
        late ones after the rest of their family, in time order."""
        out: list[DemoRecord] = []
        for family in FAMILIES:
            ordered = sorted(item for item in self._pending[family] if item[3] != MALFORMED_LABEL)
            for item in (item for item in self._pending[family] if item[3] == MALFORMED_LABEL):
                ordered.insert(self.rand.position(len(ordered)), item)
            out.extend(DemoRecord(family, value, label) for _, _, value, label in ordered)
            out.extend(DemoRecord(family, value, label, late=True) for _, _, value, label in sorted(self._late[family]))
        return out

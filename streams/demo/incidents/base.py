"""What an injected incident is: a description, and selectors that find exactly its records."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecordSelector:
    """Records of ``family`` whose bytes contain every ``all_of`` string and, if given, one ``any_of``."""

    family: str
    all_of: tuple[str, ...]
    any_of: tuple[str, ...] = ()

    def matches(self, family: str, value: bytes) -> bool:
        if family != self.family:
            return False
        text = value.decode("utf-8", "replace")
        return all(part in text for part in self.all_of) and (
            not self.any_of or any(part in text for part in self.any_of)
        )


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    description: str
    records: tuple[RecordSelector, ...]
    attack: tuple[str, ...] = ()
    """MITRE ATT&CK technique ids, where one clearly applies."""
    caught_by: str = "rules"
    """What should find it: ``rules`` (a detection or posture rule fires), ``anomaly`` (only the
    per-principal anomaly model can: nothing in any single event is wrong) or ``paths`` (an attack path
    in the AI asset graph, ``streams.detect.graph.paths``: each event is routine, their combination is not)."""
    anomalous_access: bool = False
    """An identity behaving unlike itself (stolen credentials, escalation, bulk reads, probing): the
    anomaly model's evaluation positives."""

    def matches(self, family: str, value: bytes) -> bool:
        return any(selector.matches(family, value) for selector in self.records)


def event_names(*names: str) -> tuple[str, ...]:
    """Selector parts that match CloudTrail events by name."""
    return tuple(f'"eventName":"{name}"' for name in names)

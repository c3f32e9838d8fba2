"""Every graph extractor, discovered, and the one entry the stream and offline mode call: events -> facts.

Only successful events of an extractor's family (and formats), services and actions reach it (a failed
call creates nothing). CloudTrail names match exactly; audit names in any letter case (Azure writes an
operation upper-cased in exports and as the provider spells it in its REST API). An extractor that
raises on an event is reported, not fatal. Runtime calls repeat (a model is invoked thousands of times
an hour): ``compact`` keeps, per batch, the first and last sighting of each identity -> asset edge and
the last use of each asset, which is all the fold reads of them.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType

import polars as pl

from streams.detect.graph import extractors as extractors_package
from streams.detect.graph.base import Example, ExtractorMeta, Fact, fact_key
from streams.detect.graph.facts import AssetFact, EdgeFact

__all__ = [
    "ExtractResult",
    "Extractor",
    "candidates",
    "compact",
    "discover_extractors",
    "example_problems",
    "extract_facts",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Extractor:
    meta: ExtractorMeta
    extract: Callable[[dict], list[Fact]]
    examples: tuple[Example, ...]
    module: str

    @property
    def id(self) -> str:
        return self.meta.id


def _from_module(module: ModuleType) -> Extractor:
    return Extractor(module.META, module.extract, tuple(module.EXAMPLES), module.__name__)


@lru_cache(maxsize=1)
def discover_extractors() -> tuple[Extractor, ...]:
    found = []
    for info in sorted(pkgutil.iter_modules(extractors_package.__path__), key=lambda item: item.name):
        found.append(_from_module(importlib.import_module(f"{extractors_package.__name__}.{info.name}")))
    return tuple(found)


@lru_cache(maxsize=1)
def _dispatch() -> dict[tuple[str, str], tuple[Extractor, ...]]:
    """CloudTrail extractors by (service, action)."""
    table: dict[tuple[str, str], list[Extractor]] = {}
    for extractor in discover_extractors():
        if extractor.meta.family == "cloudtrail":
            for service in extractor.meta.services:
                for action in extractor.meta.actions:
                    table.setdefault((service, action), []).append(extractor)
    return {key: tuple(value) for key, value in table.items()}


@lru_cache(maxsize=1)
def _audit_dispatch() -> dict[tuple[str, str, str], tuple[Extractor, ...]]:
    """Audit-family extractors by (format, service, action), the names lower-cased."""
    table: dict[tuple[str, str, str], list[Extractor]] = {}
    for extractor in discover_extractors():
        if extractor.meta.family == "audit":
            for source_format in extractor.meta.formats:
                for service in extractor.meta.services:
                    for action in extractor.meta.actions:
                        table.setdefault((source_format, service.lower(), action.lower()), []).append(extractor)
    return {key: tuple(value) for key, value in table.items()}


def _spellings(names: Iterable[str]) -> list[str]:
    # The frame's names are matched as they are (lower-casing a column costs every row): each name as
    # declared, upper-cased and lower-cased covers how the sources write them.
    return sorted({spelling for name in names for spelling in (name, name.upper(), name.lower())})


def candidates() -> pl.Expr:
    """Which rows of an events frame some extractor reads (they need their raw record on the events topic)."""
    pairs = _dispatch()
    services = sorted({service for service, _ in pairs})
    actions = sorted({action for _, action in pairs})
    wanted = ((pl.col("source_family") == "cloudtrail") & pl.col("service").is_in(services)
              & pl.col("action").is_in(actions) & (pl.col("outcome") == "success"))
    audit = [extractor.meta for extractor in discover_extractors() if extractor.meta.family == "audit"]
    if audit:
        wanted |= ((pl.col("source_family") == "audit")
                   & pl.col("source_format").is_in(sorted({f for meta in audit for f in meta.formats}))
                   & pl.col("service").is_in(_spellings(s for meta in audit for s in meta.services))
                   & pl.col("action").is_in(_spellings(a for meta in audit for a in meta.actions))
                   & (pl.col("outcome") == "success"))
    return wanted


@dataclass(slots=True)
class ExtractResult:
    facts: list[Fact] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def extract_facts(events: Iterable[dict]) -> ExtractResult:
    result = ExtractResult()
    table, audit_table = _dispatch(), _audit_dispatch()
    for event in events:
        if event.get("outcome") != "success":
            continue
        family = event.get("source_family")
        if family == "cloudtrail":
            chosen = table.get((event.get("service", ""), event.get("action", "")), ())
        elif family == "audit" and audit_table:
            chosen = audit_table.get((event.get("source_format", ""), event.get("service", "").lower(),
                                      event.get("action", "").lower()), ())
        else:
            continue
        for extractor in chosen:
            try:
                result.facts.extend(extractor.extract(event))
            except Exception as error:  # noqa: BLE001 -- one odd record must not stop the graph
                message = f"{extractor.id} on {event.get('event_id', '')}: {type(error).__name__}: {error}"[:500]
                log.error("graph extractor failed: %s", message)
                result.errors.append(message)
    return result


def compact(facts: list[Fact]) -> list[Fact]:
    """The facts with repeated runtime sightings folded: per asset its last ``use``; per identity edge
    (``invokes``) its first and last sighting. Everything else as it came."""
    kept: list[Fact] = []
    last_use: dict[str, AssetFact] = {}
    sightings: dict[str, list[EdgeFact]] = {}
    for fact in facts:
        if isinstance(fact, AssetFact) and fact.op == "use":
            current = last_use.get(fact.asset_id)
            if current is None or (fact.time, fact.event_id) > (current.time, current.event_id):
                last_use[fact.asset_id] = fact
        elif isinstance(fact, EdgeFact) and fact.kind == "invokes":
            pair = sightings.setdefault(fact.edge_id, [fact, fact])
            pair[0] = min(pair[0], fact, key=lambda f: (f.time, f.event_id))
            pair[1] = max(pair[1], fact, key=lambda f: (f.time, f.event_id))
        else:
            kept.append(fact)
    kept.extend(last_use.values())
    for first, last in sightings.values():
        kept.extend([first] if first is last else [first, last])
    return kept


def example_problems(extractor: Extractor) -> list[str]:
    problems = []
    if not any(example.facts for example in extractor.examples):
        problems.append("no example that gives facts")
    if not any(not example.facts for example in extractor.examples):
        problems.append("no example that gives none")
    for example in extractor.examples:
        got = {fact_key(fact) for fact in extract_facts([example.event]).facts}
        if got != example.facts:
            problems.append(f"example {example.name!r}: missing {sorted(example.facts - got)}, "
                            f"unexpected {sorted(got - example.facts)}")
    return problems

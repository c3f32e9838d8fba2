"""New attack paths as facts land: which paths a batch's facts complete, found without evaluating the
whole graph.

``PathWatch`` keeps the graph's facts in memory (loaded once from the store, grown by every batch the
stage committed; an edge's history squeezed to what the fold reads of it: the opening of its current
life and its latest fact). For a batch it takes the nodes the batch's facts name, the facts within
``HOPS`` edges of them (every pattern's path is at most three edges long, so a path that holds one of
those nodes lies inside), and at each moment one of the batch's facts happened folds that neighbourhood
twice, with and without the batch: a path found only with it is new. Runtime sightings (``invokes``)
do not widen the neighbourhood beyond their own ends: only one single-edge pattern reads them.

A redelivered batch finds its facts known and nothing new; after a restart the facts come back from
the store, so a batch whose facts landed raises nothing again (and one whose facts did not finds the
same paths, at the same moments, from the same events: the same alerts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from streams.detect.graph.facts import AssetFact, EdgeFact, graph_at
from streams.detect.graph.paths import Path, find_paths

__all__ = ["HOPS", "NewPath", "PathWatch"]

HOPS = 3
_RUNTIME = "invokes"


@dataclass(frozen=True, slots=True)
class NewPath:
    path: Path
    at: int
    """The moment (epoch ms) it first existed."""
    event_id: str
    """The event whose fact completed it (a batch event)."""


def _asset_key(fact: AssetFact) -> tuple[str, str, str]:
    return fact.asset_id, fact.op, fact.event_id


def _edge_key(fact: EdgeFact) -> tuple[str, str, str]:
    return fact.edge_id, fact.op, fact.event_id


def _order(fact: EdgeFact) -> tuple:
    return fact.time, fact.op == "close", fact.event_id


def _squeeze(facts: Iterable[EdgeFact]) -> list[EdgeFact]:
    """One edge's facts reduced to those its fold reads: the opening of its current life and its latest."""
    life: EdgeFact | None = None
    latest: EdgeFact | None = None
    for fact in sorted(facts, key=_order):
        if fact.op == "open" and (latest is None or latest.op == "close"):
            life = fact
        latest = fact
    if latest is None:
        return []
    return [latest] if latest.op == "close" or life is None or life is latest else [life, latest]


class PathWatch:
    def __init__(self) -> None:
        self._assets: dict[str, dict[tuple[str, str, str], AssetFact]] = {}
        self._edges: dict[str, list[EdgeFact]] = {}
        self._by_node: dict[str, set[str]] = {}
        self._by_slot: dict[str, set[str]] = {}
        self.last_folded = (0, 0)
        """(asset facts, edge facts) the last ``new_paths`` folded: what a batch's check costs."""

    @property
    def size(self) -> tuple[int, int]:
        """(asset facts, edge facts) held."""
        return sum(map(len, self._assets.values())), sum(map(len, self._edges.values()))

    def add(self, assets: Iterable[AssetFact], edges: Iterable[EdgeFact]) -> None:
        """Facts that landed (``use`` facts are left out: no pattern reads them)."""
        for fact in assets:
            if fact.op != "use":
                self._assets.setdefault(fact.asset_id, {})[_asset_key(fact)] = fact
        grown: dict[str, list[EdgeFact]] = {}
        for fact in edges:
            grown.setdefault(fact.edge_id, list(self._edges.get(fact.edge_id, []))).append(fact)
            self._by_node.setdefault(fact.src, set()).add(fact.edge_id)
            self._by_node.setdefault(fact.dst, set()).add(fact.edge_id)
            if fact.slot:
                self._by_slot.setdefault(fact.slot, set()).add(fact.edge_id)
        for edge_id, facts in grown.items():
            self._edges[edge_id] = _squeeze({_edge_key(f): f for f in facts}.values())

    def new_paths(self, assets: list[AssetFact], edges: list[EdgeFact]) -> list[NewPath]:
        """The paths the batch's facts complete, each once, at the first moment it exists."""
        fresh_assets = [f for f in assets if f.op != "use"
                        and _asset_key(f) not in self._assets.get(f.asset_id, {})]
        fresh_edges = [f for f in edges if _edge_key(f) not in {_edge_key(g) for g in self._edges.get(f.edge_id, ())}]
        if not fresh_assets and not fresh_edges:
            return []
        touched = {f.asset_id for f in fresh_assets} | {node for f in fresh_edges for node in (f.src, f.dst)}
        old_assets, old_edges = self._around(touched, fresh_edges)
        self.last_folded = (len(old_assets), len(old_edges))
        moments = sorted({f.time for f in fresh_assets} | {f.time for f in fresh_edges})
        batch_facts = [*fresh_assets, *fresh_edges]
        found: dict[str, NewPath] = {}
        for at in moments:
            before = {p.path_id for p in find_paths(graph_at(old_assets, old_edges, at))}
            for path in find_paths(graph_at(old_assets + fresh_assets, old_edges + fresh_edges, at)):
                if path.path_id in before or path.path_id in found:
                    continue
                found[path.path_id] = NewPath(path, at, _completing_event(path, batch_facts, at))
        return list(found.values())

    def _around(self, touched: set[str], batch_edges: list[EdgeFact]) -> tuple[list[AssetFact], list[EdgeFact]]:
        """The held facts within ``HOPS`` edges of ``touched`` (through the held and the batch's edges)."""
        batch_by_node: dict[str, list[EdgeFact]] = {}
        for fact in batch_edges:
            batch_by_node.setdefault(fact.src, []).append(fact)
            batch_by_node.setdefault(fact.dst, []).append(fact)
        nodes, frontier, edge_ids = set(touched), set(touched), set()
        for _ in range(HOPS):
            reached: set[str] = set()
            for node in frontier:
                ends = [(e.edge_id, e.kind, e.src, e.dst) for e in batch_by_node.get(node, ())]
                for edge_id in self._by_node.get(node, ()):
                    first = self._edges[edge_id][0]
                    ends.append((edge_id, first.kind, first.src, first.dst))
                for edge_id, kind, src, dst in ends:
                    if kind == _RUNTIME and node not in touched:
                        continue
                    edge_ids.add(edge_id)
                    other = dst if src == node else src
                    if kind != _RUNTIME and other not in nodes:
                        reached.add(other)
            nodes |= reached
            frontier = reached
        # An edge's slot mates decide whether it holds the slot.
        slots = {facts[0].slot for edge_id in edge_ids if (facts := self._edges.get(edge_id)) and facts[0].slot}
        for slot in slots | {fact.slot for fact in batch_edges if fact.slot}:
            edge_ids |= self._by_slot.get(slot, set())
        old_edges = [fact for edge_id in edge_ids for fact in self._edges.get(edge_id, ())]
        nodes |= {node for fact in old_edges for node in (fact.src, fact.dst)}
        old_assets = [fact for node in nodes for fact in self._assets.get(node, {}).values()]
        return old_assets, old_edges


def _completing_event(path: Path, facts: list[AssetFact | EdgeFact], at: int) -> str:
    """The newest batch fact up to ``at`` about the path's nodes or edges: its event completed the path."""
    nodes = {node for node, _ in path.nodes}
    edges = {edge.edge_id for edge in path.edges}
    relevant = [f for f in facts if f.time <= at and (
        (isinstance(f, AssetFact) and f.asset_id in nodes) or (isinstance(f, EdgeFact) and f.edge_id in edges))]
    chosen = max(relevant or [f for f in facts if f.time <= at], key=lambda f: (f.time, f.event_id))
    return chosen.event_id

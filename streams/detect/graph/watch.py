"""New attack paths as facts land: which paths a batch's facts complete, found without evaluating the
whole graph.

``PathWatch`` keeps the graph's facts in memory (loaded once from the store, grown by every batch the
stage committed; an edge's history squeezed to what the fold reads of it: the opening of its current
life and its latest fact). For a batch it takes the nodes the batch's facts name, the facts within
``HOPS`` edges of them (every pattern's path is at most three edges long, so a path that holds one of
those nodes lies inside), and at each moment one of the batch's facts happened folds that neighbourhood
twice, with and without the batch: a path found only with it is new. Runtime sightings (``invokes``)
do not widen the neighbourhood beyond their own ends: only one single-edge pattern reads them.

A path alerts once per life (from a moment it exists until it no longer does), counted by the event
that began the life, so the partitions read in any interleaving give the same counts: a fact read after
later ones that moves a known life's start earlier is that life, and one that completes a path whose
last piece was already held raises it then. Paths are told apart by what their alert is about
(``Path.alert_key``). The caller keeps each alerted life's label (the moment and event that began it)
before it records the alert: a fact that ends a path inside a known life splits it, the part holding
the label being the known one, and a life alerted on before a crash whose facts never landed keeps its
label when the replay finds it again from other facts.

A redelivered batch finds its facts known and nothing new; after a restart the facts come back from
the store, so a batch whose facts landed raises nothing again (and one whose facts did not finds the
same paths, at the same moments, from the same events: the same alerts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from streams.detect.graph.facts import AssetFact, EdgeFact, graph_at
from streams.detect.graph.paths import Path, find_paths

__all__ = ["HOPS", "NewPath", "PathWatch"]

HOPS = 3
FOLD_BUDGET = 200_000
"""Moments times facts one batch's check may fold (~0.7 s here at the budget; a batch naming one agent
folds a few dozen)."""
log = logging.getLogger(__name__)
_RUNTIME = "invokes"


@dataclass(frozen=True, slots=True)
class NewPath:
    path: Path
    at: int
    """The moment (epoch ms) it first existed."""
    event_id: str
    """The event whose fact completed it (a batch event)."""
    begun_by: str
    """The event whose fact began it at ``at`` (held or of the batch): what its alert counts."""


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
            for node in (fact.src, fact.dst):
                if node:  # a close naming only its slot has no source: its slot finds it
                    self._by_node.setdefault(node, set()).add(fact.edge_id)
            if fact.slot:
                self._by_slot.setdefault(fact.slot, set()).add(fact.edge_id)
        for edge_id, facts in grown.items():
            self._edges[edge_id] = _squeeze({_edge_key(f): f for f in facts}.values())

    def new_paths(self, assets: list[AssetFact], edges: list[EdgeFact],
                  labels: Callable[[str], Iterable[tuple[int, str]]] | None = None) -> list[NewPath]:
        """The paths the batch's facts complete: each life of a path (from a moment it exists until it
        no longer does) that the held facts alone did not have, once, at the moment it begins.

        ``labels``: of an alert key, the (moment, event id) of each life already alerted on (kept by the
        caller before it records the alerts). A life found again after a crash keeps its label, and of a
        held life the batch splits, the part holding its label is the held one."""
        fresh_assets = [f for f in assets if f.op != "use"
                        and _asset_key(f) not in self._assets.get(f.asset_id, {})]
        fresh_edges = [f for f in edges if _edge_key(f) not in {_edge_key(g) for g in self._edges.get(f.edge_id, ())}]
        if not fresh_assets and not fresh_edges:
            return []
        touched = {f.asset_id for f in fresh_assets} | {node for f in fresh_edges for node in (f.src, f.dst) if node}
        old_assets, old_edges = self._around(touched, fresh_edges, {f.asset_id for f in fresh_assets})
        self.last_folded = (len(old_assets), len(old_edges))
        every_assets, every_edges = old_assets + fresh_assets, old_edges + fresh_edges
        # The graph changes only when a fact happens. Before the batch's earliest fact the two views agree;
        # from then on a path can begin at any fact's moment, the held facts' too (a fact that arrives
        # after later ones can complete a path whose last piece was already held).
        earliest = min(f.time for f in (*fresh_assets, *fresh_edges))
        held_times = {f.time for f in old_assets} | {f.time for f in old_edges}
        fresh_times = {f.time for f in fresh_assets} | {f.time for f in fresh_edges}
        before_earliest = max((t for t in held_times if t < earliest), default=earliest)
        moments = sorted({t for t in held_times if t >= earliest} | fresh_times | {before_earliest})
        if len(moments) * (len(every_assets) + len(every_edges)) > FOLD_BUDGET:
            # Each moment folds the whole neighbourhood: a late change to an asset many facts hang on (a
            # model deleted, read after its callers' later calls) would cost seconds per batch. Judged at
            # the batch's own moments only, a life it moved may count again or a split go unseen.
            log.warning("path watch: %d moments x %d facts over the budget; judging the batch's %d moments only",
                        len(moments), len(every_assets) + len(every_edges), len(fresh_times))
            moments = sorted(fresh_times | {before_earliest})
        # Paths by what their alert is about (``Path.alert_key``): of several at a moment, the first found.
        before: list[set[str]] = []
        after: list[dict[str, Path]] = []
        for at in moments:
            before.append({p.alert_key for p in find_paths(graph_at(old_assets, old_edges, at))})
            found_then: dict[str, Path] = {}
            for path in find_paths(graph_at(every_assets, every_edges, at)):
                found_then.setdefault(path.alert_key, path)
            after.append(found_then)
        batch_facts = [*fresh_assets, *fresh_edges]
        every_facts = [*every_assets, *every_edges]
        found = []
        for key in {key for paths in after for key in paths}:
            recorded = sorted((int(t), str(e)) for t, e in labels(key)) if labels is not None else []
            present = [key in paths for paths in after]
            for first, last in _new_lives(present, [key in keys for keys in before], moments, recorded):
                path, at = after[first][key], moments[first]
                ends = moments[last + 1] if last + 1 < len(moments) else None
                label = _label_within(recorded, None if first == 0 else at, ends) or self._unaccounted(
                    recorded, path, at, every_assets, every_edges)
                begun = label or (at, _completing_event(path, every_facts, at))
                found.append(NewPath(path, begun[0], _completing_event(path, batch_facts, at), begun[1]))
        return sorted(found, key=lambda new: (new.at, new.path.alert_key))

    @staticmethod
    def _unaccounted(recorded: list[tuple[int, str]], path: Path, at: int, assets: list[AssetFact],
                     edges: list[EdgeFact]) -> tuple[int, str] | None:
        """A recorded life that began before ``at`` and that no known life holds any more: the path did not
        exist from then until ``at``. That life's facts did not land (a crash after its alert was recorded,
        before its facts were): the life found at ``at`` is that one, to be extended back once they come."""
        earlier = [label for label in recorded if label[0] < at]
        if not earlier:
            return None
        begun = earlier[-1]
        moments = sorted({f.time for f in (*assets, *edges) if begun[0] <= f.time < at} | {begun[0]})
        held = any(path.alert_key in {p.alert_key for p in find_paths(graph_at(assets, edges, moment),
                                                                       patterns=[path.pattern])}
                   for moment in moments)
        return None if held else begun

    def _around(self, touched: set[str], batch_edges: list[EdgeFact],
                changed_assets: set[str]) -> tuple[list[AssetFact], list[EdgeFact]]:
        """The held facts within ``HOPS`` edges of ``touched`` (through the held and the batch's edges).

        A held runtime sighting (``invokes``) is a path of its own, which only its own new sightings or a
        change to one of its ends' assets (``changed_assets``: a model deleted) can open or close: the
        other callers of a model a batch's call names stay out (a model a thousand identities invoke
        would otherwise be folded with all of them at every moment of the batch)."""
        batch_ids = {fact.edge_id for fact in batch_edges}
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
                    if kind == _RUNTIME and (node not in touched or (
                            edge_id not in batch_ids and src not in changed_assets and dst not in changed_assets)):
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


def _lives(present: list[bool]) -> list[tuple[int, int]]:
    """The runs of moments (first, last index) in which a path exists."""
    runs, start = [], None
    for index, here in enumerate([*present, False]):
        if here and start is None:
            start = index
        elif not here and start is not None:
            runs.append((start, index - 1))
            start = None
    return runs


def _label_within(recorded: list[tuple[int, str]], start: int | None, end: int | None) -> tuple[int, str] | None:
    """The first recorded label in [start, end) (None: unbounded)."""
    return next((label for label in recorded if (start is None or label[0] >= start)
                 and (end is None or label[0] < end)), None)


def _new_lives(after: list[bool], before: list[bool], moments: list[int],
               recorded: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """The lives of a path with the batch's facts that the held facts did not have. A life that shares a
    moment with a held life is that life (the batch moved its start or end: facts read out of time
    order, after a restart or in another interleaving of the partitions); of a held life the batch split,
    the part that holds the held life's recorded label (else the first) is it, the others are new. The
    moment before the batch's earliest fact comes first: a life going on then is held."""
    def bounds(life: tuple[int, int]) -> tuple[int | None, int | None]:
        return (None if life[0] == 0 else moments[life[0]],
                moments[life[1] + 1] if life[1] + 1 < len(moments) else None)

    lives = _lives(after)
    new = set(lives)
    for held in _lives(before):
        overlapping = [life for life in lives if life in new and life[0] <= held[1] and held[0] <= life[1]]
        if overlapping:
            labelled = [life for life in overlapping if _label_within(recorded, *bounds(life))]
            new.discard((labelled or overlapping)[0])
    return sorted(new)


def _completing_event(path: Path, facts: list[AssetFact | EdgeFact], at: int) -> str:
    """The newest of ``facts`` up to ``at`` about the path's nodes or edges: of the batch's, the event that
    completed the path; of all, the one that began it."""
    nodes = {node for node, _ in path.nodes}
    edges = {edge.edge_id for edge in path.edges}
    relevant = [f for f in facts if f.time <= at and (
        (isinstance(f, AssetFact) and f.asset_id in nodes) or (isinstance(f, EdgeFact) and f.edge_id in edges))]
    earlier = relevant or [f for f in facts if f.time <= at]
    if not earlier:  # a life the batch split off a held one before its own facts: the earliest of them
        return min(facts, key=lambda f: (f.time, f.event_id)).event_id
    return max(earlier, key=lambda f: (f.time, f.event_id)).event_id

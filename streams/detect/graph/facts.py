"""The AI asset graph as facts: what one event says about an asset or an edge, and the graph as of a time.

The graph is event-sourced. An extractor (``streams/detect/graph/extractors``) turns one event (a CloudTrail
call, a GCP audit log entry, an Azure Activity log record) into facts; the facts land as they are
(``ai_assets``, ``ai_edges``: one row per fact, keyed by the asset or edge and the event, so a redelivered
event replaces its own rows), and the graph at any time T is a fold of the facts up to T (:func:`graph_at`).
Nothing is updated in place, so facts may arrive in any order and "what did it look like last Tuesday
at 14:00" is the same fold with an earlier T.

Assets: ``create`` and ``delete`` decide whether an asset exists (the latest of them up to T wins: an
ARN deleted and created again exists again); ``update`` turns posture flags on or off; ``use`` moves
``last_used``. A node that no fact creates (a bucket, a role, an identity) exists while an edge names it.

Edges: ``open`` and ``close``; the latest up to T wins. An edge with a ``slot`` holds it alone: opening
another edge in the same slot (an agent's model, an endpoint's config, a function's role) closes it.
A ``close`` that names a slot but no source closes whichever edge holds the slot then (Vertex AI's
UndeployModel names the deployed model's id, not the model). An edge is gone once either end is deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AI_KINDS", "Asset", "AssetFact", "Edge", "EdgeFact", "Graph", "bucket_arn", "edge_id", "graph_at",
]

AssetOp = Literal["create", "update", "delete", "use"]
EdgeOp = Literal["open", "close"]

# Kinds of AI assets (the inventory); other node kinds (buckets, roles, functions, identities) only
# carry the attributes paths need.
AI_KINDS = frozenset({
    "bedrock_custom_model", "bedrock_customization_job", "bedrock_imported_model", "bedrock_model_import_job",
    "bedrock_provisioned_throughput", "bedrock_agent", "bedrock_action_group", "bedrock_knowledge_base",
    "bedrock_data_source", "bedrock_guardrail", "bedrock_invocation_logging", "bedrock_foundation_model",
    "sagemaker_notebook", "sagemaker_training_job", "sagemaker_model", "sagemaker_endpoint_config",
    "sagemaker_endpoint", "vertex_model", "vertex_endpoint", "azure_openai_account", "azure_openai_deployment",
    "azure_openai_model",
})


@dataclass(frozen=True, slots=True)
class AssetFact:
    asset_id: str
    """The ARN (from ``responseElements`` where the call returns one); a GCP resource name; a lower-cased
    Azure resource id."""
    kind: str
    op: AssetOp
    time: int
    """Event time, epoch ms."""
    event_id: str
    name: str = ""
    provider: str = ""
    account: str = ""
    region: str = ""
    actor: str = ""
    flags_on: tuple[str, ...] = ()
    flags_off: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class EdgeFact:
    src: str
    src_kind: str
    kind: str
    dst: str
    dst_kind: str
    op: EdgeOp
    time: int
    event_id: str
    account: str = ""
    slot: str = ""
    """Edges sharing a slot exclude each other: the latest open one holds it."""
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def edge_id(self) -> str:
        return edge_id(self.src, self.kind, self.dst)


def edge_id(src: str, kind: str, dst: str) -> str:
    return hashlib.blake2b(f"{src}\x1f{kind}\x1f{dst}".encode(), digest_size=12).hexdigest()


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


@dataclass(slots=True)
class Asset:
    asset_id: str
    kind: str
    name: str = ""
    provider: str = ""
    account: str = ""
    region: str = ""
    created_by: str = ""
    created_at: int | None = None
    deleted_at: int | None = None
    last_used: int | None = None
    flags: set[str] = field(default_factory=set)
    attributes: dict[str, Any] = field(default_factory=dict)
    evidence: str = ""
    """The event that created it (or first named it)."""

    @property
    def exists(self) -> bool:
        return self.deleted_at is None

    def record(self) -> dict[str, Any]:
        return {"asset_id": self.asset_id, "kind": self.kind, "name": self.name, "provider": self.provider,
                "account": self.account, "region": self.region, "created_by": self.created_by,
                "created_at": self.created_at, "deleted_at": self.deleted_at, "last_used": self.last_used,
                "flags": sorted(self.flags), "attributes": self.attributes, "evidence_event_id": self.evidence}


@dataclass(slots=True)
class Edge:
    edge_id: str
    src: str
    src_kind: str
    kind: str
    dst: str
    dst_kind: str
    valid_from: int
    evidence: str
    account: str = ""
    last_seen: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {"from": self.src, "from_kind": self.src_kind, "kind": self.kind, "to": self.dst,
                "to_kind": self.dst_kind, "valid_from": self.valid_from, "last_seen": self.last_seen,
                "evidence_event_id": self.evidence, "account": self.account, "detail": self.detail}


@dataclass
class Graph:
    """Assets and edges as of ``at``: every node that exists then, every edge valid then."""

    at: int
    assets: dict[str, Asset]
    edges: list[Edge]

    def __post_init__(self) -> None:
        self._out: dict[str, list[Edge]] = {}
        self._in: dict[str, list[Edge]] = {}
        for edge in self.edges:
            self._out.setdefault(edge.src, []).append(edge)
            self._in.setdefault(edge.dst, []).append(edge)

    def out_edges(self, node: str, kind: str | None = None) -> list[Edge]:
        return [e for e in self._out.get(node, ()) if kind is None or e.kind == kind]

    def in_edges(self, node: str, kind: str | None = None) -> list[Edge]:
        return [e for e in self._in.get(node, ()) if kind is None or e.kind == kind]

    def node(self, node_id: str, kind: str = "") -> Asset:
        """The asset, or a bare node for an id only edges name."""
        return self.assets.get(node_id) or Asset(node_id, kind)

    def of_kind(self, *kinds: str) -> list[Asset]:
        return [asset for asset in self.assets.values() if asset.kind in kinds]


def graph_at(asset_facts: Iterable[AssetFact], edge_facts: Iterable[EdgeFact], at: int) -> Graph:
    """The graph the facts describe at ``at`` (epoch ms): facts after it are ignored."""
    assets = _fold_assets([fact for fact in asset_facts if fact.time <= at])
    alive = {asset_id for asset_id, asset in assets.items() if asset.exists}
    edges = [edge for edge in _fold_edges([fact for fact in edge_facts if fact.time <= at])
             if (edge.src in alive or edge.src not in assets) and (edge.dst in alive or edge.dst not in assets)]
    return Graph(at, {asset_id: asset for asset_id, asset in assets.items() if asset.exists}, edges)


# Order of facts at one instant: a create before the update and use it enables, a delete last.
_ASSET_ORDER = {"create": 0, "update": 1, "use": 2, "delete": 3}


def _fold_assets(facts: list[AssetFact]) -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    for fact in sorted(facts, key=lambda f: (f.time, _ASSET_ORDER[f.op], f.event_id)):
        asset = assets.get(fact.asset_id)
        if asset is None:
            asset = assets[fact.asset_id] = Asset(fact.asset_id, fact.kind, evidence=fact.event_id)
        for name in ("name", "provider", "account", "region"):
            if getattr(fact, name) and not getattr(asset, name):
                setattr(asset, name, getattr(fact, name))
        if fact.op == "create":
            if asset.deleted_at is not None:  # the same id made again: a new life, its own flags
                asset.flags, asset.attributes, asset.deleted_at, asset.last_used = set(), {}, None, None
            asset.kind, asset.created_at, asset.created_by, asset.evidence = (fact.kind, fact.time, fact.actor,
                                                                              fact.event_id)
        elif fact.op == "delete":
            asset.deleted_at = fact.time
        elif fact.op == "use":
            asset.last_used = max(asset.last_used or fact.time, fact.time)
        asset.flags.difference_update(fact.flags_off)
        asset.flags.update(fact.flags_on)
        asset.attributes.update(fact.attributes)
    return assets


def _fold_edges(facts: list[EdgeFact]) -> list[Edge]:
    latest: dict[str, EdgeFact] = {}
    first_open: dict[str, int] = {}
    last_seen: dict[str, int] = {}
    slot_holder: dict[str, EdgeFact] = {}
    for fact in sorted(facts, key=lambda f: (f.time, f.op == "close", f.event_id)):
        key = fact.edge_id
        if fact.op == "open":
            if key not in latest or latest[key].op == "close":
                first_open[key] = fact.time
            last_seen[key] = fact.time
            if fact.slot:
                slot_holder[fact.slot] = fact
        elif fact.slot and not fact.src:
            slot_holder.pop(fact.slot, None)
        latest[key] = fact
    edges = []
    for key, fact in latest.items():
        holder = slot_holder.get(fact.slot) if fact.slot else None
        if fact.op != "open" or (fact.slot and (holder is None or holder.edge_id != key)):
            continue
        edges.append(Edge(key, fact.src, fact.src_kind, fact.kind, fact.dst, fact.dst_kind, first_open[key],
                          fact.event_id, fact.account, last_seen[key], dict(fact.detail)))
    return edges

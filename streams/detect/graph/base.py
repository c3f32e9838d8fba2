"""What a graph extractor is: which calls it reads, a pure ``extract(event) -> facts``, and its examples.

An extractor module (one per file in ``streams.detect.graph.extractors``, file name = id) defines ``META``
(an :class:`ExtractorMeta`), ``extract(event) -> list[AssetFact | EdgeFact]`` over a normalized,
successful CloudTrail event of one of ``META.actions`` (the caller filters: a failed call creates
nothing), and ``EXAMPLES``: events with the facts they must give, at least one that gives some and
one that gives none. Examples name facts by their identity only (:func:`fact_key`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from streams.detect.graph.facts import AssetFact, EdgeFact, bucket_arn
from streams.normalize.cloudtrail_record import CloudTrailRecord, ct

__all__ = ["Call", "Example", "ExtractorMeta", "Fact", "bucket_node", "expect", "fact_key", "model_node", "role_arn_of",
           "role_edge"]

Fact = AssetFact | EdgeFact


class ExtractorMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,79}$")]
    title: Annotated[str, StringConstraints(min_length=5, max_length=120)]
    services: tuple[str, ...] = Field(min_length=1)
    """CloudTrail ``eventSource`` values whose events it reads."""
    actions: tuple[str, ...] = Field(min_length=1)
    """CloudTrail ``eventName`` values it reads."""
    kinds: tuple[str, ...] = ()
    """Node kinds it creates or describes (documentation, and the inventory's coverage)."""


@dataclass(frozen=True, slots=True)
class Example:
    name: str
    event: dict
    facts: frozenset[tuple]
    """``fact_key`` of every fact the event must give, no more."""


def expect(name: str, event: dict, *facts: tuple) -> Example:
    return Example(name, event, frozenset(facts))


def fact_key(fact: Fact) -> tuple:
    """A fact by identity: ``("asset", op, kind, asset_id, flags_on...)`` or ``("edge", op, src, kind, dst)``."""
    if isinstance(fact, AssetFact):
        return ("asset", fact.op, fact.kind, fact.asset_id, *sorted(fact.flags_on))
    return ("edge", fact.op, fact.src, fact.kind, fact.dst)


@dataclass(frozen=True, slots=True)
class Call:
    """One successful CloudTrail call, with what every extractor needs to name and date its facts."""

    event: dict
    record: CloudTrailRecord

    @classmethod
    def of(cls, event: dict) -> Call:
        return cls(event, ct(event))

    @property
    def account(self) -> str:
        return self.event.get("cloud_account") or self.record.account

    @property
    def region(self) -> str:
        return self.event.get("cloud_region") or self.record.region

    @property
    def time(self) -> int:
        return int(self.event["time"])

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"])

    @property
    def actor(self) -> str:
        return self.event.get("actor", "")

    def param(self, *path: str) -> Any:
        return self.record.param(*path)

    def response(self, *path: str) -> Any:
        return self.record.response(*path)

    def text(self, getter: Callable[..., Any], *path: str) -> str:
        value = getter(*path)
        return value if isinstance(value, str) else ""

    def arn(self, service: str, resource: str, *, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account if account else ''}:{resource}"

    def asset(self, asset_id: str, kind: str, op: str, *, name: str = "", provider: str = "",
              flags_on: tuple[str, ...] = (), flags_off: tuple[str, ...] = (),
              attributes: dict[str, Any] | None = None) -> AssetFact:
        return AssetFact(asset_id, kind, op, self.time, self.event_id, name=name, provider=provider,  # type: ignore[arg-type]
                         account=self.account, region=self.region, actor=self.actor if op == "create" else "",
                         flags_on=flags_on, flags_off=flags_off, attributes=attributes or {})

    def edge(self, src: str, src_kind: str, kind: str, dst: str, dst_kind: str, op: str = "open", *,
             slot: str = "", detail: dict[str, Any] | None = None) -> EdgeFact:
        return EdgeFact(src, src_kind, kind, dst, dst_kind, op, self.time, self.event_id,  # type: ignore[arg-type]
                        account=self.account, slot=slot, detail=detail or {})


def role_arn_of(call: Call, *path: str) -> str:
    value = call.param(*path)
    return value if isinstance(value, str) and ":role/" in value else ""


def bucket_node(value: Any) -> str:
    """The bucket ARN an ``s3://`` URI or S3 ARN names, else ''."""
    from streams.detect.aws import bucket_of

    bucket = bucket_of(value)
    return bucket_arn(bucket) if bucket else ""


_MODEL_KINDS = {"custom-model": "bedrock_custom_model", "imported-model": "bedrock_imported_model",
                "provisioned-model": "bedrock_provisioned_throughput", "foundation-model": "bedrock_foundation_model",
                "inference-profile": "bedrock_foundation_model", "application-inference-profile":
                "bedrock_foundation_model"}


def model_node(call: Call, identifier: Any) -> tuple[str, str]:
    """(node id, kind) of a Bedrock model named by ARN or by a foundation-model id; ('', '') for none."""
    if not isinstance(identifier, str) or not identifier:
        return "", ""
    if identifier.startswith("arn:"):
        resource = identifier.split(":", 5)[-1]
        return identifier, _MODEL_KINDS.get(resource.split("/", 1)[0], "bedrock_foundation_model")
    return f"arn:aws:bedrock:{call.region}::foundation-model/{identifier}", "bedrock_foundation_model"


def role_edge(call: Call, role: str, asset_id: str, kind: str) -> EdgeFact:
    """``role -> asset``: the role the asset runs as (one at a time)."""
    return call.edge(role, "iam_role", "execution_role", asset_id, kind, slot=f"execution_role|{asset_id}")

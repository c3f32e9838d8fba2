"""What a graph extractor is: which calls it reads, a pure ``extract(event) -> facts``, and its examples.

An extractor module (one per file in ``streams.detect.graph.extractors``, file name = id) defines ``META``
(an :class:`ExtractorMeta`), ``extract(event) -> list[AssetFact | EdgeFact]`` over a normalized,
successful event of ``META.family`` (CloudTrail unless it says ``audit``), one of ``META.actions``
(the caller filters: a failed call creates nothing), and ``EXAMPLES``: events with the facts they must
give, at least one that gives some and one that gives none. Examples name facts by their identity only
(:func:`fact_key`).

:class:`Call` names a CloudTrail call's account, region, time, event and actor and builds its facts;
:class:`AuditCall` does the same for an audit-family event (GCP audit logs, Azure Activity log).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from streams.detect.graph.facts import AssetFact, EdgeFact, bucket_arn
from streams.normalize.cloudtrail_record import CloudTrailRecord, ct

__all__ = ["AuditCall", "Call", "Example", "ExtractorMeta", "Fact", "bucket_node", "expect", "fact_key", "model_node",
           "role_arn_of", "role_edge"]

Fact = AssetFact | EdgeFact


class ExtractorMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,79}$")]
    title: Annotated[str, StringConstraints(min_length=5, max_length=120)]
    family: Literal["cloudtrail", "audit"] = "cloudtrail"
    """The source family whose events it reads."""
    formats: tuple[str, ...] = ()
    """The family's source formats it reads (audit: ``gcp_audit``, ``azure_activity``); the audit family
    carries many (Kubernetes, Okta...), so an audit extractor names its own."""
    services: tuple[str, ...] = Field(min_length=1)
    """The events' ``service``: CloudTrail ``eventSource``, GCP ``serviceName``, Azure resource provider."""
    actions: tuple[str, ...] = Field(min_length=1)
    """The events' ``action``: CloudTrail ``eventName``, GCP ``methodName``, Azure ``operationName``.
    Audit services and actions match in any letter case: Azure exports write operations in upper case,
    its REST API as the provider spells them."""
    kinds: tuple[str, ...] = ()
    """Node kinds it creates or describes (documentation, and the inventory's coverage)."""

    @model_validator(mode="after")
    def _audit_names_its_formats(self) -> ExtractorMeta:
        if self.family == "audit" and not self.formats:
            raise ValueError("an audit-family extractor names the formats it reads")
        if self.family == "cloudtrail" and self.formats:
            raise ValueError("CloudTrail has one format: a CloudTrail extractor names none")
        return self


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


class _FactMaker:
    """Builds an event's facts from what the event names: its time, id and actor, and the account and region
    (which the subclass reads, as its source names them)."""

    __slots__ = ()
    event: dict
    account: str
    region: str

    @property
    def time(self) -> int:
        return int(self.event["time"])

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"])

    @property
    def actor(self) -> str:
        return self.event.get("actor", "")

    def asset(self, asset_id: str, kind: str, op: str, *, name: str = "", provider: str = "", region: str = "",
              flags_on: tuple[str, ...] = (), flags_off: tuple[str, ...] = (),
              attributes: dict[str, Any] | None = None) -> AssetFact:
        """The asset fact; ``region`` where the asset's own name says it better than the event."""
        return AssetFact(asset_id, kind, op, self.time, self.event_id, name=name, provider=provider,  # type: ignore[arg-type]
                         account=self.account, region=region or self.region,
                         actor=self.actor if op == "create" else "", flags_on=flags_on, flags_off=flags_off,
                         attributes=attributes or {})

    def edge(self, src: str, src_kind: str, kind: str, dst: str, dst_kind: str, op: str = "open", *,
             slot: str = "", detail: dict[str, Any] | None = None) -> EdgeFact:
        return EdgeFact(src, src_kind, kind, dst, dst_kind, op, self.time, self.event_id,  # type: ignore[arg-type]
                        account=self.account, slot=slot, detail=detail or {})


@dataclass(frozen=True, slots=True)
class Call(_FactMaker):
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

    def param(self, *path: str) -> Any:
        return self.record.param(*path)

    def response(self, *path: str) -> Any:
        return self.record.response(*path)

    def text(self, getter: Callable[..., Any], *path: str) -> str:
        value = getter(*path)
        return value if isinstance(value, str) else ""

    def arn(self, service: str, resource: str, *, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account if account else ''}:{resource}"


@dataclass(frozen=True, slots=True)
class AuditCall(_FactMaker):
    """One successful audit-family event (a GCP audit log entry, an Azure Activity log record): the
    normalized fields name it; ``raw`` reads the record itself where they say too little (a GCP call's
    request and response, an Azure record's result and bodies)."""

    event: dict

    @classmethod
    def of(cls, event: dict) -> AuditCall:
        return cls(event)

    @property
    def account(self) -> str:
        return self.event.get("cloud_account", "")

    @property
    def region(self) -> str:
        return self.event.get("cloud_region", "")

    @property
    def target(self) -> str:
        return self.event.get("target_resource", "")

    def raw(self, *path: str) -> Any:
        """The raw record's value at ``path``, or None. A key is also found lower-cased: data-lake
        re-exports lower-case column names (``protopayload``), and the normalizer reads them so too."""
        return _lookup(_audit_record(self.event.get("raw", "")), path)


def _lookup(node: Any, path: tuple[str, ...]) -> Any:
    """``node[path[0]][path[1]]...`` through dicts, each key as spelled or lower-cased; None where absent."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node[key] if key in node else node.get(key.lower())
    return node


@lru_cache(maxsize=1024)
def _audit_record(raw: str) -> dict[str, Any]:
    """The parsed raw record, shared read-only by the extractors that read one event (as ``ct`` does)."""
    if not raw:
        return {}
    record = orjson.loads(raw)
    return record if isinstance(record, dict) else {}


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


def execution_role(call: Call, param: str, asset_id: str, kind: str) -> list[EdgeFact]:
    """``role -> asset`` for the role the call's parameter ``param`` names (none if it names no role)."""
    role = role_arn_of(call, param)
    return [role_edge(call, role, asset_id, kind)] if role else []


def bucket_edge(call: Call, uri: Any, kind: str, asset_id: str, asset_kind: str) -> list[EdgeFact]:
    """``bucket -> asset`` of ``kind`` (training, model or knowledge-base data) for an S3 URI, with the
    URI as detail; none if it names no bucket."""
    bucket = bucket_node(uri)
    return [call.edge(bucket, "s3_bucket", kind, asset_id, asset_kind, detail={"uri": uri})] if bucket else []

"""The AI asset inventory as of a time: rows for a table or JSON, and a CycloneDX 1.6 ML-BOM.

Derived posture: a Bedrock model or agent in an account and region with no invocation-logging
configuration at that time is flagged ``invocation_logging_off``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from streams.detect.graph.facts import AI_KINDS, Asset, Graph, graph_at
from streams.detect.graph.rows import asset_facts_of_rows, edge_facts_of_rows

__all__ = ["QueryRunner", "cyclonedx", "inventory", "load_graph"]

QueryRunner = Callable[[str, dict[str, str]], tuple[list[str], list]]
"""Runs a saved query, by name, with parameters: ``(columns, rows)`` (the CLI runs it through the worker's
query endpoint or the store, ``streams.runtime.query.run_query``)."""

_LOGGED_KINDS = frozenset({"bedrock_custom_model", "bedrock_imported_model", "bedrock_provisioned_throughput",
                           "bedrock_agent", "bedrock_foundation_model"})
_MODEL_KINDS = frozenset({"bedrock_custom_model", "bedrock_imported_model", "bedrock_foundation_model",
                          "sagemaker_model", "vertex_model", "azure_openai_model"})
_DATA_KINDS = frozenset({"bedrock_knowledge_base", "bedrock_data_source"})


def load_graph(run: QueryRunner, at: datetime) -> Graph:
    """The graph as of ``at`` from the store's ``ai_assets`` and ``ai_edges`` (two saved queries)."""
    parameters = {"at": at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]}
    _, asset_rows = run("graph_asset_facts", parameters)
    _, edge_rows = run("graph_edges_as_of", parameters)
    at_ms = int(at.timestamp() * 1000)
    return graph_at(asset_facts_of_rows(asset_rows), edge_facts_of_rows(edge_rows), at_ms)


def inventory(graph: Graph) -> list[Asset]:
    """The AI assets that exist at the graph's time, with derived posture flags, by kind and id."""
    logged = {(a.account, a.region) for a in graph.of_kind("bedrock_invocation_logging")}
    assets = []
    for asset in graph.assets.values():
        if asset.kind not in AI_KINDS:
            continue
        if asset.kind in _LOGGED_KINDS and (asset.account, asset.region) not in logged:
            asset.flags.add("invocation_logging_off")
        assets.append(asset)
    return sorted(assets, key=lambda a: (a.kind, a.asset_id))


def _iso(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _component(asset: Asset) -> dict[str, Any]:
    kind = ("machine-learning-model" if asset.kind in _MODEL_KINDS else "data" if asset.kind in _DATA_KINDS
            else "application")
    properties = [{"name": "aispm:kind", "value": asset.kind}]
    for name, value in (("aispm:account", asset.account), ("aispm:region", asset.region),
                        ("aispm:created_by", asset.created_by), ("aispm:created_at", _iso(asset.created_at)),
                        ("aispm:last_used", _iso(asset.last_used)), ("aispm:evidence_event_id", asset.evidence)):
        if value:
            properties.append({"name": name, "value": value})
    properties += [{"name": "aispm:posture", "value": flag} for flag in sorted(asset.flags)]
    component: dict[str, Any] = {"type": kind, "bom-ref": asset.asset_id,
                                 "name": asset.name or asset.asset_id.rsplit("/", 1)[-1] or asset.asset_id,
                                 "description": asset.asset_id, "properties": properties}
    if asset.provider:
        component["supplier"] = {"name": asset.provider}
    if kind == "data":
        component["data"] = [{"type": "dataset", "name": component["name"]}]
    if kind == "machine-learning-model":
        component["modelCard"] = {"considerations": {"technicalLimitations": [
            f"posture: {flag}" for flag in sorted(asset.flags)]}} if asset.flags else {}
        if not component["modelCard"]:
            del component["modelCard"]
    return component


def cyclonedx(graph: Graph, *, tool_version: str) -> dict[str, Any]:
    """The inventory as a CycloneDX 1.6 ML-BOM: AI assets as components (models as
    ``machine-learning-model``, knowledge bases and data sources as ``data``), the S3 buckets they learn
    from as ``data``, lineage as ``dependencies`` (a thing depends on what it is made or fed from)."""
    assets = inventory(graph)
    components = [_component(asset) for asset in assets]
    refs = {asset.asset_id for asset in assets}
    depends: dict[str, set[str]] = {}
    buckets: set[str] = set()
    for edge in graph.edges:
        if edge.src_kind == "s3_bucket" and edge.dst in refs and edge.kind in ("training_data", "kb_data", "model_data"):
            buckets.add(edge.src)
        if edge.dst in refs and (edge.src in refs or edge.src in buckets) and edge.kind != "execution_role":
            depends.setdefault(edge.dst, set()).add(edge.src)
    for bucket in sorted(buckets):
        node = graph.node(bucket, "s3_bucket")
        name = bucket.removeprefix("arn:aws:s3:::")
        components.append({"type": "data", "bom-ref": bucket, "name": name, "data": [{"type": "dataset", "name": name}],
                           "properties": [{"name": "aispm:kind", "value": "s3_bucket"},
                                          *({"name": "aispm:posture", "value": f} for f in sorted(node.flags))]})
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"aispm:{graph.at}:{','.join(sorted(refs | buckets))}")
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": f"urn:uuid:{serial}", "version": 1,
        "metadata": {"timestamp": _iso(graph.at),
                     "tools": {"components": [{"type": "application", "name": "aispm", "version": tool_version}]},
                     "properties": [{"name": "aispm:as_of", "value": _iso(graph.at)}]},
        "components": components,
        "dependencies": [{"ref": ref, "dependsOn": sorted(on)} for ref, on in sorted(depends.items())],
    }

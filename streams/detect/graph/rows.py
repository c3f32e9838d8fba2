"""Facts <-> table rows (``ai_assets``, ``ai_edges``) and the saved queries' rows -> facts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import polars as pl

from streams.detect.graph.facts import AssetFact, EdgeFact

__all__ = ["ASSET_SCHEMA", "EDGE_SCHEMA", "asset_facts_of_rows", "asset_frame", "edge_facts_of_rows", "edge_frame"]

_TIME = pl.Datetime("ms", "UTC")
_TEXTS = pl.List(pl.String)
ASSET_SCHEMA = {"asset_id": pl.String, "kind": pl.String, "op": pl.String, "time": pl.Int64, "event_id": pl.String,
                "name": pl.String, "provider": pl.String, "account": pl.String, "region": pl.String,
                "actor": pl.String, "flags_on": _TEXTS, "flags_off": _TEXTS, "attributes": pl.String}
"""The columns of ``ai_assets`` a fact fills (``time`` in epoch ms until ``asset_frame`` casts it)."""
EDGE_SCHEMA = {"edge_id": pl.String, "src": pl.String, "src_kind": pl.String, "kind": pl.String, "dst": pl.String,
               "dst_kind": pl.String, "op": pl.String, "time": pl.Int64, "event_id": pl.String,
               "account": pl.String, "slot": pl.String, "detail": pl.String}


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value, default=str).decode() if value else ""


def asset_frame(facts: Sequence[AssetFact]) -> pl.DataFrame:
    """Asset facts as ``ai_assets`` rows, one column at a time (inserted as Arrow: no per-row encoding)."""
    return _facts_frame(facts, ASSET_SCHEMA, "attributes")


def edge_frame(facts: Sequence[EdgeFact]) -> pl.DataFrame:
    """Edge facts as ``ai_edges`` rows (see ``asset_frame``)."""
    return _facts_frame(facts, EDGE_SCHEMA, "detail")


def _facts_frame(facts: Sequence[AssetFact] | Sequence[EdgeFact], schema: dict[str, pl.DataType],
                 json_column: str) -> pl.DataFrame:
    # Each column is the fact's field of that name; the one dict field is stored as its JSON text.
    columns = {name: [getattr(fact, name) for fact in facts] for name in schema}
    columns[json_column] = [_json(value) for value in columns[json_column]]
    return pl.DataFrame(columns, schema=schema).with_columns(pl.col("time").cast(_TIME))


def _loads(text: str) -> dict[str, Any]:
    return orjson.loads(text) if text else {}


def asset_facts_of_rows(rows: Iterable[Sequence[Any]]) -> list[AssetFact]:
    """Rows of the saved query ``graph_asset_facts`` -> facts."""
    return [AssetFact(asset_id, kind, op, int(time_ms), event_id, name=name, provider=provider, account=account,
                      region=region, actor=actor, flags_on=tuple(on), flags_off=tuple(off), attributes=_loads(attributes))
            for (asset_id, kind, op, time_ms, event_id, name, provider, account, region, actor, on, off, attributes)
            in rows]


def edge_facts_of_rows(rows: Iterable[Sequence[Any]]) -> list[EdgeFact]:
    """Rows of the saved query ``graph_edges_as_of`` (one per edge: latest fact, first opening) -> the
    facts that fold to the same edges."""
    facts = []
    for (_id, src, src_kind, kind, dst, dst_kind, account, slot, last_op, last_ms, last_event, detail, first_open_ms,
         first_event) in rows:
        detail_value = _loads(detail)
        if last_op == "open" and first_event and int(first_open_ms) < int(last_ms):
            facts.append(EdgeFact(src, src_kind, kind, dst, dst_kind, "open", int(first_open_ms), first_event,
                                  account=account, slot=slot, detail=detail_value))
        facts.append(EdgeFact(src, src_kind, kind, dst, dst_kind, last_op, int(last_ms), last_event, account=account,
                              slot=slot, detail=detail_value))
    return facts

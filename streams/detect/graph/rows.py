"""Facts <-> table rows (``ai_assets``, ``ai_edges``) and the saved queries' rows -> facts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streams.detect.graph.facts import AssetFact, EdgeFact

__all__ = ["ASSET_COLUMNS", "EDGE_COLUMNS", "asset_facts_of_rows", "asset_row", "edge_facts_of_rows", "edge_row"]

ASSET_COLUMNS = ("asset_id", "kind", "op", "time", "event_id", "name", "provider", "account", "region", "actor",
                 "flags_on", "flags_off", "attributes")
EDGE_COLUMNS = ("edge_id", "src", "src_kind", "kind", "dst", "dst_kind", "op", "time", "event_id", "account", "slot",
                "detail")


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value, default=str).decode() if value else ""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def asset_row(fact: AssetFact) -> list[Any]:
    return [fact.asset_id, fact.kind, fact.op, _time(fact.time), fact.event_id, fact.name, fact.provider, fact.account,
            fact.region, fact.actor, list(fact.flags_on), list(fact.flags_off), _json(fact.attributes)]


def edge_row(fact: EdgeFact) -> list[Any]:
    return [fact.edge_id, fact.src, fact.src_kind, fact.kind, fact.dst, fact.dst_kind, fact.op, _time(fact.time),
            fact.event_id, fact.account, fact.slot, _json(fact.detail)]


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

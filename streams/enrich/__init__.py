"""Enrich: what a normalized event means for AI security — which AI service it used (the catalog,
``ai_usage``), whether that use is sanctioned (the policy) — set on the event before it lands."""

from __future__ import annotations

from streams.enrich.ai_usage import usage_of
from streams.enrich.catalog import Catalog
from streams.enrich.policy import Policy

__all__ = ["enrich_events"]


def enrich_events(events: list[dict], catalog: Catalog, policy: Policy) -> int:
    """Set the ``ai_*`` fields of AI-use events in place; returns how many were AI use."""
    found = 0
    for event in events:
        use = usage_of(event, catalog)
        if use is None:
            continue
        found += 1
        verdict = policy.evaluate(event.get("actor", ""), event.get("src_ip", ""), use.provider, use.product)
        event.update(ai_provider=use.provider, ai_product=use.product, ai_category=use.category,
                     ai_model=use.model_id, ai_sanctioned=verdict.sanctioned)
    return found

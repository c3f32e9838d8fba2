"""Running one rule module on one event, as the engine would (for tests that look at one detection)."""

from __future__ import annotations

from types import ModuleType

from schemas.finding import Finding
from streams.detect.base import RuleContext, rule_from_module
from streams.enrich.catalog import Catalog
from streams.enrich.policy import Policy


def rule_findings(module: ModuleType, event: dict, catalog: Catalog | None = None, policy: Policy | None = None,
             **context: object) -> list[Finding]:
    rule = rule_from_module(module)
    if not rule.applies_to(event):
        return []
    return rule.findings(event, RuleContext(catalog=catalog, policy=policy, **context))  # type: ignore[arg-type]

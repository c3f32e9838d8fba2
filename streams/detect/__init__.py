"""Detect: findings from normalized events, and alerts from findings.

Detection-as-code: one rule per module in ``streams.detect.rules`` (file name = rule id), each with
validated metadata, a pure ``rule(event[, context])`` and examples of both verdicts; the engine runs
them all (Sigma rules for CloudTrail load into the same engine, ``streams.detect.sigma``). Findings
become alerts in ``streams.detect.alerts``; ``streams.detect.stage`` is what the stream does with a
batch. Nothing here imports Faust, Kafka or the store. See README.md in this folder.
"""

from streams.detect.base import Example, Rule, RuleContext, RuleLoadError, RuleMeta
from streams.detect.engine import (
    Evaluation,
    RuleEngine,
    RuleError,
    discover_rules,
    evaluate,
    example_problems,
    load_rules,
)
from streams.normalize.cloudtrail_record import ct

__all__ = [
    "Evaluation", "Example", "Rule", "RuleContext", "RuleEngine", "RuleError", "RuleLoadError", "RuleMeta", "ct",
    "discover_rules", "evaluate", "example_problems", "load_rules",
]

"""AI posture and threat rules over CloudTrail, as detection-as-code.

One rule per module (file name = rule id), each with metadata, a pure ``rule(event)`` and examples;
``evaluate(event, state)`` runs them all. Sigma rules for CloudTrail load into the same engine
(``streams.rules.sigma``). See README.md in this folder.
"""

from streams.rules.base import Example, Rule, RuleLoadError, RuleMeta
from streams.rules.engine import (
    Evaluation,
    RuleEngine,
    RuleError,
    discover_rules,
    evaluate,
    example_problems,
    load_rules,
)
from streams.rules.record import ct

__all__ = [
    "Evaluation", "Example", "Rule", "RuleEngine", "RuleError", "RuleLoadError", "RuleMeta", "ct",
    "discover_rules", "evaluate", "example_problems", "load_rules",
]

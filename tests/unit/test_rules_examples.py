"""Every rule module runs its own examples: the detection-as-code contract in one test."""

from __future__ import annotations

from pathlib import Path

from streams.detect import discover_rules

MIN_RULES = 30


def test_every_rule_is_well_formed_and_its_examples_hold() -> None:
    rules = discover_rules()
    problems: list[str] = []
    for rule in rules:
        file_name = Path(rule.origin).stem
        if rule.id != file_name or rule.module_name != file_name:
            problems.append(f"{rule.id}: id differs from its file name {file_name!r}")
        if not rule.meta.attack and not rule.meta.atlas:
            problems.append(f"{rule.id}: no ATT&CK or ATLAS technique")
        if not any(example.expect for example in rule.examples):
            problems.append(f"{rule.id}: no positive example")
        if not any(not example.expect for example in rule.examples):
            problems.append(f"{rule.id}: no negative example")
        for example in rule.examples:
            verdict = rule.verdicts(example)
            if verdict is not example.expect:
                problems.append(f"{rule.id}: example {example.name!r} expected {example.expect}, got {verdict}")
            if example.expect and verdict:
                # A firing rule must also build its finding (title, context, dedup key) without error.
                state: dict[str, dict] = {}
                for event in example.events:
                    rule.matches(event, state)
                finding = rule.finding(example.events[-1], state)
                if finding.detection != rule.id or not finding.remediation or not finding.techniques:
                    problems.append(f"{rule.id}: finding for {example.name!r} lacks id, remediation or techniques")
    assert not problems, "\n".join(problems)
    assert len(rules) >= MIN_RULES, f"only {len(rules)} rules, expected at least {MIN_RULES}"

"""At-least-once delivery: a stateful rule that sees an event again must not count it twice, whether the
duplicate comes right after the original or in a replay of the whole sequence. The events that fire stay
the same ones (a rule may fire on a duplicate again: the alert ledger counts distinct events)."""

from __future__ import annotations

import pytest

from streams.detect.base import Example, Rule
from streams.detect.engine import discover_rules

STATEFUL = [rule for rule in discover_rules() if rule.stateful]
CASES = [(rule, example) for rule in STATEFUL for example in rule.examples]


def firing(rule: Rule, deliveries: list[dict]) -> list[str]:
    state: dict[str, dict] = {}
    return [event["event_id"] for event in deliveries if rule.matches(event, state)]


def test_there_are_stateful_rules_to_check() -> None:
    assert len(STATEFUL) >= 5


@pytest.mark.parametrize(("rule", "example"), CASES, ids=[f"{r.id}:{e.name}" for r, e in CASES])
def test_redelivered_events_change_no_verdict(rule: Rule, example: Example) -> None:
    once = firing(rule, list(example.events))
    twice_each = firing(rule, [event for event in example.events for _ in range(2)])
    replayed = firing(rule, list(example.events) * 2)
    assert set(twice_each) == set(once)
    assert set(replayed) == set(once)


# A redelivery repeats what the last batch or two held: at most this many events of one key.
REDELIVERED = 8


@pytest.mark.parametrize("rule", STATEFUL, ids=[rule.id for rule in STATEFUL])
def test_a_redelivery_is_not_judged_against_state_built_after_it(rule: Rule) -> None:
    """All of a rule's examples as one stream (events of one principal interleaved); at every point of
    it, the last events are delivered again before the stream goes on, as after a crash. The
    redelivered events meet state that they and later events built, and the events that fire must
    be the ones that fire without the redelivery."""
    stream = sorted((event for example in rule.examples for event in example.events), key=lambda e: e["time"])
    clean = set(firing(rule, stream))
    for cut in range(1, len(stream) + 1):
        deliveries = stream[:cut] + stream[max(0, cut - REDELIVERED):cut] + stream[cut:]
        assert set(firing(rule, deliveries)) == clean, f"redelivery after event {cut}"

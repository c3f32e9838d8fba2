"""The stream decodes only the events some rule can match (family, service, what the rule requires):
that must never cost a finding."""

from __future__ import annotations

import polars as pl
import pytest

from streams.demo import demo_policy_path, generate
from streams.detect.engine import discover_rules
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from streams.enrich.policy import Policy
from streams.normalize.batch import check_events, decode_events
from streams.runtime.ingest import BatchOutput, RawMessage, process_batch, route_frame

RULES = discover_rules()


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_every_positive_example_passes_the_prefilter(rule) -> None:
    detectors = Detectors.default((lambda: Policy.from_text(rule.example_policy)) if rule.example_policy else None)
    for example in (example for example in rule.examples if example.expect):
        events = [dict(event) for event in example.events]
        detectors.enrich(events)
        frame = check_events(events).frame
        kept = frame.filter(detectors.engine.candidates())["event_id"].to_list()
        assert events[-1]["event_id"] in kept, example.name


def _findings(values: list[bytes]) -> list[tuple[str, str]]:
    policy = Policy.from_file(demo_policy_path())
    stage = DetectionStage(detectors=Detectors.default(lambda: policy), store=MemoryDetectionStore(),
                           send_alerts=lambda messages: None, window_ms=3_600_000)
    found = []
    for start in range(0, len(values), 20):
        prepared = stage.prepare(values[start:start + 20])
        found.extend((e.alert_id, e.event_id) for e in prepared.plan.events)
        stage.commit(prepared)
    return sorted(found)


def _demo_batch() -> tuple[Detectors, BatchOutput]:
    """The demo's traffic, normalized and enriched as the worker does it."""
    policy = Policy.from_file(demo_policy_path())
    detectors = Detectors.default(lambda: policy)
    raw = [RawMessage(family, f"raw.{family}", 0, offset, value, 0)
           for family, values in generate(seed=7).items() for offset, value in enumerate(values)]
    return detectors, process_batch(raw, max_record_bytes=1 << 20, raw_cap=1 << 16, enrich=detectors.enrich)


def test_the_demo_incidents_are_found_alike_with_and_without_the_prefilter() -> None:
    import orjson

    _, out = _demo_batch()
    arrow = [message for _, message in route_frame(out.frame, partitions=4, per_message=100)]
    as_json = [orjson.dumps(out.events[start:start + 100]) for start in range(0, len(out.events), 100)]
    with_prefilter, without = _findings(arrow), _findings(as_json)
    assert len(without) > 50, "the demo's incidents must raise findings for this test to mean something"
    assert sorted(with_prefilter) == sorted(without)


def test_events_no_rule_can_match_travel_without_their_raw_record_and_nothing_is_missed() -> None:
    detectors, out = _demo_batch()
    whole = [message for _, message in route_frame(out.frame, partitions=4, per_message=100)]
    lean = [message for _, message in route_frame(out.frame, partitions=4, per_message=100,
                                                  raw_wanted=detectors.candidates())]

    rows = pl.concat([decode_events(message) for message in lean])
    assert rows.height == out.frame.height  # every event still goes: the clock reads them all
    kept = rows.filter(pl.col("raw") != "")
    assert 0 < kept.height < rows.height / 2
    assert kept.height == out.frame.filter(detectors.candidates()).height
    assert sum(map(len, lean)) < 0.75 * sum(map(len, whole))
    found = _findings(lean)
    assert len(found) > 50
    assert found == _findings(whole)

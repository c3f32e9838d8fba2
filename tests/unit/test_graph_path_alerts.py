"""A path appearing in a batch raises exactly one alert (OCSF-valid, the path as evidence, remediation
actions); redelivering the batch, in the same worker or after a restart, raises none more."""

from __future__ import annotations

import orjson
import pytest

from streams.detect.engine import discover_rules
from streams.detect.graph.alerts import PATH_ACTIONS, path_parameters
from streams.detect.graph.extract import extract_facts
from streams.detect.graph.facts import AssetFact, EdgeFact, graph_at
from streams.detect.graph.path_examples import EXAMPLES
from streams.detect.graph.paths import PATTERNS, find_paths
from streams.detect.graph.watch import PathWatch
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from tests.conftest import fresh_database_settings
from tests.ocsf_schema import schema_problems


def _stage(store, sent: list[dict]) -> DetectionStage:
    stage = DetectionStage(detectors=Detectors.default(), store=store, window_ms=3_600_000,
                           send_alerts=lambda messages: sent.extend(orjson.loads(v) for _k, v in messages))
    stage.load()
    return stage


def _path_alerts(sent: list[dict], pattern: str) -> list[dict]:
    return [a for a in sent if a["finding_info"]["analytic"]["uid"] == pattern
            and a["unmapped"]["dedup_key"].startswith("path|")]


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_a_new_path_alerts_once_and_redelivery_adds_nothing(pattern: str) -> None:
    events = [dict(event) for event in EXAMPLES[pattern][0].events]
    store, sent = MemoryDetectionStore(), []
    stage = _stage(store, sent)
    for _ in range(2):  # the batch, then the same batch redelivered to the same worker
        stage.commit(stage.prepare_events([dict(event) for event in events]))
    alerts = _path_alerts(sent, pattern)
    assert len(alerts) == 1, [a["finding_info"]["title"] for a in alerts]
    alert = alerts[0]
    assert not schema_problems(alert), schema_problems(alert)
    context = alert["unmapped"]["context"]
    assert context["pattern"] == pattern and context["nodes"] and context["edges"]
    assert alert["evidences"][0]["data"]["event_id"] in context["evidence_event_ids"] + [
        e["event_id"] for e in events]
    assert alert["unmapped"]["remediation_actions"], "a path alert carries remediation"
    # A restarted worker over the same store: the facts come back, the redelivered batch finds nothing new.
    again: list[dict] = []
    restarted = _stage(store, again)
    restarted.commit(restarted.prepare_events([dict(event) for event in events]))
    assert _path_alerts(again, pattern) == []
    rows = [row for row in store.alert_rows.values() if row["detection"] == pattern]
    # Its count is the path's lives, as when the events come one per batch (agent_admin_action's example
    # breaks its path and makes it again: two).
    assert len(rows) == 1 and [rows[0]["count"]] == list(_counts_when_read_in(events).values())


def test_the_path_alert_comes_from_the_batch_that_completes_the_path() -> None:
    events = [dict(event) for event in EXAMPLES["agent_admin_action"][0].events]
    store, sent = MemoryDetectionStore(), []
    stage = _stage(store, sent)
    raised = []
    for event in events:  # one event per batch
        before = len(_path_alerts(sent, "agent_admin_action"))
        stage.commit(stage.prepare_events([dict(event)]))
        raised.append((event["action"], len(_path_alerts(sent, "agent_admin_action")) - before))
    # the action group completes the path; detaching admin breaks it; IAMFullAccess attached makes it again
    assert raised == [("CreateFunction20150331", 0), ("AttachRolePolicy", 0), ("CreateAgent", 0),
                      ("CreateAgentActionGroup", 1), ("DetachRolePolicy", 0), ("AttachRolePolicy", 1),
                      ("DeleteAgent", 0)]
    alerts = _path_alerts(sent, "agent_admin_action")
    assert len({a["finding_info"]["uid"] for a in alerts}) == 1  # the same path, within the alert window
    assert [a["count"] for a in alerts] == [1, 2]


def test_every_pattern_has_actions_its_example_paths_fill() -> None:
    rule_ids = {rule.meta.id for rule in discover_rules()}
    assert rule_ids
    for pattern in PATTERNS:
        assert pattern not in rule_ids
        assert PATH_ACTIONS[pattern]
        example = EXAMPLES[pattern][0]
        facts = extract_facts(example.events).facts
        at = next(at for at, found in example.checks if found)
        graph = graph_at([f for f in facts if isinstance(f, AssetFact)], [f for f in facts if isinstance(f, EdgeFact)],
                         at)
        for path in find_paths(graph, patterns=[pattern]):
            assert all(path_parameters(path).values()), (pattern, path_parameters(path))


def test_the_watch_folds_a_neighbourhood_not_the_graph() -> None:
    """100k edges and 50k assets held; a batch naming one agent folds only that agent's neighbourhood."""
    assets, edges = [], []
    for n in range(50_000):
        model = f"arn:aws:sagemaker:us-east-1:1:model/m{n}"
        assets.append(AssetFact(model, "sagemaker_model", "create", 1_000 + n, f"e{n}"))
        edges.append(EdgeFact(f"arn:aws:iam::1:role/r{n % 500}", "iam_role", "execution_role", model,
                              "sagemaker_model", "open", 1_000 + n, f"e{n}", slot=f"execution_role|{model}"))
        edges.append(EdgeFact(f"arn:aws:s3:::b{n % 2000}", "s3_bucket", "model_data", model, "sagemaker_model",
                              "open", 1_000 + n, f"e{n}"))
    watch = PathWatch()
    watch.add(assets, edges)
    batch = list(EXAMPLES["agent_admin_action"][0].events[:4])
    facts = extract_facts(batch).facts
    found = watch.new_paths([f for f in facts if isinstance(f, AssetFact)], [f for f in facts if isinstance(f, EdgeFact)])
    assert [new.path.pattern for new in found] == ["agent_admin_action"]
    # What it folded is the agent's neighbourhood, none of the 150,000 facts held about other assets.
    assert watch.size == (50_000, 100_000) and sum(watch.last_folded) < 20, watch.last_folded


def test_path_alerts_survive_a_restart_over_the_real_engine(chdb_data_dir) -> None:
    from streams.runtime.store import Store

    store = Store(fresh_database_settings(chdb_data_dir))
    store.migrate()
    events = [dict(event) for event in EXAMPLES["exposed_notebook_role"][0].events]
    sent: list[dict] = []
    _stage(store, sent).commit(_stage(store, []).prepare_events([dict(e) for e in events]))
    assert len(_path_alerts(sent, "exposed_notebook_role")) == 1
    again: list[dict] = []
    restarted = _stage(store, again)  # loads the landed facts from ai_assets / ai_edges
    restarted.commit(restarted.prepare_events([dict(e) for e in events]))
    assert _path_alerts(again, "exposed_notebook_role") == []
    rows = store.client.query("SELECT count(), max(count) FROM alerts FINAL WHERE detection = {d:String}",
                              parameters={"d": "exposed_notebook_role"}).result_rows
    assert rows == [(1, 1)]
    store.close()


def _counts_when_read_in(order: list[dict]) -> dict[str, int]:
    """One event per batch in ``order``: each path alert's count at the end."""
    store, sent = MemoryDetectionStore(), []
    stage = _stage(store, sent)
    for event in order:
        stage.commit(stage.prepare_events([dict(event)]))
    counts: dict[str, int] = {}
    for alert in sent:
        if alert["unmapped"]["dedup_key"].startswith("path|"):
            counts[alert["finding_info"]["uid"]] = alert["count"]
    return counts


def _later_invocations_first() -> list[dict]:
    """The unsanctioned contractor invokes the model three times; the latest call is read first."""
    first, sanctioned = EXAMPLES["unsanctioned_invocation"][0].events
    again = [{**first, "event_id": f"{first['event_id']}-{n}", "time": first["time"] + n * 60_000} for n in (1, 2)]
    return [again[1], sanctioned, first, again[0]]


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_path_alert_counts_do_not_depend_on_the_order_facts_arrive_in(pattern: str) -> None:
    """Partitions read in another interleaving (or replayed after a restart) deliver a path's facts out of
    time order: a fact that moves a known path's start earlier is the same path, not a second alert; one
    that completes a path whose last piece was already held raises it; one that ends a path inside a life
    already known splits it in two."""
    import random

    events = sorted((dict(e) for example in EXAMPLES[pattern] for e in example.events), key=lambda e: e["time"])
    expected = _counts_when_read_in(events)
    assert expected and all(count >= 1 for count in expected.values())
    orders = [list(reversed(events))] + [random.Random(seed).sample(events, len(events)) for seed in range(12)]
    if pattern == "unsanctioned_invocation":
        orders.append(_later_invocations_first())
        assert _counts_when_read_in(sorted(_later_invocations_first(), key=lambda e: e["time"])) == expected
    for order in orders:
        assert _counts_when_read_in(order) == expected, [e["action"] for e in order]


class _CrashBeforeTheFacts(MemoryDetectionStore):
    """A store whose worker dies after the batch's alert events were recorded, before its graph facts."""

    def land_graph_facts(self, assets, edges) -> None:
        raise SystemExit("killed")


def test_a_path_alerted_before_a_crash_counts_once_when_the_replay_reads_its_facts_in_another_order() -> None:
    first, _sanctioned = EXAMPLES["unsanctioned_invocation"][0].events
    later = {**first, "event_id": f"{first['event_id']}-later", "time": first["time"] + 600_000}
    crashing = _CrashBeforeTheFacts()
    stage = _stage(crashing, [])
    with pytest.raises(SystemExit):
        stage.commit(stage.prepare_events([dict(first)]))
    # The restarted worker: the same store (the alert's event and the life's label kept, no graph facts);
    # the replay happens to read the later invocation first (another partition's batch).
    store = MemoryDetectionStore()
    store.__dict__.update(crashing.__dict__)
    sent: list[dict] = []
    restarted = _stage(store, sent)
    for batch in ([later], [first]):
        restarted.commit(restarted.prepare_events([dict(event) for event in batch]))
    rows = [row for row in store.alert_rows.values() if row["detection"] == "unsanctioned_invocation"]
    assert [row["count"] for row in rows] == [1]


def test_a_late_call_on_a_popular_model_folds_its_own_sightings_not_every_caller() -> None:
    """A model 300 identities invoke: a call read after their later calls is judged on its own edge."""
    model = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude"

    def invokes(caller: int, at: int) -> EdgeFact:
        return EdgeFact(f"arn:aws:iam::1:user/u{caller}", "iam_user", "invokes", model, "bedrock_foundation_model",
                        "open", at, f"e{caller}-{at}", detail={"sanctioned": False, "action": "InvokeModel"})

    watch = PathWatch()
    watch.add([], [invokes(n, 10_000 + n) for n in range(300)] + [invokes(n, 9_000_000 + n) for n in range(300)])
    found = watch.new_paths([], [invokes(301, 5_000)])
    assert [new.path.pattern for new in found] == ["unsanctioned_invocation"]
    assert watch.last_folded == (0, 0), watch.last_folded
    # A caller already held, read late: its own sightings only, and no new alert (the same life, begun earlier).
    assert watch.new_paths([], [invokes(7, 9_000)]) == [] and watch.last_folded == (0, 2)


def test_a_batch_over_the_fold_budget_is_judged_at_its_own_moments(monkeypatch, caplog) -> None:
    import logging

    from streams.detect.graph import watch as watch_module

    events = [dict(event) for event in EXAMPLES["exposed_notebook_role"][0].events]
    facts = extract_facts(events).facts
    assets = [f for f in facts if isinstance(f, AssetFact)]
    edges = [f for f in facts if isinstance(f, EdgeFact)]
    monkeypatch.setattr(watch_module, "FOLD_BUDGET", 1)
    with caplog.at_level(logging.WARNING):
        found = PathWatch().new_paths(assets, edges)
    assert [new.path.pattern for new in found] == ["exposed_notebook_role"]
    assert "over the budget" in caplog.text

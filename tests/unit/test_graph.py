"""The AI asset graph: every extractor's and path pattern's examples, the fold as of a time, and the
stage landing facts in the real engine idempotently (a redelivered batch changes nothing)."""

from __future__ import annotations

import pytest

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.extract import compact, discover_extractors, example_problems, extract_facts
from streams.detect.graph.facts import AssetFact, EdgeFact, graph_at
from streams.detect.graph.path_examples import EXAMPLES, moment
from streams.detect.graph.paths import PATTERNS, find_paths
from tests.conftest import fresh_database_settings

EXTRACTORS = discover_extractors()


def split(facts):
    return [f for f in facts if isinstance(f, AssetFact)], [f for f in facts if isinstance(f, EdgeFact)]


@pytest.mark.parametrize("extractor", EXTRACTORS, ids=[e.id for e in EXTRACTORS])
def test_extractor_examples(extractor) -> None:
    assert extractor.module.rsplit(".", 1)[1] == extractor.id
    assert example_problems(extractor) == []


def test_every_pattern_has_examples_and_each_check_holds() -> None:
    assert set(EXAMPLES) == set(PATTERNS)
    for pattern_id, examples in EXAMPLES.items():
        assert examples, pattern_id
        for example in examples:
            assets, edges = split(extract_facts(example.events).facts)
            verdicts = {found for _at, found in example.checks}
            assert verdicts == {True, False}, (pattern_id, example.name, "needs a moment with and one without")
            for at, expected in example.checks:
                found = find_paths(graph_at(assets, edges, at), patterns=[pattern_id])
                assert bool(found) == expected, (pattern_id, example.name, at)


def test_a_failed_call_creates_nothing_and_a_recreated_asset_lives_again() -> None:
    params = {"notebookInstanceName": "exp", "directInternetAccess": "Enabled"}
    events = [cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com", params=params, error="AccessDenied"),
              cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com", params=params, at=10),
              cloudtrail("DeleteNotebookInstance", "sagemaker.amazonaws.com", params=params, at=20),
              cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com",
                         params={**params, "directInternetAccess": "Disabled", "subnetId": "s", "kmsKeyId": "k"}, at=30)]
    notebook = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/exp"
    assets, edges = split(extract_facts(events[:1]).facts)
    assert assets == [] and edges == []
    assets, edges = split(extract_facts(events).facts)
    assert notebook not in graph_at(assets, edges, moment(5)).assets
    assert "direct_internet" in graph_at(assets, edges, moment(15)).assets[notebook].flags
    assert notebook not in graph_at(assets, edges, moment(25)).assets
    again = graph_at(assets, edges, moment(35)).assets[notebook]
    assert again.flags == {"root_access"} and again.created_at == moment(30)


def test_a_new_slot_holder_closes_the_old_edge() -> None:
    create = cloudtrail("CreateEndpoint", "sagemaker.amazonaws.com",
                        params={"endpointName": "e", "endpointConfigName": "one"}, at=0)
    update = cloudtrail("UpdateEndpoint", "sagemaker.amazonaws.com",
                        params={"endpointName": "e", "endpointConfigName": "two"}, at=60)
    assets, edges = split(extract_facts([update, create]).facts)  # order of arrival does not matter
    configs = [e.src.rsplit("/", 1)[1] for e in graph_at(assets, edges, moment(30)).edges]
    assert configs == ["one"]
    assert [e.src.rsplit("/", 1)[1] for e in graph_at(assets, edges, moment(90)).edges] == ["two"]


def test_runtime_sightings_compact_to_first_and_last() -> None:
    events = [cloudtrail("InvokeModel", params={"modelId": "amazon.nova-lite-v1:0"}, at=second)
              for second in range(50)]
    facts = compact(extract_facts(events).facts)
    assets, edges = split(facts)
    assert len(assets) == 1 and assets[0].time == moment(49)
    assert sorted(e.time for e in edges) == [moment(0), moment(49)]
    edge = graph_at(assets, edges, moment(100)).edges[0]
    assert (edge.valid_from, edge.last_seen) == (moment(0), moment(49))


def _stage(store):
    from streams.detect.pipeline import Detectors
    from streams.detect.stage import DetectionStage

    return DetectionStage(detectors=Detectors.default(), store=store, send_alerts=lambda _m: None,
                          window_ms=3_600_000)


def test_stage_lands_facts_once_under_redelivery(chdb_data_dir) -> None:
    from streams.detect.graph.rows import asset_facts_of_rows, edge_facts_of_rows
    from streams.runtime.queries import load_saved_query
    from streams.runtime.store import Store

    store = Store(fresh_database_settings(chdb_data_dir))
    store.migrate()
    stage = _stage(store)
    stage.load()
    events = [event for example in EXAMPLES["agent_admin_action"] for event in example.events]
    for _ in range(2):  # the same batch twice: a redelivery
        stage.commit(stage.prepare_events([dict(event) for event in events]))
    counts = {table: store.client.query(f"SELECT count() FROM {table} FINAL").result_rows[0][0]
              for table in ("ai_assets", "ai_edges")}
    single, _ = split(extract_facts(events).facts)
    assert counts["ai_assets"] == len(single)
    at = "2100-01-01 00:00:00"
    assets = asset_facts_of_rows(store.query(load_saved_query("graph_asset_facts").sql, {"at": at})[1])
    edges = edge_facts_of_rows(store.query(load_saved_query("graph_edges_as_of").sql, {"at": at})[1])
    for at_ms, expected in EXAMPLES["agent_admin_action"][0].checks:
        assert bool(find_paths(graph_at(assets, edges, at_ms), patterns=["agent_admin_action"])) == expected
    store.close()

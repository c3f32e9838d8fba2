"""The AI asset graph built from replayed CloudTrail the way the stream builds it (normalize, enrich,
``DetectionStage`` over the real engine): the demo's path incidents found by ``aispm paths --at`` while
they exist and not before or after, and the Stratus Red Team recordings' AI assets as rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.demo import demo_policy_path, generate_labelled
from streams.demo.incidents import (
    agent_refund_lambda_admin,
    fine_tune_bucket_opened,
    notebook_on_training_role,
    provisioned_model_unsanctioned_use,
)
from streams.detect.offline import normalized_batches
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage
from streams.enrich.policy import Policy
from streams.runtime.store import Store
from tests.conftest import dataset, fresh_database_settings

# One store per source and a dozen in-process CLI runs against it.
pytestmark = pytest.mark.integration

_S = 1_000


def _ms(at_us: int) -> int:
    return at_us // 1_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _replay(data_dir: Path, files: list[Path], detectors: Detectors) -> tuple[Store, dict[str, str], list[dict]]:
    """The files' CloudTrail through the stream's normalize + enrich and detection stage into a fresh database."""
    settings = fresh_database_settings(data_dir)
    store = Store(settings)
    store.migrate()
    alerts: list[dict] = []
    stage = DetectionStage(detectors=detectors, store=store, window_ms=3_600_000,
                           send_alerts=lambda messages: alerts.extend(json.loads(v) for _k, v in messages))
    stage.load()
    for batch in normalized_batches("cloudtrail", files, detectors, batch_size=200):
        stage.commit(stage.prepare_events(batch.events))
    return store, {"AISPM_DATA_DIR": str(data_dir), "AISPM_CLICKHOUSE__DATABASE": settings.clickhouse.database}, alerts


@pytest.fixture(scope="module")
def demo(chdb_data_dir, tmp_path_factory):
    records = [record.value for record in generate_labelled() if record.family == "cloudtrail"]
    path = tmp_path_factory.mktemp("demo") / "cloudtrail.jsonl"
    path.write_bytes(b"\n".join(records) + b"\n")
    policy = Policy.from_file(demo_policy_path())
    store, env, alerts = _replay(chdb_data_dir, [path], Detectors.default(policy=lambda: policy))
    yield store, env, alerts
    store.close()


# pattern -> (a node only its incident's path has, when the path's last piece lands, when a piece goes)
DEMO_PATHS = {
    "exposed_training_data": ("arn:aws:s3:::globex-support-finetune", _ms(fine_tune_bucket_opened.OPENED_AT),
                              _ms(fine_tune_bucket_opened.CLOSED_AT)),
    "agent_admin_action": (agent_refund_lambda_admin.FUNCTION_ARN, _ms(agent_refund_lambda_admin.COMPLETED_AT),
                           _ms(agent_refund_lambda_admin.BROKEN_AT)),
    "unsanctioned_invocation": (provisioned_model_unsanctioned_use.PROVISIONED_ARN,
                                _ms(provisioned_model_unsanctioned_use.FIRST_CALL_AT),
                                _ms(provisioned_model_unsanctioned_use.DELETED_AT)),
    "exposed_notebook_role": (notebook_on_training_role.NOTEBOOK_ARN, _ms(notebook_on_training_role.CREATED_AT),
                              _ms(notebook_on_training_role.DELETED_AT)),
}


def _paths_at(env: dict[str, str], pattern: str, at_ms: int) -> list[dict]:
    result = CliRunner().invoke(main, ["paths", "--at", _iso(at_ms), "--pattern", pattern, "--format", "json"],
                                env=env)
    assert result.exit_code in (0, 3), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("pattern", sorted(DEMO_PATHS))
def test_demo_path_found_while_it_exists_and_not_before_or_after(demo, pattern: str) -> None:
    _store, env, _alerts = demo
    node, created, removed = DEMO_PATHS[pattern]
    for at_ms, expected in ((created - _S, False), (created, True), (created + 60 * _S, True), (removed - _S, True),
                            (removed + _S, False)):
        found = [path for path in _paths_at(env, pattern, at_ms) if node in {n["id"] for n in path["nodes"]}]
        assert bool(found) == expected, (pattern, _iso(at_ms), found)


def test_demo_assets_and_edges_rows(demo) -> None:
    store, _env, _alerts = demo
    assets = {(kind, op, asset_id) for asset_id, kind, op in store.client.query(
        "SELECT asset_id, kind, op FROM ai_assets FINAL WHERE op != 'use'").result_rows}
    expected_assets = {
        ("bedrock_customization_job", "create", fine_tune_bucket_opened.JOB_ARN),
        ("bedrock_custom_model", "create", "arn:aws:bedrock:us-east-1:493817264053:custom-model/support-tone-v2"),
        ("s3_bucket", "update", "arn:aws:s3:::globex-support-finetune"),
        ("lambda_function", "create", agent_refund_lambda_admin.FUNCTION_ARN),
        ("iam_role", "update", agent_refund_lambda_admin.ROLE_ARN),
        ("bedrock_agent", "create", agent_refund_lambda_admin.AGENT_ARN),
        ("bedrock_action_group", "create", f"{agent_refund_lambda_admin.AGENT_ARN}/action-group/HZ3M8PQ1VD"),
        ("bedrock_provisioned_throughput", "create", provisioned_model_unsanctioned_use.PROVISIONED_ARN),
        ("bedrock_provisioned_throughput", "delete", provisioned_model_unsanctioned_use.PROVISIONED_ARN),
        ("sagemaker_training_job", "create", notebook_on_training_role.JOB_ARN),
        ("sagemaker_notebook", "create", notebook_on_training_role.NOTEBOOK_ARN),
        ("sagemaker_notebook", "delete", notebook_on_training_role.NOTEBOOK_ARN),
        # the demo's other incidents
        ("sagemaker_notebook", "create", "arn:aws:sagemaker:us-east-1:493817264053:notebook-instance/li-llm-experiments"),
        ("bedrock_guardrail", "delete", "arn:aws:bedrock:us-east-1:493817264053:guardrail/q7x2m9k4w1zt"),
    }
    assert expected_assets <= assets, sorted(expected_assets - assets)
    flags = dict(store.client.query(
        "SELECT asset_id, groupUniqArrayArray(flags_on) FROM ai_assets FINAL GROUP BY asset_id").result_rows)
    assert "cross_account_write" in flags["arn:aws:s3:::globex-support-finetune"]
    assert "admin:arn:aws:iam::aws:policy/AdministratorAccess" in flags[agent_refund_lambda_admin.ROLE_ARN]
    assert "direct_internet" in flags[notebook_on_training_role.NOTEBOOK_ARN]
    edges = {(src, kind, dst) for src, kind, dst in store.client.query(
        "SELECT src, kind, dst FROM ai_edges FINAL").result_rows}
    assert {
        ("arn:aws:s3:::globex-support-finetune", "training_data", fine_tune_bucket_opened.JOB_ARN),
        (agent_refund_lambda_admin.AGENT_ARN, "has_action_group",
         f"{agent_refund_lambda_admin.AGENT_ARN}/action-group/HZ3M8PQ1VD"),
        (agent_refund_lambda_admin.ROLE_ARN, "execution_role", agent_refund_lambda_admin.FUNCTION_ARN),
        (notebook_on_training_role.ROLE_ARN, "execution_role", notebook_on_training_role.NOTEBOOK_ARN),
        (notebook_on_training_role.ROLE_ARN, "execution_role", notebook_on_training_role.JOB_ARN),
    } <= edges
    sanctioned = store.client.query(
        "SELECT detail FROM ai_edges FINAL WHERE kind = 'invokes' AND dst = {dst:String}",
        parameters={"dst": provisioned_model_unsanctioned_use.PROVISIONED_ARN}).result_rows
    assert sanctioned and all(json.loads(detail)["sanctioned"] is False for (detail,) in sanctioned)


# --- Stratus Red Team detonations ----------------------------------------------------------------------

_STRATUS = "stratus-red-team-detonation-logs"


@pytest.fixture(scope="module")
def stratus(chdb_data_dir):
    files = sorted(dataset(_STRATUS).glob("aws.*.json"))
    assert len(files) == 35
    store, _env, _alerts = _replay(chdb_data_dir, files, Detectors.default())
    yield store
    store.close()


def test_stratus_recordings_build_the_expected_assets(stratus) -> None:
    rows = {(kind, op, asset_id, tuple(flags)) for kind, op, asset_id, flags in stratus.client.query(
        "SELECT kind, op, asset_id, flags_on FROM ai_assets FINAL").result_rows}
    claude = "arn:aws:bedrock:megov-northeast-1r::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0"
    assert rows == {
        ("bedrock_foundation_model", "use", claude, ()),
        ("iam_role", "update", "arn:aws:iam::609418236337:role/stratus-red-team-malicious-iam-role",
         ("admin:arn:aws:iam::aws:policy/AdministratorAccess",)),
        ("lambda_function", "update",
         "arn:aws:lambda:eugov-eastcentral-1r:712967571683:function:stratus-red-team-lambda-layer-simpleLambda", ()),
    }
    edges = stratus.client.query("SELECT src, kind, dst, op FROM ai_edges FINAL").result_rows
    assert [tuple(edge) for edge in edges] == [
        ("arn:aws:sts::494659789341:assumed-role/test-role/cli", "invokes", claude, "open")]

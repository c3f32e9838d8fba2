"""`aispm paths` and `aispm inventory` against the real engine: every pattern's example events landed by
the detection stage, each path found at a moment it existed and not before or after; the inventory as
a CycloneDX ML-BOM that validates against the CycloneDX 1.6 JSON schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.detect.graph.path_examples import EXAMPLES, moment
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage
from streams.runtime.store import Store
from tests.conftest import fresh_database_settings

# Each pattern's store and a dozen CLI runs, each opening the store: ~35 s on two cores.
pytestmark = pytest.mark.integration


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@pytest.fixture(scope="module")
def stores(chdb_data_dir) -> dict[str, dict[str, str]]:
    """One database per pattern, holding that pattern's example events as the stage landed them."""
    envs = {}
    for pattern, examples in EXAMPLES.items():
        settings = fresh_database_settings(chdb_data_dir)
        store = Store(settings)
        store.migrate()
        stage = DetectionStage(detectors=Detectors.default(), store=store, send_alerts=lambda _m: None,
                               window_ms=3_600_000)
        stage.load()
        stage.commit(stage.prepare_events([dict(event) for event in examples[0].events]))
        store.close()
        envs[pattern] = {"AISPM_DATA_DIR": str(chdb_data_dir), "AISPM_CLICKHOUSE__DATABASE": settings.clickhouse.database}
    return envs


@pytest.mark.parametrize("pattern", sorted(EXAMPLES))
def test_paths_found_while_they_exist_and_not_otherwise(stores, pattern: str) -> None:
    for at_ms, expected in EXAMPLES[pattern][0].checks:
        result = CliRunner().invoke(main, ["paths", "--at", _iso(at_ms), "--format", "json"], env=stores[pattern])
        assert result.exit_code == (3 if expected else 0), (pattern, at_ms, result.output)
        found = [path["pattern"] for path in json.loads(result.stdout)]
        assert (pattern in found) == expected, (pattern, at_ms, found)


def test_paths_filter_by_end_kinds(stores) -> None:
    env = stores["exposed_notebook_role"]
    at = _iso(moment(121))
    assert CliRunner().invoke(main, ["paths", "--at", at, "--from", "sagemaker_notebook"], env=env).exit_code == 3
    assert CliRunner().invoke(main, ["paths", "--at", at, "--from", "s3_bucket"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["paths", "--pattern", "nope"], env=env)
    assert result.exit_code == 2 and "unknown pattern" in result.output


def test_inventory_as_of_a_time_and_as_cyclonedx(stores) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    env = stores["agent_admin_action"]
    before = CliRunner().invoke(main, ["inventory", "--at", _iso(moment(-10)), "--format", "json"], env=env)
    assert before.exit_code == 0 and json.loads(before.stdout) == []
    during = json.loads(CliRunner().invoke(main, ["inventory", "--at", _iso(moment(200)), "--format", "json"],
                                           env=env).stdout)
    kinds = {asset["kind"]: asset for asset in during}
    assert set(kinds) == {"bedrock_agent", "bedrock_action_group"}
    assert {"no_guardrail", "invocation_logging_off"} <= set(kinds["bedrock_agent"]["flags"])
    assert kinds["bedrock_agent"]["created_at"] == moment(60)
    after = json.loads(CliRunner().invoke(main, ["inventory", "--at", _iso(moment(1000)), "--format", "json"],
                                          env=env).stdout)
    assert "bedrock_agent" not in {asset["kind"] for asset in after}
    for pattern, at in (("agent_admin_action", moment(200)), ("exposed_training_data", moment(200))):
        result = CliRunner().invoke(main, ["inventory", "--at", _iso(at), "--format", "cyclonedx"], env=stores[pattern])
        assert result.exit_code == 0, result.output
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.stdout) is None
        bom = json.loads(result.stdout)
        assert bom["bomFormat"] == "CycloneDX" and bom["components"]
    types = {c["type"] for c in bom["components"]}
    assert {"data", "application"} <= types
    assert any(dep["dependsOn"] for dep in bom["dependencies"])
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str('{"bomFormat": "CycloneDX", "specVersion": "1.6", '
                                                                 '"version": 1, "components": [{"type": "nope"}]}')

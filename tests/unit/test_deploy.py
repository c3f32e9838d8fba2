"""deploy/: the compose file, its env-file examples, the image and the operations note.

No Docker engine is needed. The YAML is checked with PyYAML; when Debian's `docker-compose` (v1) is
installed (`apt-get install docker-compose`), `docker-compose config -q` validates it as Compose does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from pydantic import BaseModel

from streams.settings import OpsSettings, Settings, load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLES = {
    "aispm.env": DEPLOY / "aispm.env.example",
    "clickhouse.env": DEPLOY / "clickhouse.env.example",
    "grafana.env": DEPLOY / "grafana.env.example",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE|_KEY$|API_KEY", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {str(key): str(value) for key, value in environment.items()}


def _env_file(path: Path, *, include_commented: bool = False) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if include_commented:
            line = line.lstrip("# ")
        elif line.startswith("#"):
            continue
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def test_the_services_and_their_images(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "clickhouse", "aispm", "aispm-migrate", "prometheus", "grafana"}
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", services["kafka"]["image"])
    assert re.fullmatch(r"clickhouse/clickhouse-server:\d+\.\d+", services["clickhouse"]["image"])
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", services["prometheus"]["image"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", services["grafana"]["image"])
    for name in ("aispm", "aispm-migrate"):
        assert services[name]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert services["aispm"]["command"] == ["up"]
    assert services["aispm-migrate"]["command"] == ["db", "migrate"]
    assert services["aispm-migrate"]["restart"] == "no"


def test_kafka_runs_in_kraft_mode_as_one_node(compose: dict) -> None:
    environment = _environment(compose["services"]["kafka"])
    assert set(environment["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert environment["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert environment["CLUSTER_ID"]
    assert not any("ZOOKEEPER" in key for key in environment)
    assert "INTERNAL://kafka:9092" in environment["KAFKA_ADVERTISED_LISTENERS"]


def test_long_running_services_have_healthchecks_and_start_in_order(compose: dict) -> None:
    services = compose["services"]
    for name in ("kafka", "clickhouse", "aispm", "prometheus", "grafana"):
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1, name
        assert check["interval"] and check["retries"] >= 3, name
    assert services["aispm"]["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "clickhouse": {"condition": "service_healthy"},
        "aispm-migrate": {"condition": "service_completed_successfully"},
    }
    assert services["aispm-migrate"]["depends_on"] == {"clickhouse": {"condition": "service_healthy"}}


def test_no_secret_value_is_written_in_the_compose_file(compose: dict) -> None:
    for name, service in compose["services"].items():
        for key in _environment(service):
            assert not SECRET_NAME.search(key), f"{name}: {key} belongs in an env file"
    text = COMPOSE.read_text()
    assert not re.search(r"(?i)(password|secret|token)\s*[:=]\s*['\"]?[^\s'\",]{3,}", text)
    for example in ENV_EXAMPLES.values():
        for key, value in _env_file(example).items():
            if SECRET_NAME.search(key):
                assert value not in text, f"{key}'s example value appears in compose.yaml"
    assert compose["services"]["aispm"]["env_file"] == ["aispm.env"]
    assert compose["services"]["aispm-migrate"]["env_file"] == ["aispm.env"]
    assert compose["services"]["clickhouse"]["env_file"] == ["clickhouse.env"]
    assert compose["services"]["grafana"]["env_file"] == ["grafana.env"]


def test_env_examples_hold_placeholders_and_real_env_files_are_ignored() -> None:
    for example in ENV_EXAMPLES.values():
        secrets = {key: value for key, value in _env_file(example).items() if SECRET_NAME.search(key)}
        assert secrets, example.name
        assert all(value.startswith("change-me") for value in secrets.values()), secrets
    aispm = _env_file(ENV_EXAMPLES["aispm.env"])
    clickhouse = _env_file(ENV_EXAMPLES["clickhouse.env"])
    assert aispm["AISPM_CLICKHOUSE__USERNAME"] == clickhouse["CLICKHOUSE_USER"]
    grafana = _env_file(ENV_EXAMPLES["grafana.env"])
    assert grafana["CLICKHOUSE_ANALYST_PASSWORD"] == clickhouse["CLICKHOUSE_ANALYST_PASSWORD"]
    ignored = (DEPLOY / ".gitignore").read_text().split()
    assert "*.env" in ignored and "!*.env.example" in ignored


def _setting_exists(variable: str) -> bool:
    model: type[BaseModel] = Settings
    parts = variable.removeprefix("AISPM_").lower().split("__")
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if index < len(parts) - 1:
            model = field.annotation  # type: ignore[assignment]
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                return False
    return True


def test_every_aispm_variable_in_deploy_names_a_real_setting() -> None:
    # pydantic-settings ignores unknown variables, so a typo here would silently do nothing.
    texts = [
        COMPOSE.read_text(),
        ENV_EXAMPLES["aispm.env"].read_text(),
        (DEPLOY / "OPERATIONS.md").read_text(),
    ]
    variables = {name.rstrip("_") for text in texts for name in re.findall(r"AISPM_[A-Z0-9_]+", text)}
    variables.discard("AISPM")
    assert len(variables) >= 12
    unknown = sorted(name for name in variables if not _setting_exists(name))
    assert not unknown, unknown


def test_compose_environment_and_env_example_build_valid_settings(compose: dict, monkeypatch) -> None:
    for key in [key for key in os.environ if key.startswith("AISPM_")]:
        monkeypatch.delenv(key)
    environment = {**_env_file(ENV_EXAMPLES["aispm.env"]), **_environment(compose["services"]["aispm"])}
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.kafka.security_protocol == "PLAINTEXT"
    assert settings.clickhouse.dsn == "http://clickhouse:8123"
    assert settings.clickhouse.username == "aispm"
    assert settings.clickhouse.password is not None
    assert settings.clickhouse.password.get_secret_value() == environment["AISPM_CLICKHOUSE__PASSWORD"]
    assert str(settings.data_dir) == "/var/lib/aispm"
    assert settings.query.port == 18123
    assert settings.topic("raw.cloudtrail") == "aispm.raw.cloudtrail"
    # The commented-out SASL/TLS lines of the example are valid too once uncommented.
    commented = _env_file(ENV_EXAMPLES["aispm.env"], include_commented=True)
    for key, value in commented.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AISPM_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    secured = load_settings()
    assert secured.kafka.sasl_mechanism == "SCRAM-SHA-512"
    assert secured.kafka.sasl_password is not None


def test_dockerfile_builds_from_python_slim_and_runs_as_a_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert "pip wheel --wheel-dir /wheels ." in text and "pip install --no-index" in text
    assert re.search(r"^USER aispm$", text, re.MULTILINE)
    assert 'ENTRYPOINT ["aispm"]' in text and 'CMD ["up"]' in text
    # Everything is excluded first, then only the package sources are let back in (no .venv, var, .git).
    patterns = [
        line
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert patterns[0] == "**"
    assert {pattern for pattern in patterns if pattern.startswith("!")} <= {
        "!pyproject.toml",
        "!README.md",
        "!LICENSE",
        "!NOTICE",
        "!streams/**",
        "!schemas/**",
        "!models/**",
        "!sql/**",
    }


def test_operations_note_covers_the_runbook_topics() -> None:
    headings = {
        line[3:].strip().lower()
        for line in (DEPLOY / "OPERATIONS.md").read_text().splitlines()
        if line.startswith("## ")
    }
    for topic in (
        "starting",
        "scaling workers",
        "backfill",
        "dead letters",
        "secrets",
        "upgrades and migrations",
        "what to monitor",
    ):
        assert topic in headings, topic


def _compose_copy(root: Path, compose_text: str) -> Path:
    (root / "deploy").mkdir(parents=True)
    (root / "deploy" / "compose.yaml").write_text(compose_text)
    for name, example in ENV_EXAMPLES.items():
        shutil.copyfile(example, root / "deploy" / name)
    return root


def _docker_compose_config(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "-f", "deploy/compose.yaml", "config", "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose not installed (Debian package: docker-compose)",
)
def test_docker_compose_validates_the_file(tmp_path: Path) -> None:
    # A copy with the env-file examples in place: Compose insists the env files exist.
    good = _compose_copy(tmp_path / "good", COMPOSE.read_text())
    result = _docker_compose_config(good)
    assert result.returncode == 0, result.stderr
    # The validator really validates: a wrong type is refused.
    broken = COMPOSE.read_text().replace("retries: 12", "retries: twelve", 1)
    result = _docker_compose_config(_compose_copy(tmp_path / "broken", broken))
    assert result.returncode != 0 and "retries" in result.stderr


def test_every_file_the_compose_file_mounts_is_shipped(compose: dict) -> None:
    mounts = [volume.split(":")[0] for service in compose["services"].values()
              for volume in service.get("volumes", []) if volume.startswith("./")]
    assert len(mounts) >= 4
    for mount in mounts:
        assert (DEPLOY / mount).exists(), mount


def test_prometheus_scrapes_the_workers_ops_endpoint(compose: dict) -> None:
    environment = _environment(compose["services"]["aispm"])
    assert environment["AISPM_OPS__HOST"] == "0.0.0.0"
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "aispm"]
    assert job["metrics_path"] == "/metrics"
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["aispm"] and discovery["port"] == OpsSettings().port
    assert "aispm" in compose["services"]  # the name the compose network's DNS answers for every replica


def test_grafana_reads_clickhouse_as_the_read_only_analyst(compose: dict) -> None:
    provisioned = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "aispm.yaml").read_text())
    sources = {source["uid"]: source for source in provisioned["datasources"]}
    clickhouse = sources["aispm-clickhouse"]
    assert clickhouse["type"] == "grafana-clickhouse-datasource"
    assert compose["services"]["grafana"]["environment"]["GF_PLUGINS_PREINSTALL"] == clickhouse["type"]
    assert clickhouse["jsonData"]["host"] == "clickhouse" and clickhouse["jsonData"]["port"] == 8123
    assert clickhouse["jsonData"]["username"] == "analyst"
    assert clickhouse["jsonData"]["defaultDatabase"] == _environment(
        compose["services"]["aispm"])["AISPM_CLICKHOUSE__DATABASE"]
    # The password is the env file's, interpolated by Grafana: no value in the provisioning file.
    variable = clickhouse["secureJsonData"]["password"].removeprefix("$")
    assert variable in _env_file(ENV_EXAMPLES["grafana.env"])
    assert sources["aispm-prometheus"]["url"] == "http://prometheus:9090"
    dashboards = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "aispm.yaml").read_text())
    path = dashboards["providers"][0]["options"]["path"]
    assert f"./grafana/dashboards:{path}:ro" in compose["services"]["grafana"]["volumes"]


def test_analyst_user_xml_is_read_only_and_limited_to_the_aispm_database() -> None:
    root = ElementTree.parse(DEPLOY / "clickhouse" / "users.d" / "analyst.xml").getroot()
    assert root.tag == "clickhouse"
    user = root.find("users/analyst")
    password = user.find("password")
    assert password.text is None and password.get("from_env") == "CLICKHOUSE_ANALYST_PASSWORD"
    assert "CLICKHOUSE_ANALYST_PASSWORD" in _env_file(ENV_EXAMPLES["clickhouse.env"])
    assert [query.text for query in user.findall("grants/query")] == ["GRANT SELECT ON aispm.*"]
    profile = root.find(f"profiles/{user.find('profile').text}")
    assert profile.find("readonly").text == "1"
    # Grafana's client sets max_execution_time on every query: changeable in readonly mode, bounded.
    constraint = profile.find("constraints/max_execution_time")
    assert constraint.find("changeable_in_readonly") is not None and int(constraint.find("max").text) <= 600
    assert root.find(f"quotas/{user.find('quota').text}") is not None

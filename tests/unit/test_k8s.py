"""deploy/k8s: every manifest validates against the official Kubernetes API schemas (kubernetes-validate's
bundled JSON schemas, strict: unknown fields are refused), and the wiring a schema cannot see is checked
here: probes on the ops port, secrets only by reference, a hardened pod, settings that load.

Not shown here (no cluster): that the pods start, pass their probes and are scraped.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from streams.settings import OpsSettings, Settings, load_settings
from tests.unit.test_deploy import SECRET_NAME, _setting_exists

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
# The oldest Kubernetes release still maintained when this was written, and the newest the package knows.
VERSIONS = ("1.32", kubernetes_validate.latest_version())
CRD_KINDS = {"ServiceMonitor"}


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in _documents(path):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def _pod(manifests: dict, kind: str, name: str) -> dict:
    return manifests[(kind, name)]["spec"]["template"]["spec"]


def test_every_manifest_validates_against_the_kubernetes_schemas(manifests: dict) -> None:
    assert {kind for kind, _ in manifests} >= {"Deployment", "Job", "ConfigMap", "Service", "Secret",
                                               "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"}
    for (kind, name), doc in manifests.items():
        if kind in CRD_KINDS:
            continue
        for version in VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)
    # The validator really validates: a wrong type and an unknown field are refused.
    worker = copy.deepcopy(manifests[("Deployment", "aispm-worker")])
    worker["spec"]["replicas"] = "four"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(worker, VERSIONS[-1], strict=True)
    worker = copy.deepcopy(manifests[("Deployment", "aispm-worker")])
    worker["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(worker, VERSIONS[-1], strict=True)


def test_kustomization_lists_every_resource_but_the_optional_ones() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    optional = {"secrets.example.yaml", "servicemonitor.yaml"}
    present = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present - optional
    assert kustomization["namespace"] == "aispm"
    assert [image["name"] for image in kustomization["images"]] == ["aispm"]


def test_worker_probes_ports_and_scrape_annotations(manifests: dict) -> None:
    deployment = manifests[("Deployment", "aispm-worker")]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    port = OpsSettings().port
    assert container["ports"] == [{"name": "ops", "containerPort": port, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["args"] == ["up"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                           "prometheus.io/path": "/metrics"}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    service = manifests[("Service", "aispm-worker-metrics")]
    assert service["spec"]["selector"] == labels and service["spec"]["ports"][0]["targetPort"] == "ops"
    monitor = manifests[("ServiceMonitor", "aispm-worker")]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    assert manifests[("PodDisruptionBudget", "aispm-worker")]["spec"]["selector"]["matchLabels"] == labels


def test_worker_replicas_within_partitions_and_grace_beyond_shutdown(manifests: dict) -> None:
    config = manifests[("ConfigMap", "aispm-config")]["data"]
    deployment = manifests[("Deployment", "aispm-worker")]
    assert 1 <= deployment["spec"]["replicas"] <= int(config["AISPM_KAFKA__PARTITIONS"])
    pod = deployment["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > float(config["AISPM_SHUTDOWN_TIMEOUT_S"])
    (container,) = pod["containers"]
    # As many normalizing processes as whole CPUs in the limit (a pod sees the node's cores otherwise).
    assert int(config["AISPM_INGEST__NORMALIZE_PROCESSES"]) == int(container["resources"]["limits"]["cpu"])


@pytest.mark.parametrize(("kind", "name"), [("Deployment", "aispm-worker"), ("Job", "aispm-migrate")])
def test_pods_are_hardened_and_read_secrets_only_by_reference(manifests: dict, kind: str, name: str) -> None:
    pod = _pod(manifests, kind, name)
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    writable = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                           "capabilities": {"drop": ["ALL"]}}
        assert {"requests", "limits"} <= set(container["resources"])
        # A read-only root: the data dir and /tmp are the only writable places.
        mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
        assert {mounts["/var/lib/aispm"]["name"], mounts["/tmp"]["name"]} <= writable
        for variable in container.get("env", []):
            assert "value" not in variable or not SECRET_NAME.search(variable["name"]), variable["name"]
            if SECRET_NAME.search(variable["name"]):
                assert variable["valueFrom"]["secretKeyRef"]["name"] == "aispm-secrets"
    for volume in pod["volumes"]:
        if "secret" in volume:  # readable by the pod's group (fsGroup), by nobody else
            assert volume["secret"]["defaultMode"] == 0o440


def test_configmap_holds_no_secret_and_builds_valid_settings(manifests: dict, monkeypatch) -> None:
    config = manifests[("ConfigMap", "aispm-config")]["data"]
    # A path to a mounted secret is no secret; a value is.
    assert not [key for key in config if SECRET_NAME.search(key) and not key.endswith(("_FILE", "_LOCATION"))]
    names = set(config) | {variable["name"] for kind, name in (("Deployment", "aispm-worker"),
                                                                  ("Job", "aispm-migrate"))
                           for container in _pod(manifests, kind, name)["containers"]
                           for variable in container.get("env", [])}
    assert not [name for name in names if not _setting_exists(name)]
    for key in [key for key in os.environ if key.startswith("AISPM_")]:
        monkeypatch.delenv(key)
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AISPM_CLICKHOUSE__PASSWORD", "from-the-secret")
    monkeypatch.setenv("AISPM_INGEST__FINGERPRINT_KEY", "0" * 64)
    settings: Settings = load_settings()
    assert settings.ops.host == "0.0.0.0" and settings.log_format == "json"
    assert settings.clickhouse.cluster == "aispm" and settings.clickhouse.dsn.startswith("https://")
    assert str(settings.kafka.sasl_password_file).startswith("/run/secrets/aispm/")
    # The files the settings name are where the pods mount them.
    mounts = {mount["mountPath"] for container in _pod(manifests, "Deployment", "aispm-worker")["containers"]
              for mount in container["volumeMounts"]}
    for path in (settings.kafka.sasl_password_file, settings.kafka.ssl_ca_location):
        assert str(path.parent) in mounts, path


def test_secret_example_holds_placeholders_only(manifests: dict) -> None:
    for name in ("aispm-secrets", "aispm-kafka-tls"):
        values = manifests[("Secret", name)]["stringData"].values()
        assert all(re.search(r"change-me", value) for value in values), name
    keys = {variable["valueFrom"]["secretKeyRef"]["key"]
            for container in _pod(manifests, "Deployment", "aispm-worker")["containers"]
            for variable in container["env"]}
    assert keys <= set(manifests[("Secret", "aispm-secrets")]["stringData"])

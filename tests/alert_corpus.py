"""The alerts aispm raises on real logs: what ``aispm detect`` (its offline stage, discovery policy) raises on
the shared datasets and the repository's samples, and what every rule's positive examples raise."""

from __future__ import annotations

import copy
import tempfile
from functools import cache
from pathlib import Path

import orjson
import pytest

from streams.detect.engine import discover_rules
from streams.detect.offline import detect_files
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from streams.enrich.policy import Policy
from tests.conftest import DATASETS, REPO

SAMPLES = REPO / "tests" / "samples"
FAMILIES = ("cloudtrail", "gateway", "audit")
HOUR_MS = 3_600_000


def _panther_logs(folder: Path) -> list[Path]:
    """panther-analysis' test events as files of their logs, one per line (every family tries them all)."""
    paths = []
    for source in sorted((DATASETS / "panther-analysis-tests").glob("*.jsonl")):
        logs = [orjson.loads(line)["log"] for line in source.read_bytes().splitlines() if line.strip()]
        path = folder / source.name
        path.write_bytes(b"\n".join(orjson.dumps(log) for log in logs))
        paths.append(path)
    return paths


@cache
def dataset_alerts() -> tuple[dict, ...]:
    if not DATASETS.exists():
        pytest.fail(f"shared datasets missing: {DATASETS} (tests read ../shared/datasets beside the repo)")
    with tempfile.TemporaryDirectory() as folder:
        panther = _panther_logs(Path(folder))
        inputs = {
            "cloudtrail": [*sorted((DATASETS / "stratus-red-team-detonation-logs").glob("*.json")),
                           DATASETS / "otrf-security-datasets" / "ec2_proxy_s3_exfiltration_2020-09-14011940.json",
                           *sorted((SAMPLES / "cloudtrail").iterdir()), *panther],
            "gateway": [*sorted((SAMPLES / "gateway").iterdir()), *panther],
            "audit": [DATASETS / "otrf-security-datasets" / "AADAuditEvents.json",
                      *sorted((SAMPLES / "audit").iterdir()), *panther],
        }
        alerts: list[dict] = []
        for family in FAMILIES:
            detectors = Detectors.default(lambda: Policy.discovery())
            alerts.extend(detect_files(family, inputs[family], detectors, window_ms=HOUR_MS).alerts_in_order())
    return tuple(alerts)


@cache
def example_alerts() -> tuple[dict, ...]:
    """The alerts every rule's positive examples raise, through the stream's detection stage."""
    alerts: list[dict] = []

    def collect(messages: list[tuple[bytes, bytes]]) -> None:
        alerts.extend(orjson.loads(value) for _key, value in messages)

    for rule in discover_rules():
        policy = Policy.from_text(rule.example_policy) if rule.example_policy else Policy.discovery()
        for example in rule.examples:
            if not example.expect:
                continue
            stage = DetectionStage(detectors=Detectors.default(lambda policy=policy: policy),
                                   store=MemoryDetectionStore(), send_alerts=collect, window_ms=HOUR_MS)
            stage.commit(stage.prepare_events([copy.deepcopy(event) for event in example.events]))
    return tuple(alerts)

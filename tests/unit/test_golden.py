"""Normalization gives exactly the golden output of tests/golden (see tests/golden/record.py), and the
golden events of every schema version still parse."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from schemas.event import validate_event
from tests.golden.record import (
    DATASETS,
    REPO,
    ROOT,
    dataset_digest,
    dataset_files,
    golden_dir,
    normalized_lines,
    sample_files,
)

SAMPLES = list(sample_files())


@pytest.mark.parametrize(("family", "path"), SAMPLES, ids=[f"{f}/{p.name}" for f, p in SAMPLES])
def test_samples_normalize_to_their_golden_output(family: str, path: Path) -> None:
    golden = (golden_dir() / family / f"{path.name}.jsonl").read_bytes().splitlines()
    assert list(normalized_lines(family, path, path.relative_to(REPO).as_posix())) == golden


def test_shared_datasets_normalize_to_their_golden_digests() -> None:
    recorded = orjson.loads((golden_dir() / "datasets.json").read_bytes())
    now = {path.relative_to(DATASETS).as_posix(): dataset_digest(family, path) for family, path in dataset_files()}
    assert sorted(now) == sorted(recorded)
    changed = {name: (recorded[name], digest) for name, digest in now.items() if digest != recorded[name]}
    assert changed == {}


@pytest.mark.parametrize("version_dir", sorted(ROOT.glob("v*/")), ids=lambda p: p.name)
def test_golden_events_of_every_version_still_parse(version_dir: Path) -> None:
    events = 0
    for file in version_dir.rglob("*.jsonl"):
        for line in file.read_bytes().splitlines():
            item = orjson.loads(line)
            if "event" in item:
                validate_event(item["event"])
                events += 1
    assert events > 50


def test_golden_output_covers_every_family_and_some_dead_letters() -> None:
    lines = [line for file in golden_dir().rglob("*.jsonl") for line in file.read_bytes().splitlines()]
    families = {orjson.loads(line)["event"]["source_family"] for line in lines if line.startswith(b'{"event"')}
    assert families == {"cloudtrail", "gateway", "audit"}
    digests = orjson.loads((golden_dir() / "datasets.json").read_bytes())
    assert sum(item["dead_letters"] for item in digests.values()) > 0
    assert hashlib.sha256(b"".join(lines)).hexdigest()  # the files are readable as bytes

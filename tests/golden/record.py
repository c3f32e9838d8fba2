"""Golden normalized output: what every normalizer makes of the test samples and the shared datasets.

``python -m tests.golden.record`` writes them again (only when a change of output is intended; say so
in the commit). tests/unit/test_golden.py checks that normalization still gives exactly this, and
that every golden event of each schema version still parses.

- ``v<version>/<family>/<sample>.jsonl``: each event and dead letter of a sample under tests/samples, in
  full (the samples are the project's own or redistributable; see NOTICE);
- ``v<version>/datasets.json``: for each file under ../shared/datasets, the counts and a SHA-256 of the
  same canonical output (those files stay in ../shared, and so do the events made of them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import orjson

from schemas.event import SCHEMA_VERSION
from schemas.families import SOURCE_FAMILIES
from streams.normalize import normalize_message
from streams.normalize.base import RecordMeta
from streams.normalize.files import open_bytes, split_records
from streams.normalize.redact import Redactor

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parents[1]
SAMPLES = REPO / "tests" / "samples"
DATASETS = REPO.parent / "shared" / "datasets"
# A fixed installation key, so redaction markers (and the event ids of records that carry secrets)
# are the same in every run.
REDACTOR = Redactor(b"golden-output-fingerprint-key-0123456789")

# Shared dataset files and the family each is read as (files of formats aispm does not read yet are
# golden too: their dead letters must stay what they are).
DATASET_FAMILIES = {
    "stratus-red-team-detonation-logs": "cloudtrail",
    "otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json": "cloudtrail",
    "otrf-security-datasets/AADAuditEvents.json": "audit",
    "panther-analysis-tests/AWS_CloudTrail.jsonl": "cloudtrail",
    "panther-analysis-tests/AWS_BedrockModelInvocation.jsonl": "cloudtrail",
    "panther-analysis-tests/Amazon_EKS_Audit.jsonl": "audit",
    "panther-analysis-tests/GCP_AuditLog.jsonl": "audit",
    "panther-analysis-tests/Azure_MonitorActivity.jsonl": "audit",
    "panther-analysis-tests/Okta_SystemLog.jsonl": "audit",
    "panther-analysis-tests/Cloudflare_HttpRequest.jsonl": "gateway",
    "panther-analysis-tests/GCP_HTTPLoadBalancer.jsonl": "gateway",
    "zed-sample-data-zeek/ssl.json.gz": "gateway",
    "zed-sample-data-zeek/dns.json.gz": "gateway",
}


def normalized_lines(family: str, path: Path, source: str) -> Iterator[bytes]:
    """Canonical JSON lines of everything ``path`` normalizes to, in order."""
    for index, value in enumerate(split_records(open_bytes(path))):
        result = normalize_message(family, value, RecordMeta(source, 0, index), redactor=REDACTOR)
        for event in result.events:
            yield orjson.dumps({"event": event}, option=orjson.OPT_SORT_KEYS)
        for failure in result.failures:
            yield orjson.dumps({"dead_letter": {
                "reason": failure.reason, "detail": failure.detail, "records": failure.records,
                "raw_sha256": hashlib.sha256(failure.raw).hexdigest(), "raw_size": len(failure.raw),
            }}, option=orjson.OPT_SORT_KEYS)


def sample_files() -> Iterator[tuple[str, Path]]:
    for family in SOURCE_FAMILIES:
        for path in sorted((SAMPLES / family).iterdir()):
            yield family, path


def dataset_files() -> Iterator[tuple[str, Path]]:
    for name, family in DATASET_FAMILIES.items():
        path = DATASETS / name
        for file in sorted(path.iterdir()) if path.is_dir() else [path]:
            if file.suffix in (".json", ".jsonl", ".gz"):
                yield family, file


def dataset_digest(family: str, path: Path) -> dict:
    lines = list(normalized_lines(family, path, path.relative_to(DATASETS).as_posix()))
    return {
        "family": family,
        "events": sum(line.startswith(b'{"event"') for line in lines),
        "dead_letters": sum(line.startswith(b'{"dead_letter"') for line in lines),
        "sha256": hashlib.sha256(b"\n".join(lines)).hexdigest(),
    }


def golden_dir(version: int = SCHEMA_VERSION) -> Path:
    return ROOT / f"v{version}"


def main() -> None:
    out = golden_dir()
    for family, path in sample_files():
        target = out / family / f"{path.name}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = normalized_lines(family, path, path.relative_to(REPO).as_posix())
        target.write_bytes(b"".join(line + b"\n" for line in lines))
    digests = {path.relative_to(DATASETS).as_posix(): dataset_digest(family, path) for family, path in dataset_files()}
    (out / "datasets.json").write_bytes(orjson.dumps(digests, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

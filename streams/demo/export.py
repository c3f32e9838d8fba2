"""The demo traffic as log files, for the commands that read files (`aispm detect`, `aispm model`).

``history/`` holds the benign days before the demo window, ``day/`` the demo window with its incidents;
one file per source family, one raw message per line, as `aispm ingest` and `aispm detect` read them.
``day/anomalous-access.labels`` lists the event ids of the incidents where an identity behaves unlike
itself -- the positives `aispm model evaluate --labels` takes.
"""

from __future__ import annotations

from pathlib import Path

from schemas.families import SOURCE_FAMILIES
from streams.demo.generator import generate_history, generate_labelled
from streams.demo.incidents import INCIDENTS
from streams.demo.simulation import DemoRecord
from streams.normalize import normalize_message
from streams.normalize.base import RecordMeta

LABELS_FILE = "anomalous-access.labels"


def _write(folder: Path, records: list[DemoRecord]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for family in SOURCE_FAMILIES:
        path = folder / f"{family}.log"
        path.write_bytes(b"".join(record.value + b"\n" for record in records if record.family == family))
        paths[family] = path
    return paths


def write_demo_files(folder: Path, *, seed: int = 7, history_days: int = 7) -> dict[str, dict[str, Path]]:
    """Write ``history/`` and ``day/`` under ``folder``; returns the paths per part and family."""
    day = generate_labelled(seed)
    out = {"history": _write(folder / "history", generate_history(seed, history_days)), "day": _write(folder / "day", day)}
    anomalous = {incident.id for incident in INCIDENTS if incident.anomalous_access}
    ids = []
    for position, record in enumerate(day):
        if record.label in anomalous:
            normalized = normalize_message(record.family, record.value, RecordMeta(record.family, 0, position))
            ids.extend(event["event_id"] for event in normalized.events)
    (folder / "day" / LABELS_FILE).write_text("".join(f"{event_id}\n" for event_id in sorted(set(ids))))
    return out


def write_cloudtrail_export(folder: Path, values: list[bytes], *, per_file: int = 500, digests: bool = True,
                            bucket: str = "globex-cloudtrail") -> list[Path]:
    """CloudTrail events (one JSON event per value) written as CloudTrail delivers them to S3: gzip
    ``{"Records": [...]}`` files of up to ``per_file`` events under
    ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``, and, with ``digests``, a digest per region and
    day under ``CloudTrail-Digest/`` listing each file with the SHA-256 of its uncompressed content.
    Values that are not CloudTrail events are left out. Returns the log files written."""
    import gzip
    import hashlib
    from collections import defaultdict
    from datetime import date

    import orjson

    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for value in values:
        try:
            event = orjson.loads(value)
            day = str(event["eventTime"])[:10]
            date.fromisoformat(day)
        except (ValueError, TypeError, KeyError):  # not a CloudTrail event (a malformed demo record)
            continue
        account = str(event.get("recipientAccountId") or event.get("userIdentity", {}).get("accountId") or "000000000000")
        groups[(account, str(event.get("awsRegion") or "us-east-1"), day)].append(event)
    written: list[Path] = []
    for (account, region, day), events in sorted(groups.items()):
        events.sort(key=lambda event: event["eventTime"])
        year, month, date_ = day.split("-")
        logs_dir = folder / "AWSLogs" / account / "CloudTrail" / region / year / month / date_
        logs_dir.mkdir(parents=True, exist_ok=True)
        listed = []
        for number, start in enumerate(range(0, len(events), per_file)):
            part = events[start:start + per_file]
            stamp = part[0]["eventTime"][:16].replace("-", "").replace(":", "")
            path = logs_dir / f"{account}_CloudTrail_{region}_{stamp}Z_{number:04d}.json.gz"
            content = orjson.dumps({"Records": part})
            path.write_bytes(gzip.compress(content, mtime=0))
            written.append(path)
            listed.append({"s3Bucket": bucket, "s3Object": "/".join(path.relative_to(folder).parts),
                           "hashValue": hashlib.sha256(content).hexdigest(), "hashAlgorithm": "SHA-256",
                           "newestEventTime": part[-1]["eventTime"], "oldestEventTime": part[0]["eventTime"]})
        if digests:
            digest_dir = folder / "AWSLogs" / account / "CloudTrail-Digest" / region / year / month / date_
            digest_dir.mkdir(parents=True, exist_ok=True)
            end = events[-1]["eventTime"].replace("-", "").replace(":", "")
            digest = {"awsAccountId": account, "digestStartTime": events[0]["eventTime"],
                      "digestEndTime": events[-1]["eventTime"], "digestS3Bucket": bucket,
                      "digestSignatureAlgorithm": "SHA256withRSA", "logFiles": listed}
            name = f"{account}_CloudTrail-Digest_{region}_org-trail_{region}_{end}.json.gz"
            (digest_dir / name).write_bytes(gzip.compress(orjson.dumps(digest), mtime=0))
    return written

"""Tamper evidence: CloudTrail log files checked against the digest files CloudTrail delivered with them.

A digest lists the log files of an hour with the SHA-256 of each one's uncompressed content. A log file
that a digest lists is *missing* when it is not there and *altered* when its content hashes otherwise;
a log file in a day folder that digests cover for its account and region, but that no digest lists,
is *extra*. Not checked here: the digests' own RSA signatures (that needs the AWS public keys, online:
``aws cloudtrail validate-logs``), so this catches changes to logs, not a forger who rewrote the digests.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass, field

import orjson

from streams.backfill.files import LogFile, s3_key
from streams.normalize.files import open_bytes

__all__ = ["DigestReport", "verify_digests"]

_SHOWN = 50


@dataclass
class DigestReport:
    digests: int = 0
    unreadable_digests: list[str] = field(default_factory=list)
    logs_listed: int = 0
    valid: int = 0
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.altered or self.missing or self.extra or self.unreadable_digests)

    def summary(self) -> dict:
        return {"digests": self.digests, "logs_listed": self.logs_listed, "valid": self.valid,
                "altered": len(self.altered), "missing": len(self.missing), "extra": len(self.extra),
                "unreadable_digests": len(self.unreadable_digests),
                "altered_files": self.altered[:_SHOWN], "missing_files": self.missing[:_SHOWN],
                "extra_files": self.extra[:_SHOWN], "unreadable_digest_files": self.unreadable_digests[:_SHOWN]}


def _content_sha256(path) -> str | None:
    """SHA-256 of a log file's uncompressed content, read a MiB at a time (a small file may decompress to
    gigabytes); None when it is not whole gzip, which no digest's hash can match."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stored:
            gzipped = stored.read(2) == b"\x1f\x8b"
            stored.seek(0)
            content = gzip.GzipFile(fileobj=stored) if gzipped else stored
            while chunk := content.read(1 << 20):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error):  # BadGzipFile is an OSError
        return None
    return digest.hexdigest()


def verify_digests(digests: list[LogFile], logs: list[LogFile]) -> DigestReport:
    report = DigestReport(digests=len(digests))
    by_key = {key: log for log in logs if (key := s3_key(log.path)) is not None}
    listed: dict[str, str] = {}
    covered: set[tuple[str, str, object]] = set()
    for digest in digests:
        try:
            document = orjson.loads(open_bytes(digest.path))
            entries = document.get("logFiles") or []
            for entry in entries:
                listed[_after_prefix(str(entry["s3Object"]))] = str(entry["hashValue"]).lower()
        except (OSError, ValueError, TypeError, KeyError, AttributeError, EOFError, gzip.BadGzipFile):
            report.unreadable_digests.append(str(digest.path))
            continue
        covered.add((digest.account, digest.region, digest.day))
    report.logs_listed = len(listed)
    for key, expected in sorted(listed.items()):
        log = by_key.get(key)
        if log is None:
            report.missing.append(key)
        elif _content_sha256(log.path) != expected:
            report.altered.append(str(log.path))
        else:
            report.valid += 1
    for key, log in sorted(by_key.items()):
        if key not in listed and (log.account, log.region, log.day) in covered:
            report.extra.append(str(log.path))
    return report


def _after_prefix(s3_object: str) -> str:
    """A digest's object key from ``AWSLogs/`` on (a bucket prefix before it is not on the local disk)."""
    at = s3_object.find("AWSLogs/")
    return s3_object[at:] if at >= 0 else s3_object

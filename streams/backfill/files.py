"""Finding the log files of a backfill.

CloudTrail delivers to ``AWSLogs/[o-ORG/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz`` and its
digests to ``.../CloudTrail-Digest/<region>/YYYY/MM/DD/``; folders of days outside ``--since/--until``
are not even listed. Other files are taken as they are (their events are filtered by time instead).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

__all__ = ["Discovery", "LogFile", "discover", "s3_key"]

_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_LOG_PARTS = ("CloudTrail", "CloudTrail-Digest")


@dataclass(frozen=True, slots=True)
class LogFile:
    path: Path
    size: int
    mtime_ns: int
    day: date | None = None
    """The folder date of a file in CloudTrail's layout."""
    account: str = ""
    region: str = ""

    @property
    def key(self) -> tuple[str, int, int]:
        """What makes a file the same file again: path, size, modification time (the checkpoint's key)."""
        return (str(self.path), self.size, self.mtime_ns)


@dataclass
class Discovery:
    logs: list[LogFile] = field(default_factory=list)
    digests: list[LogFile] = field(default_factory=list)
    days_pruned: int = 0
    """Day folders skipped for lying outside --since/--until."""


def s3_key(path: Path) -> str | None:
    """The object key from ``AWSLogs/`` on, for a file in CloudTrail's layout (how digests name logs)."""
    parts = path.parts
    if "AWSLogs" not in parts:
        return None
    return "/".join(parts[len(parts) - 1 - parts[::-1].index("AWSLogs"):])


def _layout(parts: tuple[str, ...]) -> tuple[str, str, str, tuple[int, ...]] | None:
    """(kind, account, region, date parts so far) for a path inside CloudTrail's layout, else None."""
    if "AWSLogs" not in parts:
        return None
    rest = list(parts[len(parts) - parts[::-1].index("AWSLogs"):])
    if rest and _ORG.match(rest[0]):
        rest = rest[1:]
    if len(rest) < 3 or not _ACCOUNT.match(rest[0]) or rest[1] not in _LOG_PARTS:
        return None
    account, kind, region = rest[0], rest[1], rest[2]
    when: list[int] = []
    for part in rest[3:6]:  # YYYY/MM/DD, as far as the path goes
        if not part.isdigit():
            break
        when.append(int(part))
    return kind, account, region, tuple(when)


def _outside(when: tuple[int, ...], since: date | None, until: date | None) -> bool:
    """Whether a folder of that year, month or day lies wholly outside [since, until]."""
    if not when:
        return False
    if since is not None and when < (since.year, since.month, since.day)[: len(when)]:
        return True
    return until is not None and when > (until.year, until.month, until.day)[: len(when)]


def discover(paths: Iterable[Path], *, since: date | None = None, until: date | None = None) -> Discovery:
    found = Discovery()
    seen: set[Path] = set()

    def add(path: Path) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        stat = path.stat()
        layout = _layout(path.parts)
        day = account = region = None
        if layout is not None:
            kind, account, region, when = layout
            if len(when) == 3:
                try:
                    day = date(*when)
                except ValueError:
                    day = None
            if kind == "CloudTrail-Digest":
                found.digests.append(LogFile(path, stat.st_size, stat.st_mtime_ns, day, account, region))
                return
        found.logs.append(LogFile(path, stat.st_size, stat.st_mtime_ns, day, account or "", region or ""))

    for root in paths:
        if root.is_file():
            add(root)
            continue
        for folder, subfolders, names in os.walk(root):
            here = Path(folder)
            kept = []
            for name in sorted(subfolders):
                layout = _layout((here / name).parts)
                if layout is not None and _outside(layout[3], since, until):
                    found.days_pruned += len(layout[3]) == 3
                    continue
                kept.append(name)
            subfolders[:] = kept
            for name in sorted(names):
                if not name.startswith("."):
                    add(here / name)
    found.logs.sort(key=lambda log: (log.day or date.min, str(log.path)))
    return found

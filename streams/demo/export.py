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

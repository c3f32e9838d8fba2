"""Small recorded events shipped with aispm (``streams/demo/data``), as Kafka message values per family.

Each event becomes its own message, the way the stream carries them: CloudTrail files (JSON arrays as
Stratus Red Team recorded them) are split into single events; the audit files are JSON lines.
See ``streams/demo/data/README.md`` for sources and licenses.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import orjson

_DATA = files("streams.demo") / "data"
# file name prefix -> source family
_FAMILY_BY_PREFIX = (("stratus-", "cloudtrail"), ("panther-", "audit"))


def real_samples() -> dict[str, list[bytes]]:
    """Recorded events per family ("cloudtrail", "audit"), files in name order, events in file order."""
    out: dict[str, list[bytes]] = {}
    for entry in sorted(_DATA.iterdir(), key=lambda item: item.name):
        family = next((family for prefix, family in _FAMILY_BY_PREFIX if entry.name.startswith(prefix)), None)
        if family is None:
            continue
        data = entry.read_bytes()
        if entry.name.endswith(".jsonl"):
            messages = [line for line in data.splitlines() if line.strip()]
        else:
            messages = [orjson.dumps(event) for event in orjson.loads(data)]
        out.setdefault(family, []).extend(messages)
    return out


def demo_policy_path() -> Path:
    """The sanctioned-use policy of the demo company: its AI gateway may use OpenAI and Bedrock."""
    return Path(str(_DATA / "demo-policy.yaml"))

"""Log records that could not be read: an alert per source and reason, so a dead letter is never silent.

A record that fails normalization becomes a dead letter (stored, on the dead-letters topic), not an
event, so no other detection sees it. Whoever writes part of a record can choose that outcome: a
number past a double's range or a lone surrogate escape in a request parameter, a repeated key, a
record past the size cap all turn their own API call into a dead letter instead of an alert. And logs
that a provider writes (CloudTrail, audit logs) fail to read only when they were cut, altered or
changed shape. Either way the SOC must hear of it where it hears of everything else: the alerts topic.

One alert per (source family, reason) per alert window, counting the distinct dead letters behind it
(a redelivered record keeps its dead-letter id, and its time is when the record was produced, so it
counts once). The alert carries where each record was (topic, partition, offset: its row in
``dead_letters``) and why, never its content: the dead letter's ``raw`` stays in the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.finding import Finding, Severity
from streams.detect.base import RuleMeta

__all__ = ["EXAMPLES", "META", "evidence", "findings"]

META = RuleMeta(
    id="unreadable_log_records",
    title="Log records could not be read",
    severity="medium",
    status="stable",
    description="Records of a log source failed normalization and became dead letters, so no detection "
                "judged them. Part of a record's content can be chosen by whoever made the call it logs: "
                "a record made unreadable on purpose hides that call from every other detection.",
    attack=("T1562",),
    references=("https://attack.mitre.org/techniques/T1562/",),
    runbook="Read the dead letters behind the alert (dead_letters, by reason and source family, over the "
            "alert's first and last seen times): what the records hold, who made the calls, and whether "
            "one principal or address made them all.",
    remediation="Judge the records' calls by hand; where a source's records are cut or altered in transit, "
                "fix the shipper, and where a source changed its shape, update its normalizer.",
    families=("cloudtrail", "gateway", "audit"),
)

# Gateway and proxy logs are text that many programs write: a line cut or wrapped is routine there.
# The other sources are JSON that the provider writes: a record of theirs fails only when it was cut,
# altered or changed shape, or when its content was chosen to fail.
_SEVERITY: dict[str, Severity] = {"gateway": "low"}


def evidence(row: Mapping[str, Any]) -> dict[str, Any]:
    """The event a dead-letter row stands for in its alert: where the record was and why it failed.

    Its time is when the record was produced (the Kafka timestamp; a file's modification time), else
    when it was received: a redelivery is received again later, but produced at the same moment."""
    return {
        "event_id": str(row["dead_letter_id"]),
        "time": _ms(row.get("produced_at")) or _ms(row["received_at"]),
        "source_family": str(row["source_family"]),
        "status_detail": f"{row['reason']}: {row['detail']}"[:1000],
        "kafka_topic": str(row["kafka_topic"]),
        "kafka_partition": int(row["kafka_partition"]),
        "kafka_offset": int(row["kafka_offset"]),
    }


def findings(rows: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """One finding per dead-letter row; their alerts group by (source family, reason)."""
    found = []
    for row in rows:
        event = evidence(row)
        family, reason = event["source_family"], str(row["reason"])
        found.append(Finding(
            detection=META.id,
            title=f"{family} log records could not be read ({reason})",
            severity=_SEVERITY.get(family, META.severity),
            principal="",
            event=event,
            description=META.description,
            remediation=META.remediation,
            context={"reason": reason, "detail": str(row["detail"]), "dead_letter_id": event["event_id"],
                     "raw_size": int(row.get("raw_size") or 0), "runbook": META.runbook},
            techniques=META.techniques,
            dedup_key=f"{META.id}|{family}|{reason}",
        ))
    return found


def _ms(value: Any) -> int:
    """Epoch ms of a row's time: an int, or a datetime (as a frame of the table gives it)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return int(value.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Example:
    """Dead-letter rows and the alerts they make: (title, severity, count) each."""

    name: str
    rows: tuple[dict, ...]
    alerts: tuple[tuple[str, Severity, int], ...]


def _row(index: int, family: str = "cloudtrail", reason: str = "malformed_json", *,
         produced_at: int = 1_764_000_000_000, received_at: int = 1_764_000_005_000) -> dict:
    return {"dead_letter_id": f"dl-{family}-{index}", "received_at": received_at, "produced_at": produced_at,
            "source_family": family, "reason": reason, "detail": "invalid JSON at line 1 column 7",
            "kafka_topic": f"aispm.raw.{family}", "kafka_partition": 0, "kafka_offset": index, "raw_size": 120}


EXAMPLES = (
    Example("one CloudTrail record that does not parse",
            (_row(1),), (("cloudtrail log records could not be read (malformed_json)", "medium", 1),)),
    Example("the same record delivered twice, received again later, counts once",
            (_row(1), _row(1, received_at=1_764_000_090_000)),
            (("cloudtrail log records could not be read (malformed_json)", "medium", 1),)),
    Example("two reasons of one source are two alerts",
            (_row(1), _row(2, reason="duplicate_key"), _row(3)),
            (("cloudtrail log records could not be read (malformed_json)", "medium", 2),
             ("cloudtrail log records could not be read (duplicate_key)", "medium", 1))),
    Example("a gateway's unreadable lines are routine: low",
            (_row(7, "gateway", "unknown_format"),),
            (("gateway log records could not be read (unknown_format)", "low", 1),)),
)

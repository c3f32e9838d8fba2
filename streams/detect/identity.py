"""Identity resolution in the detection stage: learn bindings from each batch, name who is behind the
addresses of its findings, and correct open alerts when a binding arrives late.

Why here and not in the normalizing processes: see ``streams.enrich.identity``. The stage keeps the
recent bindings in memory (``BindingTable``) and persists each in ``ip_bindings`` before the alerts
that used it are rendered; at commit it also reads the stored bindings of its findings' addresses, so
bindings another worker learned (another partition, e.g. the audit topic's Okta sign-ins) count too.

A late binding (a VPN session logged at logout, a lease log shipped in bulk) changes what an address
resolves to after an alert about it was raised: ``corrections`` re-resolves the open alerts of the
addresses a batch bound and re-emits those whose answer changed as an OCSF Update with the next
identity version (``unmapped.identity.version``). Replaying a batch recomputes the same corrections and
finds them applied already, so a crash between landing and sending loses none and repeats none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import orjson
import polars as pl

from schemas.finding import Finding
from streams.detect.alerts import with_identity
from streams.enrich.identity import (
    RAW_BINDING_FORMATS,
    Binding,
    BindingTable,
    Resolution,
    activity_bindings,
    bindings_of,
    coalesce_activity,
    is_ip,
    may_bind,
)
from streams.normalize.batch import as_dicts

__all__ = ["IdentityStage", "IdentityStore", "binding_rows", "resolve_finding"]

log = logging.getLogger(__name__)

KEEP_MS = 7 * 24 * 3_600_000
"""Bindings kept in memory (and loaded at start): those that ended less than this before the newest event."""
CORRECTION_HORIZON_MS = 24 * 3_600_000
"""Alerts seen this long before a late binding began are no longer open to its correction."""


class IdentityStore(Protocol):
    def land_ip_bindings(self, bindings: list[Binding]) -> None: ...
    def ip_bindings(self, *, since_ms: int, ips: list[str] | None = None) -> list[Binding]: ...
    def open_alerts(self, principals: list[str], *, since_ms: int) -> list[dict]: ...


def binding_rows(frame: pl.DataFrame) -> list[dict]:
    """The rows of an events frame that may bind an address, as dicts (a few per batch)."""
    # The raw record only where a learner reads it (Okta's proxy flag and IP chain, ZPA's session times).
    raw = pl.when(pl.col("source_format").is_in(sorted(RAW_BINDING_FORMATS))).then(pl.col("raw")).otherwise(pl.lit(""))
    return as_dicts(frame.filter(may_bind()).with_columns(raw.alias("raw")))


def address_of(event: dict) -> str:
    """The address to resolve: an event's source IP when the event names no actor of its own."""
    ip = event.get("src_ip", "")
    return ip if ip and not event.get("actor") and is_ip(ip) else ""


def resolve_finding(finding: Finding, resolution: Resolution | None, stored: dict | None = None) -> Finding:
    """``finding`` with the resolution on its event and in its context (unchanged when None).
    ``stored``: the identity its alert already carries (a stored row's ``context["identity"]``), whose
    version the answer keeps when it is the same and passes when it changed."""
    if resolution is None:
        return finding
    event = {**finding.event, "resolved_identity": resolution.identity,
             "identity_source": resolution.source}
    identity = versioned(resolution.as_context(), stored or {})
    return replace(finding, event=event, context={**finding.context, "identity": identity})


def versioned(now: dict, before: dict) -> dict:
    """``now`` (a resolution's context) numbered after ``before``, the identity the alert carried: the
    same version for the same answer, the next one (with what it replaced) for a different answer."""
    version = int(before.get("version", 0) or 0)
    if before and _same_answer(before, now):
        return {**now, "version": max(version, 1)}
    out = {**now, "version": version + 1}
    if before:
        out["previous"] = {key: before.get(key) for key in ("identity", "source", "ambiguous") if key in before}
    return out


def stored_identity(row: dict) -> dict:
    """The identity a stored alert row carries (``{}`` when none)."""
    context = orjson.loads(row["context"]) if row.get("context") else {}
    identity = context.get("identity") if isinstance(context, dict) else None
    return identity if isinstance(identity, dict) else {}


@dataclass
class IdentityStage:
    store: IdentityStore
    table: BindingTable = field(default_factory=BindingTable)

    def load(self, now_ms: int | None = None) -> None:
        since = (now_ms if now_ms is not None else 0) - KEEP_MS
        self.table.add(self.store.ip_bindings(since_ms=since if now_ms is not None else 0))
        log.info("identity bindings loaded: %d", len(self.table))

    def learn(self, events: list[dict], frame: pl.DataFrame | None = None) -> list[Binding]:
        """Bindings of ``events`` and of ``frame``'s ``activity_rows`` (learned over columns; ``events``
        then holds none of those) that change the table, applied to it in memory (persisted at commit)."""
        found = [binding for event in events for binding in bindings_of(event)]
        columnar = activity_bindings(frame) if frame is not None else []
        return self.table.add(coalesce_activity(found) + columnar)

    def resolver(self) -> Callable[[str, int], Resolution | None]:
        return self.table.resolve

    def resolve_findings(self, findings: dict[str, Finding]) -> dict[str, Finding]:
        """Each finding whose event names only an address, with who held it (by the stored bindings too)."""
        ips = sorted({ip for finding in findings.values() if (ip := address_of(finding.event))})
        if not ips:
            return findings
        oldest = min(finding.event["time"] for finding in findings.values())
        self.table.add(self.store.ip_bindings(since_ms=oldest, ips=ips))
        # What the alerts carry already: a re-rendered alert keeps its identity version (or passes it,
        # when the answer changed), never restarts at 1 after a correction.
        stored = {row["alert_id"]: stored_identity(row)
                  for row in self.store.open_alerts(ips, since_ms=oldest - CORRECTION_HORIZON_MS)
                  if row["alert_id"] in findings}
        out = {}
        for alert_id, finding in findings.items():
            ip = address_of(finding.event)
            out[alert_id] = resolve_finding(finding, self.table.resolve(ip, finding.event["time"]),
                                            stored.get(alert_id)) if ip else finding
        return out

    def corrections(self, bindings: list[Binding], now_ms: int) -> tuple[list[dict], list[dict]]:
        """Open alerts about the addresses ``bindings`` bound whose identity changed: (rows, OCSF alerts)."""
        ips = sorted({binding.ip for binding in bindings})
        if not ips:
            return [], []
        since = min(binding.valid_from for binding in bindings) - CORRECTION_HORIZON_MS
        rows, alerts = [], []
        for row in self.store.open_alerts(ips, since_ms=since):
            corrected = self._corrected(row, now_ms)
            if corrected is not None:
                rows.append(corrected[0])
                alerts.append(corrected[1])
        return rows, alerts

    def _corrected(self, row: dict, now_ms: int) -> tuple[dict, dict] | None:
        ocsf = orjson.loads(row["ocsf"])
        context = orjson.loads(row["context"]) if row.get("context") else {}
        before = stored_identity(row)
        data = (ocsf.get("evidences") or [{}])[0].get("data", {})
        event_time = int(data.get("time") or row["last_seen"])
        if data.get("actor") or not is_ip(row["principal"]):
            return None
        resolution = self.table.resolve(row["principal"], event_time)
        if resolution is None:
            return None
        now = resolution.as_context()
        if before and _same_answer(before, now):
            return None
        now = versioned(now, before)
        version = now["version"]
        context = {**context, "identity": now}
        corrected = with_identity(ocsf, now)
        corrected["activity_id"], corrected["activity_name"] = 2, "Update"
        corrected["type_uid"], corrected["type_name"] = corrected["class_uid"] * 100 + 2, "Detection Finding: Update"
        corrected["metadata"]["uid"] = f"{row['alert_id']}:{row['count']}:identity-v{version}"
        new_row = {**row, "context": orjson.dumps(context, default=str).decode(),
                   "ocsf": orjson.dumps(corrected, default=str).decode(), "updated_at": now_ms,
                   "techniques": list(row.get("techniques") or [])}
        return new_row, corrected


def _same_answer(before: dict, now: dict) -> bool:
    return (before.get("identity", ""), bool(before.get("ambiguous")), sorted(before.get("candidates") or [])) == \
        (now["identity"], bool(now["ambiguous"]), sorted(now["candidates"]))

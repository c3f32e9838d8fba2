"""The detection stage: batches of events-topic messages -> findings -> alerts, at least once.

What the Faust detection agent does with each batch, without Faust, so it is tested directly:

``prepare`` (CPU, no I/O) decodes the messages, runs every detection with the rules' state, and
groups the findings into alerts; the state changes are collected, not saved. ``commit`` (I/O) then
1. records the (alert, event) pairs in the ledger and reads back each alert's tally,
2. lands the alert rows, 3. sends the alerts to the alerts topic (OCSF, or ECS / HEC as set) and
   waits for delivery,
   then sends the remediation of the alerts that carry actions to the remediation topic (one message
   per alert emission, keyed ``<alert id>:<count>``) and waits for delivery,
4. saves the state changes — and only after it returned are the messages acknowledged.

Why this order makes alerts at-least-once with exact counts: every step is idempotent (pairs count
once, alert rows replace each other, a re-sent alert has the same uid and count, a state change
saved twice is the same change), and state is saved last, so state that covers an event implies its
alerts were recorded and sent. A crash anywhere redelivers the batch; the replay recomputes the same
findings from the last saved state, and an event the saved state already covers changes nothing
(see streams/detect/state.py). A failing step is retried by the caller with the same prepared batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import orjson
import polars as pl
from pydantic import ValidationError

from schemas.event import validate_event, with_defaults
from streams.detect import state as rule_state_tools
from streams.detect import unreadable_records
from streams.detect.alerts import AlertEvent, AlertPlan, AlertTally, MemoryLedger
from streams.detect.anomaly import AnomalyStage, ClosedWindows
from streams.detect.eventtime import EventClock
from streams.detect.graph.alerts import path_finding
from streams.detect.graph.extract import compact, extract_facts
from streams.detect.graph.facts import AssetFact, EdgeFact
from streams.detect.graph.watch import PathWatch
from streams.detect.identity import IdentityStage, binding_rows
from streams.detect.pipeline import Detectors
from streams.detect.remediation import remediation_message
from streams.detect.siem import AlertFormat, HecOptions, render_alert
from streams.detect.writeback import WriteBack
from streams.enrich.identity import Binding, activity_rows
from streams.normalize.batch import as_dicts, decode_events, is_encoded_events

if TYPE_CHECKING:
    from schemas.finding import Finding
    from streams.settings import Settings

__all__ = ["DetectionMetrics", "DetectionStage", "MemoryDetectionStore", "PreparedDetection", "decode_messages"]

log = logging.getLogger(__name__)

_ERRORS_KEPT = 20
_PATH_LIVES = "path_lives|"
_PATH_LIVES_KEPT = 100
_PATH_LIVES_KEPT_MS = 400 * 86_400_000


def path_lives_key(alert_key: str) -> str:
    """The detection-state key of the (moment, event id) labels of a path's lives alerted on."""
    return _PATH_LIVES + alert_key


# Expired rule state is swept once event time has moved on this much.
SWEEP_EVERY_MS = 60_000
# ... and only when it expired this long before the newest event seen. Events arrive out of order (one
# raw partition runs ahead of another, a backfill shares the stream with live logs): a late event must
# find its key's state, not a sweep that the fastest partition's clock already ran past it.
SWEEP_GRACE_MS = 3_600_000


class DetectionStore(Protocol):
    """What the stage needs of the store."""

    def land_alert_events(self, events: list[AlertEvent]) -> None: ...
    def alert_tallies(self, alert_ids: list[str], batch_event_ids: list[str]) -> dict[str, AlertTally]: ...
    def land_alerts(self, rows: list[dict]) -> int: ...
    def load_rule_state(self) -> dict[str, dict]: ...
    def save_rule_state(self, changes: dict[str, dict | None]) -> None: ...
    def land_graph_facts(self, assets: list[AssetFact], edges: list[EdgeFact]) -> None: ...
    def load_graph_facts(self) -> tuple[list[AssetFact], list[EdgeFact]]: ...


class DetectionMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages = 0
        self.events = 0
        self.findings = 0
        self.alerts_sent = 0
        self.remediation_sent = 0
        self.rule_errors = 0
        self.bad_messages = 0
        self.retries = 0
        self.identity_corrections = 0
        self.last_error = ""
        self._alerts_by: Counter[tuple[str, str]] = Counter()

    def snapshot(self) -> dict:
        with self._lock:
            counts = {key: value for key, value in vars(self).items() if not key.startswith("_")}
            counts["alerts_by_detection"] = [[detection, severity, n]
                                             for (detection, severity), n in sorted(self._alerts_by.items())]
            return counts

    def count_alerts(self, rows: list[dict]) -> None:
        """Alerts sent, per (detection, severity)."""
        with self._lock:
            self._alerts_by.update((str(row["detection"]), str(row["severity"])) for row in rows)

    def add(self, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                setattr(self, key, getattr(self, key) + value)


@dataclass(slots=True)
class PreparedDetection:
    """A batch after detection, before its effects are recorded."""

    messages: int
    events: int
    plan: AlertPlan
    state_changes: dict[str, dict | None]
    findings: int = 0
    rule_errors: int = 0
    bad_messages: int = 0
    errors: list[str] = field(default_factory=list)
    """The first rule errors, described."""
    sent: bool = field(default=False)
    """Set once the alerts reached the topic, so a retry of a later step does not send them again."""
    remediation: list[tuple[bytes, bytes]] = field(default_factory=list)
    """Remediation-topic messages of the sent alerts not delivered yet (sent after the alerts)."""
    windows: ClosedWindows | None = None
    """Access windows this batch closed (anomaly scoring), persisted after the alerts."""
    bindings: list = field(default_factory=list)
    """Identity bindings this batch learned (``streams.enrich.identity.Binding``), persisted first."""
    assets: list[AssetFact] = field(default_factory=list)
    edges: list[EdgeFact] = field(default_factory=list)
    """What the batch's events say about AI assets and their edges (``streams.detect.graph``), landed last."""
    path_lives: dict[str, dict | None] = field(default_factory=dict)
    """The labels of the path lives this batch alerts on (``path_lives_key``), saved before the alerts."""


class DetectionStage:
    def __init__(self, *, detectors: Detectors, store: DetectionStore,
                 send_alerts: Callable[[list[tuple[bytes, bytes]]], None], window_ms: int,
                 metrics: DetectionMetrics | None = None, anomaly: AnomalyStage | None = None,
                 origin: str = "", alert_format: AlertFormat = "ocsf", hec: HecOptions | None = None,
                 identity: IdentityStage | None = None,
                 send_remediation: Callable[[list[tuple[bytes, bytes]]], None] | None = None,
                 path_alerts: bool = True) -> None:
        self.detectors = detectors
        self.paths = PathWatch() if path_alerts else None
        """The graph's facts so far: a path the batch's facts complete raises a finding (streams/detect/graph/watch.py)."""
        self.identity = identity
        """Bindings of addresses to identities: findings about an address name who held it."""
        self.alert_format: AlertFormat = alert_format
        """What the alerts topic carries (streams/detect/siem.py); the alert rows keep OCSF."""
        self.hec = hec or HecOptions()
        self.origin = origin
        """Marks every finding (``context.origin``) and its OCSF alert (``metadata.labels``): ``backfill``."""
        self.anomaly = anomaly
        """Per-principal windows scored by the promoted model; their outliers join this stage's findings."""
        self.store = store
        self.send_alerts = send_alerts
        """Delivers (key, value) messages to the alerts topic; returns once they were delivered."""
        self.send_remediation = send_remediation
        """The same for the remediation topic (None: remediation is not sent, as in a backfill)."""
        self.window_ms = window_ms
        self.metrics = metrics or DetectionMetrics()
        self.state: MutableMapping[str, dict] = {}
        self.clock = EventClock()  # rule state expires by event time, so a replay gives live verdicts
        self._candidates = detectors.candidates()
        self._last_sweep_ms: int | None = None

    @classmethod
    def configured(cls, settings: Settings, *, detectors: Detectors, store: DetectionStore,
                   send_alerts: Callable[[list[tuple[bytes, bytes]]], None], metrics: DetectionMetrics | None = None,
                   origin: str = "",
                   send_remediation: Callable[[list[tuple[bytes, bytes]]], None] | None = None) -> DetectionStage:
        """The stage as the settings make it (anomaly scoring when enabled, identity resolution, the alert
        format): the worker's and the backfill's are the same stage."""
        detection = settings.detection
        return cls(
            detectors=detectors, store=store, send_alerts=send_alerts, window_ms=detection.alert_window_s * 1000,
            metrics=metrics, origin=origin, alert_format=detection.alert_format,
            anomaly=AnomalyStage(store=store, settings=settings.anomaly) if settings.anomaly.enabled else None,
            hec=HecOptions(sourcetype=detection.hec_sourcetype, index=detection.hec_index, host=detection.hec_host),
            identity=IdentityStage(store=store), send_remediation=send_remediation,
        )

    def _readable(self, frame: pl.DataFrame) -> list[dict]:
        """The frame's rows some rule can match, as dicts; the newest of all its rows moves the clock."""
        newest = frame["time"].max() if frame.height else None
        if newest is not None:
            self.clock.observe([{"time": int(newest.timestamp() * 1000)}])
        return as_dicts(frame.filter(self._candidates))

    def load(self) -> None:
        """The rules' state as last saved (call once before the first batch)."""
        self.state = self.store.load_rule_state()
        log.info("detection state loaded: %d keys", len(self.state))
        if self.anomaly is not None:
            self.anomaly.load()
        if self.identity is not None:
            self.identity.load()
        if self.paths is not None:
            self.paths.add(*self.store.load_graph_facts())
            log.info("graph facts loaded for path alerts: %d asset, %d edge facts", *self.paths.size)

    def prepare(self, values: list[bytes]) -> PreparedDetection:
        """Events-topic messages -> a prepared batch.

        A message is an Arrow batch of events (``streams.normalize.batch``): only the rows some rule can
        match become dicts (the engine's ``candidates``), the rest count for the clock alone. A JSON
        array of event dicts is read too (any other producer's, or a test's).
        """
        frame, events, bad = decode_messages(values)
        return self.prepare_decoded(frame, events, messages=len(values), bad_messages=bad)

    def prepare_decoded(self, frame: pl.DataFrame | None, events: list[dict], *, messages: int,
                        bad_messages: int = 0) -> PreparedDetection:
        """``prepare`` of messages already decoded (``decode_messages``): the frame, and events as dicts.
        A landed frame alone (a backfill's) is ``prepare_decoded(frame, [], messages=0)``."""
        seen = len(events)
        from_json = list(events)
        binders = binder_frame = None
        if frame is not None:
            seen += frame.height
            events = events + self._readable(frame)
            if self.identity is not None and not from_json:
                # Hours of activity are learned over the frame's columns; only the other binders become dicts.
                binders, binder_frame = binding_rows(frame.filter(~activity_rows())), frame
            elif self.identity is not None:
                # Events that came as JSON too: all as dicts, so that one person's calls on both sides
                # coalesce into one binding as they did when they all came one way.
                binders = from_json + binding_rows(frame)
        return self.prepare_events(events, messages=messages, bad_messages=bad_messages, seen=seen,
                                   windowed=frame, binders=binders, binder_frame=binder_frame)

    def prepare_events(self, events: list[dict], *, messages: int = 0, bad_messages: int = 0,
                       seen: int | None = None, windowed: pl.DataFrame | None = None,
                       binders: list[dict] | None = None,
                       binder_frame: pl.DataFrame | None = None) -> PreparedDetection:
        """Normalized (and enriched) events -> findings grouped into alerts, the state changes collected.
        ``seen``: how many events the batch held, when only some were worth passing on; ``binders``: the
        batch's events that may bind an address (default: ``events``), and ``binder_frame`` the frame whose
        ``activity_rows`` they leave out."""
        self.clock.observe(events)
        # Bindings first, so an address bound in this batch resolves for the rules of the same batch.
        bindings = (self.identity.learn(events if binders is None else binders, binder_frame)
                    if self.identity is not None else [])
        view = WriteBack(self.state)
        result = self.detectors.detect(events, view,
                                       self.identity.resolver() if self.identity is not None else None)
        for error in result.rule_errors:
            log.error("rule %s failed on event %s: %s", error.rule_id, error.event_id, error.error)
        self._sweep(view)
        graph = extract_facts(events)
        facts = compact(graph.facts)
        assets = [fact for fact in facts if isinstance(fact, AssetFact)]
        edges = [fact for fact in facts if isinstance(fact, EdgeFact)]
        path_findings, path_lives = self._path_findings(events, assets, edges)
        changes = view.pending()
        view.flush()
        # Last, after what may fail: the anomaly stage applies in memory what it closes (``windowed``: the
        # batch's frame for the per-principal windows; None on a timer's call, which only closes).
        windows = self.anomaly.observe(windowed) if self.anomaly is not None else None
        findings = result.findings + path_findings + (windows.findings if windows is not None else [])
        findings = self._marked(findings)
        return PreparedDetection(
            messages=messages, events=len(events) if seen is None else seen,
            plan=AlertPlan.of(findings, self.window_ms), windows=windows,
            assets=assets, edges=edges,
            state_changes=changes, findings=len(findings), rule_errors=len(result.rule_errors) + len(graph.errors),
            bad_messages=bad_messages,
            errors=([f"{e.rule_id} on {e.event_id}: {e.error}" for e in result.rule_errors] + graph.errors)[:_ERRORS_KEPT],
            bindings=bindings, path_lives=path_lives,
        )

    def prepare_dead_letters(self, rows: list[dict]) -> PreparedDetection:
        """Dead-letter rows (``schemas.dead_letter``) -> their alerts (``streams.detect.unreadable_records``):
        a record no detection could judge is reported by source and reason. Committed like any batch."""
        findings = self._marked(unreadable_records.findings(rows))
        return PreparedDetection(messages=0, events=0, plan=AlertPlan.of(findings, self.window_ms),
                                 state_changes={}, findings=len(findings))

    def _marked(self, findings: list[Finding]) -> list[Finding]:
        """``findings`` with the stage's origin in their context (``backfill``: alerts that do not page)."""
        if not self.origin:
            return findings
        return [replace(finding, context={**finding.context, "origin": self.origin}) for finding in findings]

    def commit(self, prepared: PreparedDetection) -> None:
        """Record, land, send, save (see the module docstring). Safe to call again after it raised."""
        plan = prepared.plan
        if prepared.path_lives:
            # Before the alerts record them: a crash in between finds the life again, with this label.
            self.store.save_rule_state(prepared.path_lives)
            self.state.update(prepared.path_lives)
        if self.identity is not None:
            # Before the alerts: an alert that names a person is backed by a stored binding.
            self.identity.store.land_ip_bindings(prepared.bindings)
        if plan.events and not prepared.sent:
            self.store.land_alert_events(plan.events)
            tallies = self.store.alert_tallies(list(plan.latest), sorted({e.event_id for e in plan.events}))
            if self.identity is not None:
                plan.latest = self.identity.resolve_findings(plan.latest)
            alerts = plan.render(tallies)
            self.store.land_alerts(alerts.rows)
            self.send_alerts([(alert["finding_info"]["uid"].encode(),
                               orjson.dumps(render_alert(alert, self.alert_format, self.hec), default=str))
                              for alert in alerts.ocsf])
            if self.send_remediation is not None:
                prepared.remediation = [message for alert in alerts.ocsf
                                        if (message := remediation_message(alert)) is not None]
            prepared.sent = True
            self.metrics.add(alerts_sent=len(alerts.ocsf))
            self.metrics.count_alerts(alerts.rows)
        if self.identity is not None and prepared.bindings:
            # Late bindings: open alerts about these addresses that now resolve differently. Recomputed
            # from the store on a retry, so a correction already landed is found applied, not repeated.
            rows, corrected = self.identity.corrections(prepared.bindings, int(time.time() * 1000))
            if rows:
                self.store.land_alerts(rows)
                self.send_alerts([(alert["finding_info"]["uid"].encode(),
                                   orjson.dumps(render_alert(alert, self.alert_format, self.hec), default=str))
                                  for alert in corrected])
                self.metrics.add(alerts_sent=len(corrected), identity_corrections=len(corrected))
        if prepared.remediation and self.send_remediation is not None:
            self.send_remediation(prepared.remediation)
            self.metrics.add(remediation_sent=len(prepared.remediation))
            prepared.remediation = []
        self.store.save_rule_state(prepared.state_changes)
        if prepared.windows is not None and self.anomaly is not None:
            self.anomaly.commit(prepared.windows)
        if prepared.assets or prepared.edges:  # idempotent: a fact landed twice replaces itself
            self.store.land_graph_facts(prepared.assets, prepared.edges)
            if self.paths is not None:  # what the next batch's new paths are measured against
                self.paths.add(prepared.assets, prepared.edges)
        self.metrics.add(messages=prepared.messages, events=prepared.events, findings=prepared.findings,
                         rule_errors=prepared.rule_errors, bad_messages=prepared.bad_messages)

    def _path_findings(self, events: list[dict], assets: list[AssetFact],
                       edges: list[EdgeFact]) -> tuple[list, dict[str, dict | None]]:
        """A finding per path life the batch's facts complete, about the event that completed it, and the
        lives' labels to keep (the event that began each: what its alert counts)."""
        if self.paths is None or not (assets or edges):
            return [], {}
        by_id = {str(event.get("event_id", "")): event for event in events}
        findings, lives = [], {}
        for new in self.paths.new_paths(assets, edges,
                                        lambda key: (self.state.get(path_lives_key(key)) or {}).get("lives", ())):
            if new.event_id not in by_id:
                continue
            findings.append(path_finding(new, by_id[new.event_id]))
            key = path_lives_key(new.path.alert_key)
            kept = (lives.get(key) or self.state.get(key) or {}).get("lives", [])
            if [new.at, new.begun_by] not in kept:
                kept = sorted([*kept, [new.at, new.begun_by]])[-_PATH_LIVES_KEPT:]
                lives[key] = {"lives": kept, "expires_ms": kept[-1][0] + _PATH_LIVES_KEPT_MS}
        return findings, lives

    def _sweep(self, view: MutableMapping[str, dict]) -> None:
        now_ms = self.clock.now_ms()
        if now_ms is None:
            return
        if self._last_sweep_ms is None or now_ms - self._last_sweep_ms >= SWEEP_EVERY_MS:
            rule_state_tools.sweep(view, now_ms - SWEEP_GRACE_MS)
            self._last_sweep_ms = now_ms


def decode_messages(values: list[bytes]) -> tuple[pl.DataFrame | None, list[dict], int]:
    """Events-topic messages -> (their Arrow batches as one frame or None, events of JSON arrays, how
    many messages were neither or held an item that is no normalized event). What is not a batch of
    events is skipped and logged, never raised on: the agent retries a batch whose detection raised
    until it succeeds, so one such message would stop detection for good."""
    frames: list[pl.DataFrame] = []
    events: list[dict] = []
    bad = 0
    for value in values:
        try:
            if is_encoded_events(value):
                frames.append(decode_events(value))
                continue
            batch = orjson.loads(value)
            if not isinstance(batch, list):
                raise TypeError("expected a batch of events")
        except (ValueError, TypeError) as error:  # not ours to crash on; the raw data is in ClickHouse
            log.error("skipping an events-topic message that is not a batch of events: %s", error)
            bad += 1
            continue
        # Another producer's JSON (the Arrow batches are checked when they are made, and by their columns).
        valid = [event for event in batch if _is_normalized_event(event)]
        if len(valid) < len(batch):
            log.error("skipping %d items of an events-topic message that are no normalized events",
                      len(batch) - len(valid))
            bad += 1
        events.extend(valid)
    return (pl.concat(frames, how="vertical") if frames else None), events, bad


def _is_normalized_event(item: object) -> bool:
    try:
        validate_event(with_defaults(item))  # type: ignore[arg-type]
    except (ValidationError, TypeError, AttributeError):
        return False
    return True


class MemoryDetectionStore:
    """A ``DetectionStore`` in memory: offline detection over files, and tests."""

    def __init__(self) -> None:
        self.ledger = MemoryLedger()
        self.alert_rows: dict[str, dict] = {}
        self.state: dict[str, dict] = {}
        self.bindings: dict[str, Binding] = {}
        self.assets: dict[tuple[str, str, str], AssetFact] = {}
        self.edges: dict[tuple[str, str, str], EdgeFact] = {}
        """The graph's facts by the tables' keys (a fact landed twice replaces itself, as there)."""
        self._batch_tallies: dict[str, AlertTally] = {}

    def land_alert_events(self, events: list[AlertEvent]) -> None:
        self._batch_tallies = self.ledger.record(events)

    def alert_tallies(self, alert_ids: list[str], batch_event_ids: list[str]) -> dict[str, AlertTally]:
        return {alert_id: self._batch_tallies[alert_id] for alert_id in alert_ids}

    def land_alerts(self, rows: list[dict]) -> int:
        self.alert_rows.update((row["alert_id"], row) for row in rows)
        return len(rows)

    def load_rule_state(self) -> dict[str, dict]:
        return dict(self.state)

    def land_ip_bindings(self, bindings: list[Binding]) -> None:
        for binding in bindings:
            current = self.bindings.get(binding.binding_id)
            if current is None or current.seen_at <= binding.seen_at:
                self.bindings[binding.binding_id] = binding

    def ip_bindings(self, *, since_ms: int, ips: list[str] | None = None) -> list[Binding]:
        return [b for b in self.bindings.values() if b.valid_to >= since_ms and (ips is None or b.ip in ips)]

    def open_alerts(self, principals: list[str], *, since_ms: int) -> list[dict]:
        return [dict(row) for row in self.alert_rows.values()
                if row["principal"] in principals and row["last_seen"] >= since_ms]

    def save_rule_state(self, changes: dict[str, dict | None]) -> None:
        for key, value in changes.items():
            if value is None:
                self.state.pop(key, None)
            else:
                self.state[key] = value

    def load_graph_facts(self) -> tuple[list[AssetFact], list[EdgeFact]]:
        return list(self.assets.values()), list(self.edges.values())

    def land_graph_facts(self, assets: list[AssetFact], edges: list[EdgeFact]) -> None:
        self.assets.update(((fact.asset_id, fact.op, fact.event_id), fact) for fact in assets)
        self.edges.update(((fact.edge_id, fact.op, fact.event_id), fact) for fact in edges)

"""The detection stage's delivery guarantees, without Kafka: a crash at any step of a batch, followed by
a redelivery of everything not acknowledged, ends with the alerts and counts of a run without faults;
a failing step is retried with the same batch; the alerts topic sees every alert with its final count.
"""

from __future__ import annotations

import copy
import itertools

import orjson
import pytest

from streams.detect.alerts import AlertEvent, AlertTally
from streams.detect.pipeline import Detectors
from streams.detect.rules import (
    bedrock_invoke_error_burst,
    bedrock_model_recon_burst,
    bedrock_recon_then_invoke,
    shadow_ai_egress,
)
from streams.detect.stage import DetectionStage, PreparedDetection

WINDOW_MS = 3_600_000
STEPS = ("land_alert_events", "alert_tallies", "land_alerts", "send", "send_remediation", "save_rule_state")


class Crash(Exception):
    """A simulated SIGKILL: nothing after it in the batch happens."""


class MemoryStore:
    """The stage's store in memory, with a step that can be made to fail once."""

    def __init__(self) -> None:
        self.pairs: dict[str, dict[str, int]] = {}
        self.alert_rows: dict[str, dict] = {}
        self.state: dict[str, str] = {}
        self.graph_facts: set[tuple[str, str, str]] = set()
        self.fail_at: str | None = None

    def _step(self, name: str) -> None:
        if self.fail_at == name:
            self.fail_at = None
            raise Crash(name)

    def land_alert_events(self, events: list[AlertEvent]) -> None:
        self._step("land_alert_events")
        for item in events:
            self.pairs.setdefault(item.alert_id, {})[item.event_id] = item.event_time

    def alert_tallies(self, alert_ids: list[str], batch_event_ids: list[str]) -> dict[str, AlertTally]:
        self._step("alert_tallies")
        batch = set(batch_event_ids)
        return {alert_id: AlertTally(alert_id, len(events), len(events.keys() - batch), min(events.values()),
                                     max(events.values()))
                for alert_id in alert_ids if (events := self.pairs.get(alert_id))}

    def land_alerts(self, rows: list[dict]) -> int:
        self._step("land_alerts")
        for row in rows:
            self.alert_rows[row["alert_id"]] = row
        return len(rows)

    def load_rule_state(self) -> dict[str, dict]:
        return {key: orjson.loads(value) for key, value in self.state.items()}

    def save_rule_state(self, changes: dict[str, dict | None]) -> None:
        self._step("save_rule_state")
        for key, value in changes.items():
            if value is None:
                self.state.pop(key, None)
            else:
                self.state[key] = orjson.dumps(value).decode()

    def load_graph_facts(self) -> tuple[list, list]:
        return [], []

    def land_graph_facts(self, assets: list, edges: list) -> None:
        self._step("land_graph_facts")
        self.graph_facts.update((fact.asset_id if hasattr(fact, "asset_id") else fact.edge_id, fact.op, fact.event_id)
                                for fact in [*assets, *edges])


class Siem:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.counts: dict[str, int] = {}
        self.creates: dict[str, int] = {}
        self.soar = Soar(store)
        self.emissions: list[str] = []

    def send(self, messages: list[tuple[bytes, bytes]]) -> None:
        self.store._step("send")
        for key, value in messages:
            alert = orjson.loads(value)
            self.emissions.append(alert["metadata"]["uid"])
            self.counts[key.decode()] = max(self.counts.get(key.decode(), 0), alert["count"])
            if alert["activity_id"] == 1:
                self.creates[key.decode()] = self.creates.get(key.decode(), 0) + 1


class Soar:
    """The remediation topic's consumer: the newest version of each alert's actions, by message key."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.versions: dict[str, int] = {}
        self.keys: list[str] = []

    def send(self, messages: list[tuple[bytes, bytes]]) -> None:
        self.store._step("send_remediation")
        for key, value in messages:
            message = orjson.loads(value)
            assert key.decode() == f"{message['alert_id']}:{message['alert_version']}" and message["actions"]
            self.keys.append(key.decode())
            self.versions[message["alert_id"]] = max(self.versions.get(message["alert_id"], 0),
                                                     message["alert_version"])


def stage_for(store: MemoryStore, siem: Siem) -> DetectionStage:
    stage = DetectionStage(detectors=Detectors.default(), store=store, send_alerts=siem.send, window_ms=WINDOW_MS,
                           send_remediation=siem.soar.send)
    stage.load()
    return stage


def traffic() -> list[bytes]:
    """Events-topic messages: shadow-AI egress and Bedrock bursts and sequences, three events a message."""
    events = []
    for module in (shadow_ai_egress, bedrock_invoke_error_burst, bedrock_model_recon_burst, bedrock_recon_then_invoke):
        for example in module.EXAMPLES:
            if example.expect:
                events.extend(copy.deepcopy(event) for event in example.events)
    seen: set[str] = set()
    unique = [e for e in events if not (e["event_id"] in seen or seen.add(e["event_id"]))]
    unique.sort(key=lambda event: event["time"])
    return [orjson.dumps(unique[start:start + 3]) for start in range(0, len(unique), 3)]


def run(messages: list[bytes], crash: tuple[int, str] | None = None, take: int = 2) -> tuple[MemoryStore, Siem]:
    """Feed ``messages`` ``take`` at a time; at ``crash`` = (batch number, step) the worker dies, a new
    one loads the saved state and everything after the last acknowledged batch is delivered again."""
    store = MemoryStore()
    siem = Siem(store)
    stage = stage_for(store, siem)
    acknowledged = 0
    batch_number = 0
    while acknowledged < len(messages):
        batch = messages[acknowledged:acknowledged + take]
        if crash is not None and batch_number == crash[0]:
            store.fail_at = crash[1]
            crash = None
        try:
            stage.commit(stage.prepare(batch))
        except Crash:
            stage = stage_for(store, siem)  # the restarted worker; the batch was not acknowledged
            continue
        acknowledged += len(batch)
        batch_number += 1
    return store, siem


def counts(store: MemoryStore) -> dict[str, int]:
    return {alert_id: row["count"] for alert_id, row in store.alert_rows.items()}


def remediable(store: MemoryStore) -> dict[str, int]:
    """Count of each alert that carries remediation actions."""
    return {alert_id: row["count"] for alert_id, row in store.alert_rows.items()
            if orjson.loads(row["remediation_actions"])}


@pytest.fixture(scope="module")
def clean() -> tuple[MemoryStore, Siem]:
    return run(traffic())


def test_the_traffic_raises_alerts_of_several_kinds(clean) -> None:
    store, siem = clean
    detections = {row["detection"] for row in store.alert_rows.values()}
    assert {"shadow_ai_egress", "bedrock_invoke_error_burst", "bedrock_model_recon_burst",
            "bedrock_recon_then_invoke"} <= detections
    assert any(count > 1 for count in counts(store).values())
    assert siem.counts == counts(store)
    assert remediable(store) == counts(store), "every alert of these rules carries actions"
    assert siem.soar.versions == counts(store)
    assert siem.soar.keys == siem.emissions, "one remediation message per alert emission, keyed alike"


BATCHES = len(traffic()) // 2


@pytest.mark.parametrize(("batch", "step"), list(itertools.product(range(BATCHES), STEPS)))
def test_a_crash_at_any_step_loses_and_doubles_nothing(clean, batch: int, step: str) -> None:
    expected_store, _ = clean
    store, siem = run(traffic(), crash=(batch, step))
    assert counts(store) == counts(expected_store)
    assert siem.counts == counts(store), "the SIEM saw every alert with its final count"
    assert set(siem.creates) == set(counts(store)), "every alert reached the SIEM as new at least once"
    assert siem.soar.versions == remediable(store), "the SOAR saw every alert's actions at its final count"


def test_a_redelivered_batch_changes_no_count(clean) -> None:
    expected_store, _ = clean
    messages = traffic()
    store = MemoryStore()
    siem = Siem(store)
    stage = stage_for(store, siem)
    for start in range(0, len(messages), 2):
        batch = messages[start:start + 2]
        stage.commit(stage.prepare(batch))
        stage.commit(stage.prepare(batch))  # Faust redelivered it, or the ingest forwarded it twice
    assert counts(store) == counts(expected_store)


def test_a_failing_step_is_retried_with_the_same_batch(clean) -> None:
    expected_store, _ = clean
    messages = traffic()
    for step in STEPS:
        store = MemoryStore()
        siem = Siem(store)
        stage = stage_for(store, siem)
        for start in range(0, len(messages), 2):
            prepared: PreparedDetection = stage.prepare(messages[start:start + 2])
            store.fail_at = step
            with pytest.raises(Crash):
                stage.commit(prepared)
            stage.commit(prepared)  # what the agent's retry does
        assert counts(store) == counts(expected_store), step
        assert siem.counts == counts(store), step
        assert siem.soar.versions == remediable(store), step


def test_a_message_that_is_not_a_batch_costs_only_itself(clean) -> None:
    expected_store, _ = clean
    messages = traffic()
    store = MemoryStore()
    stage = stage_for(store, Siem(store))
    prepared = stage.prepare([b"not json", b'{"an": "object"}', *messages])
    stage.commit(prepared)
    assert prepared.bad_messages == 2
    assert counts(store) == counts(expected_store)


def test_an_event_that_is_not_a_normalized_event_costs_only_itself(clean) -> None:
    """Events-topic JSON from another producer: an item that is no object, or an event whose fields are
    not of their kinds, would raise in the stage on every retry of its batch, and the agent retries a
    failing batch until it succeeds: it must be skipped, the batch's other events judged."""
    expected_store, _ = clean
    messages = traffic()
    event = orjson.loads(messages[0])[0]
    poison = [[1, 2], [event | {"source_family": ["cloudtrail"]}], [event | {"time": None}],
              [event | {"service": None}], [event | {"action": ["InvokeModel"]}], [event | {"src_ip": [1]}],
              [{"an": "object"}]]
    store = MemoryStore()
    stage = stage_for(store, Siem(store))
    prepared = stage.prepare([orjson.dumps(batch) for batch in poison] + messages)
    stage.commit(prepared)
    assert prepared.bad_messages == len(poison)
    assert counts(store) == counts(expected_store)


def test_an_arrow_batch_of_the_wrong_types_costs_only_itself(clean) -> None:
    """An events-topic Arrow batch with the events' column names but a column of another type, or a
    null where the schema has none, raised in the stage on every retry (as above): skipped now."""
    import io

    import polars as pl

    from streams.normalize.batch import check_events

    expected_store, _ = clean
    messages = traffic()
    frame = check_events(orjson.loads(messages[0])).frame

    def arrow(changed: pl.DataFrame) -> bytes:
        buffer = io.BytesIO()
        changed.select(frame.columns).write_ipc_stream(buffer)
        return buffer.getvalue()

    poison = [frame.with_columns(pl.col("time").dt.epoch("ms").cast(pl.String)),
              frame.with_columns(pl.lit(None, pl.Datetime("ms", "UTC")).alias("time")),
              frame.with_columns(pl.lit(5).alias("source_family")),
              frame.with_columns(pl.col("status_code").cast(pl.Int64)),
              frame.with_columns(pl.lit(None, pl.String).alias("service"))]
    store = MemoryStore()
    stage = stage_for(store, Siem(store))
    prepared = stage.prepare([arrow(changed) for changed in poison] + messages)
    stage.commit(prepared)
    assert prepared.bad_messages == len(poison)
    assert counts(store) == counts(expected_store)


def test_a_late_event_still_finds_its_keys_state() -> None:
    """One raw partition runs ahead of another: an event of another principal, half an hour newer,
    moves the stage's clock before the last call of a recon burst arrives. The burst must still be
    seen, as it is when the events come in time order."""
    from streams.detect.examples import cloudtrail, iam_user

    def recon(at: float, region: str, user: str = "eve") -> dict:
        return cloudtrail("ListFoundationModels", identity=iam_user(user), at=at, region=region)

    burst = [recon(0, "us-east-1"), recon(3, "eu-west-1"), recon(6, "ap-south-1")]
    elsewhere = recon(1800, "us-east-1", user="mallory")

    def fired(order: list[dict]) -> set[str]:
        store = MemoryStore()
        stage = stage_for(store, Siem(store))
        for event in order:
            stage.commit(stage.prepare([orjson.dumps([event])]))
        return {row["detection"] for row in store.alert_rows.values() if "eve" in row["principal"]}

    assert fired([*burst, elsewhere]) == {"bedrock_model_recon_burst"}
    assert fired([*burst[:2], elsewhere, burst[2]]) == {"bedrock_model_recon_burst"}

"""Dead letters raise alerts: a record made unreadable is never silent (streams/detect/unreadable_records.py).

The examples of the detection, its alerts OCSF-valid, and the detection stage's handling of dead-letter
rows: counted once whatever is redelivered, marked when raised over history."""

from __future__ import annotations

import orjson
import pytest

from streams.detect import unreadable_records
from streams.detect.alerts import MemoryLedger
from streams.detect.pipeline import Detectors
from streams.detect.stage import DetectionStage, MemoryDetectionStore
from tests.ocsf_schema import schema_problems
from tests.unit.test_alerts import assert_valid_detection_finding

WINDOW_MS = 3_600_000


@pytest.mark.parametrize("example", unreadable_records.EXAMPLES, ids=lambda example: example.name)
def test_examples(example) -> None:
    found = unreadable_records.findings(example.rows)
    alerts = Detectors.alerts(found, MemoryLedger(), WINDOW_MS)
    assert sorted((a["message"], a["severity"].lower(), a["count"]) for a in alerts.ocsf) == sorted(example.alerts)
    for alert in alerts.ocsf:
        assert_valid_detection_finding(alert)
        assert schema_problems(alert) == []


def test_an_alert_says_where_the_records_are_and_never_what_they_hold() -> None:
    row = dict(unreadable_records.EXAMPLES[0].rows[0], raw=b'{"eventName": "DeleteTrail", "x": 1e400}')
    alert = Detectors.alerts(unreadable_records.findings([row]), MemoryLedger(), WINDOW_MS).ocsf[0]
    data = alert["evidences"][0]["data"]
    assert (data["kafka_topic"], data["kafka_partition"], data["kafka_offset"]) == ("aispm.raw.cloudtrail", 0, 1)
    assert data["event_id"] == "dl-cloudtrail-1"
    assert data["status_detail"].startswith("malformed_json: ")
    assert "DeleteTrail" not in orjson.dumps(alert).decode()
    assert alert["finding_info"]["attacks"][0]["technique"]["uid"] == "T1562"


def test_a_row_read_from_the_table_has_datetimes() -> None:
    from datetime import UTC, datetime

    row = dict(unreadable_records.EXAMPLES[0].rows[0], produced_at=datetime(2026, 1, 2, tzinfo=UTC),
               received_at=datetime(2026, 1, 3, tzinfo=UTC))
    assert unreadable_records.evidence(row)["time"] == 1_767_312_000_000
    row["produced_at"] = None
    assert unreadable_records.evidence(row)["time"] == 1_767_398_400_000


def stage(origin: str = "") -> tuple[DetectionStage, MemoryDetectionStore, list[dict]]:
    store, sent = MemoryDetectionStore(), []

    def send(messages: list[tuple[bytes, bytes]]) -> None:
        sent.extend(orjson.loads(value) for _key, value in messages)

    return DetectionStage(detectors=Detectors.for_enrichment(), store=store, send_alerts=send,
                          window_ms=WINDOW_MS, origin=origin), store, sent


def test_the_stage_alerts_on_dead_letters_and_counts_a_redelivered_one_once() -> None:
    rows = list(unreadable_records.EXAMPLES[2].rows)
    detection, store, sent = stage()
    detection.commit(detection.prepare_dead_letters(rows))
    counts = {alert["message"]: alert["count"] for alert in sent}
    assert counts == {"cloudtrail log records could not be read (malformed_json)": 2,
                      "cloudtrail log records could not be read (duplicate_key)": 1}
    assert all(alert["is_alert"] for alert in sent)
    # The batch again, received later (a crash before its offsets were committed): nothing moves.
    detection.commit(detection.prepare_dead_letters([dict(row, received_at=row["received_at"] + 60_000)
                                                     for row in rows]))
    assert sorted(row["count"] for row in store.alert_rows.values()) == [1, 2]
    assert {row["detection"] for row in store.alert_rows.values()} == {"unreadable_log_records"}


def test_dead_letters_of_a_backfill_raise_alerts_that_do_not_page() -> None:
    detection, _store, sent = stage(origin="backfill")
    prepared = detection.prepare_dead_letters(list(unreadable_records.EXAMPLES[0].rows))
    detection.commit(prepared)
    assert prepared.findings == 1
    assert [alert["is_alert"] for alert in sent] == [False]
    assert "backfill" in sent[0]["metadata"]["labels"]


def test_no_dead_letters_no_alert() -> None:
    detection, store, sent = stage()
    detection.commit(detection.prepare_dead_letters([]))
    assert sent == [] and store.alert_rows == {}

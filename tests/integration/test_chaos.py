"""`make chaos`, shorter: kills at chosen crash points and a store outage lose, double and miscount nothing.

The full run (`make chaos`: 100,000 events, 8 kills) takes a few minutes; this one covers four of the
crash points and an outage over 20,000 events, against a run of the same input without faults.
"""

from __future__ import annotations

import pytest

from streams.harness.chaos import chaos, passed

pytestmark = pytest.mark.integration


def test_kills_and_a_store_outage_lose_and_double_nothing() -> None:
    report = chaos(events=20_000, kills=4, outage_s=6, seed=3, timeout_s=300)
    print(report)
    assert report["kills"] == 4 and report["store_outage_s"] == 6
    assert report["alerts_expected"] > 10, "the input must raise alerts for this test to mean something"
    assert report["lost"] == 0 and report["duplicated"] == 0
    assert report["dead_letters_stored"] == report["dead_letters_expected"] > 0
    assert report["alerts_missing"] == 0 and report["alerts_unexpected"] == 0
    assert report["alert_count_errors"] == 0, report["details"]
    assert report["alerts_missing_on_topic"] == 0 and report["alert_topic_count_errors"] == 0
    assert passed(report)

"""Several workers and store outages, through the real broker and chDB, against a run without faults.

The expected result is the chaos harness's: the same input through one worker with no faults
(streams/harness/chaos.py). Both tests compare with it what their faults left in the store and on the
alerts topic: every event once, every dead letter once, every alert once with its count.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.harness.chaos import (
    RunResult,
    compare,
    keyed_messages,
    passed,
    run_clean,
    run_scaled,
    run_store_outage,
)

pytestmark = pytest.mark.integration

EVENTS = 12_000


@pytest.fixture(scope="module")
def scale_input(tmp_path_factory: pytest.TempPathFactory, embedded_broker: str
                ) -> tuple[Path, list[tuple[str, bytes, bytes]], RunResult]:
    from streams.harness.bench import mixed_events

    root = tmp_path_factory.mktemp("scale")
    messages = keyed_messages(mixed_events(EVENTS, seed=3))
    expected = run_clean(root, embedded_broker, messages, timeout_s=240)
    assert len(expected.alerts) > 10, "the input must raise alerts for these tests to mean something"
    return root, messages, expected


def assert_same_as_without_faults(report: dict) -> None:
    assert report["lost"] == 0 and report["duplicated"] == 0, report
    assert report["dead_letters_stored"] == report["dead_letters_expected"] > 0
    assert report["dead_letters_duplicated"] == 0
    assert report["alerts_missing"] == 0 and report["alerts_unexpected"] == 0, report["details"]
    assert report["alert_count_errors"] == 0, report["details"]
    assert report["alerts_missing_on_topic"] == 0 and report["alert_topic_count_errors"] == 0, report["details"]
    assert passed(report)


def test_two_ingest_workers_one_killed_mid_stream_land_every_event_and_alert_once(
        scale_input: tuple[Path, list, RunResult], embedded_broker: str) -> None:
    root, messages, expected = scale_input
    actual, facts = run_scaled(root, embedded_broker, messages, expected, timeout_s=240)
    report = compare(expected, actual)
    print({key: value for key, value in report.items() if key != "details"}, facts)
    assert facts["killed_after_forwarding"], "the worker must die after forwarding, before committing"
    assert facts["survivor_messages"] > 0
    # The killed worker's forwarded-but-uncommitted batch went downstream twice; the lander dropped it.
    assert facts["events_on_topic"] > facts["distinct_on_topic"] == report["events_expected"]
    assert facts["duplicates_dropped_by_lander"] >= facts["events_on_topic"] - facts["distinct_on_topic"]
    assert_same_as_without_faults(report)


def test_a_store_outage_under_load_loses_and_doubles_nothing_within_the_buffer_bound(
        scale_input: tuple[Path, list, RunResult], embedded_broker: str) -> None:
    root, messages, expected = scale_input
    bound, batch = 3000, 1000
    actual, facts = run_store_outage(root, embedded_broker, messages, expected, outage_s=8, max_buffered=bound,
                                     batch_size=batch, timeout_s=240)
    report = compare(expected, actual)
    print({key: value for key, value in report.items() if key != "details"}, facts)
    # The outage was real (nothing landed while it lasted) and filled the buffer up to its bound.
    assert facts["landed_during_outage"] == len(messages) // 5
    assert bound - batch <= facts["most_held_during_outage"] <= bound
    assert facts["pauses"] >= 1
    assert facts["buffer_peak"] <= bound
    # Retried inserts forwarded nothing twice.
    assert facts["events_on_topic"] == facts["distinct_on_topic"] == report["events_expected"]
    assert_same_as_without_faults(report)

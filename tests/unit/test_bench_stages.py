"""`make bench` measures the path the worker takes: its stage costs run on the real code, end to end."""

from pathlib import Path

from streams.harness.bench import mixed_events, stage_costs


def test_stage_costs_cover_every_stage_of_the_worker_path(tmp_path: Path):
    events = mixed_events(3000)
    produced = sum(len(values) for values in events.values())
    result = stage_costs(events, tmp_path / "stages", batch_size=1000)

    # Malformed records of the mix become dead letters; every other message gives at least one event.
    assert 0.9 * produced <= result["events"]
    costs = result["cpu_us_per_event"]
    stages = ("normalize", "enrich", "dedup", "encode", "decode", "detect", "anomaly", "insert", "store_background")
    assert set(costs) == {*stages, "total"}
    assert all(costs[stage] >= 0 for stage in stages)
    assert costs["normalize"] > 0 and costs["insert"] > 0 and costs["anomaly"] > 0
    # The worker scores windows with a promoted model, as a deployment does.
    assert result["anomaly_windows_scored"] == result["anomaly_windows_closed"] > 0
    assert abs(costs["total"] - sum(costs[stage] for stage in stages)) < 0.05
    # Apart, the part of each stage's CPU spent in the measuring thread: never more than the stage's own.
    here = result["this_thread_cpu_us_per_event"]
    assert set(here) == {*stages[:-1], "total"}
    assert all(0 <= here[stage] <= costs[stage] + 0.5 for stage in stages[:-1])


def test_the_backfill_figure_comes_from_a_real_backfill_of_s3_layout_files(tmp_path: Path):
    from streams.harness.bench import backfill_rate

    events = mixed_events(3000)
    result = backfill_rate(events, tmp_path / "backfill")
    assert result["files"] >= 1 and result["digests_valid"] == result["files"]
    assert result["events_landed"] == result["events"] > 0 and result["events_per_s"] > 0

"""The scheduler inside `aispm up`: due jobs run at start, `aispm scheduler jobs` reads their runs
through the worker, and a restarted worker does not run a finished slot again."""

from __future__ import annotations

import subprocess
import sys
import time

import orjson
import pytest

from tests.conftest import WorkerHandle, worker_env

pytestmark = pytest.mark.integration

ENDED_RUNS = ("SELECT job, count() FROM scheduler_runs WHERE outcome IN ('ok', 'skipped', 'failed') "
              "GROUP BY job ORDER BY job")
# Ended runs per slot: a slot runs once, whichever worker ran it.
SLOT_RUNS = ("SELECT job, toString(scheduled_for), count() FROM scheduler_runs "
             "WHERE outcome IN ('ok', 'skipped', 'failed') GROUP BY job, scheduled_for ORDER BY job, scheduled_for")


def aispm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True, check=False,
                          timeout=120)


def wait_for_runs(worker: WorkerHandle, jobs: int, timeout_s: float = 120) -> list[list]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = worker.query(ENDED_RUNS)
        if len(rows) == jobs:
            return rows
        time.sleep(0.5)
    raise AssertionError(f"runs: {worker.query(ENDED_RUNS)}\n{worker.log_tail()}")


def test_the_worker_runs_due_jobs_once_across_a_restart(tmp_path, embedded_broker) -> None:
    data_dir = tmp_path
    env = worker_env(data_dir, embedded_broker, AISPM_SCHEDULER__START_DELAY_S="0", AISPM_QUERY__LOCK_WAIT_S="1")
    worker = WorkerHandle(env=env, data_dir=data_dir)
    try:
        worker.start(timeout_s=180)
        assert wait_for_runs(worker, 3) == [["retention", 1], ["retrain", 1], ["rollups", 1]]
        done = {(job, slot) for job, slot, _ in worker.query(SLOT_RUNS)}
        listed = aispm("scheduler", "jobs", "--format", "json", env=env)
        assert listed.returncode == 0, listed.stderr
        jobs = {item["job"]: item for item in orjson.loads(listed.stdout)}
        assert jobs["rollups"]["outcome"] == "ok" and jobs["retention"]["outcome"] == "ok"
        assert jobs["retrain"]["outcome"] == "skipped" and "no stored events" in jobs["retrain"]["detail"]["reason"]
        # chDB opens in one process: a second scheduler is refused while the worker has the store.
        refused = aispm("scheduler", env=env)
        assert refused.returncode == 1 and "another aispm process" in refused.stderr

        worker.stop()
        worker.start(timeout_s=180)
        time.sleep(5)  # the restarted worker's start-up wake-up has run by now
        after = worker.query(SLOT_RUNS)
        # No finished slot ran again; a new one only if a slot boundary (the hour) passed meanwhile.
        assert all(count == 1 for _, _, count in after), after
        assert done <= {(job, slot) for job, slot, _ in after}
        assert all(slot > max(s for j, s in done if j == job) for job, slot, _ in after if (job, slot) not in done)
    finally:
        worker.stop()

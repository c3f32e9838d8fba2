"""Scheduled jobs: model retraining, rollup compaction and retention, their runs kept in ClickHouse."""

from streams.scheduler.jobs import JOBS
from streams.scheduler.runner import Scheduler, job_states

__all__ = ["JOBS", "Scheduler", "job_states"]

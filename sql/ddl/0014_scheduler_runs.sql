-- Scheduled jobs' runs (streams/scheduler): one row when a run starts ('running') and one when it ends
-- (ok, failed or skipped), for the slot it ran for. A slot with an ended run is done; a slot whose
-- only row is 'running' was interrupted (the process died) and runs again. `aispm scheduler jobs` reads
-- the last run and computes the next from it. Kept for a year.
CREATE TABLE IF NOT EXISTS scheduler_runs
(
    job           LowCardinality(String),
    scheduled_for DateTime64(3, 'UTC'),
    run_id        String,
    trigger       LowCardinality(String),
    started_at    DateTime64(3, 'UTC'),
    finished_at   Nullable(DateTime64(3, 'UTC')),
    outcome       LowCardinality(String),
    missed        UInt32,
    detail        String,
    run_by        String,
    recorded_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (job, scheduled_for, run_id, recorded_at)
TTL toDateTime(recorded_at) + INTERVAL 366 DAY;

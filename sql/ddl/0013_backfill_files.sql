-- Backfill checkpoint: the files a backfill finished (all their events, dead letters and alerts landed),
-- so a second run skips them and an interrupted one resumes with the first unfinished file. A file that
-- changed (other size or modification time) is read again; its events are deduplicated anyway.
CREATE TABLE IF NOT EXISTS backfill_files
(
    path          String,
    size          UInt64,
    mtime_ns      Int64,
    source_family LowCardinality(String),
    events        UInt64,
    landed        UInt64,
    dead_letters  UInt64,
    finished_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(finished_at)
ORDER BY (path, size, mtime_ns);

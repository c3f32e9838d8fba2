-- The AI asset inventory, event-sourced: one row per fact an event states about an asset (create,
-- update of posture flags, delete, use), written by the detection stage's graph stage
-- (streams/detect/graph/stage.py). The inventory at a time T is the fold of the rows up to T
-- (streams/detect/graph/facts.py: the latest create/delete decides existence, flags turn on and off,
-- last use is the latest use). A redelivered event writes the same rows again: they replace each other.
CREATE TABLE IF NOT EXISTS ai_assets
(
    asset_id   String,
    kind       LowCardinality(String),
    op         LowCardinality(String),
    time       DateTime64(3, 'UTC'),
    event_id   String,
    name       String,
    provider   LowCardinality(String),
    account    String,
    region     LowCardinality(String),
    actor      String,
    flags_on   Array(String),
    flags_off  Array(String),
    attributes String,
    landed_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(landed_at)
ORDER BY (asset_id, op, event_id);

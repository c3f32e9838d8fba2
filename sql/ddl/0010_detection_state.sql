-- What stateful rules remember (bursts, sequences, learned AI data buckets), saved by the detection
-- stage after the alerts of the events it covers were recorded, and loaded when the stage starts.
-- One row per change of a key; the highest version wins; an empty value marks a deleted key.
-- Values expire by event time inside the stage; rows not changed for 120 days are dropped.
CREATE TABLE IF NOT EXISTS detection_state
(
    key        String,
    value      String,
    version    UInt64,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY key
TTL toDateTime(updated_at) + INTERVAL 120 DAY;

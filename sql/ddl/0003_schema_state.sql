-- Settings-driven schema state (e.g. the TTL last applied), so start-up only alters what changed.
CREATE TABLE IF NOT EXISTS schema_state
(
    key        String,
    value      String,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key;

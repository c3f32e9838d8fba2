-- The events behind each alert: one row per (alert, event). An alert's count is the number of distinct
-- events here, so a redelivered or replayed event never counts twice, and an analyst can list the
-- evidence of any alert:
--   SELECT e.* FROM events AS e WHERE e.event_id IN (SELECT event_id FROM alert_events WHERE alert_id = {id:String})
-- The writer records a batch's pairs before it lands the alert rows; a pair written twice (after a
-- crash) is merged away by ReplacingMergeTree and never counted twice (counts use uniqExact).
CREATE TABLE IF NOT EXISTS alert_events
(
    alert_id    String,
    event_id    String,
    event_time  DateTime64(3, 'UTC'),
    detection   LowCardinality(String),
    recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (alert_id, event_id);

-- Anomaly scoring: every closed window of a principal's activity in one source family with its features and score, and what
-- the principals were seen doing before (the baseline that "new" and "rare" are measured against).
-- Written by the worker's anomaly stage (streams/detect/anomaly.py); a window closed twice (after a
-- restart) replaces itself.
CREATE TABLE IF NOT EXISTS access_windows
(
    actor                 String,
    population            LowCardinality(String),
    family                LowCardinality(String),
    window_start          DateTime64(3, 'UTC'),
    window_end            DateTime64(3, 'UTC'),
    first_event           DateTime64(3, 'UTC'),
    last_event            DateTime64(3, 'UTC'),
    known_principal       Bool,
    events                Float64,
    distinct_actions      Float64,
    distinct_resources    Float64,
    distinct_src_ips      Float64,
    distinct_regions      Float64,
    failure_share         Float64,
    mutating_share        Float64,
    discovery_share       Float64,
    interactive_share     Float64,
    ai_calls              Float64,
    ai_bytes              Float64,
    off_hours_share       Float64,
    rare_action_share     Float64,
    rare_network_share    Float64,
    rare_user_agent_share Float64,
    volume_ratio          Float64,
    new_actions           Float64,
    new_networks          Float64,
    new_user_agents       Float64,
    new_regions           Float64,
    new_action_items      Array(String),
    new_network_items     Array(String),
    new_user_agent_items  Array(String),
    new_region_items      Array(String),
    raw_score             Nullable(Float64),
    score                 Nullable(Float64),
    anomalous             Bool,
    model_version         String,
    feature_version       LowCardinality(String),
    explanation           String,
    landed_at             DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(landed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (actor, family, window_start);

-- Per principal (scope), kind (action, network, user_agent, region, hour; "window" counts the windows) and
-- item: first and last sighting, windows and events. One row per change; the highest version wins and
-- an evicted row (the least recently seen beyond AISPM_ANOMALY__HISTORY_ITEMS) drops the item. The row
-- with kind "closed_until" (scope '', item the source family) says up to where that family's windows closed.
CREATE TABLE IF NOT EXISTS principal_history
(
    scope       String,
    kind        LowCardinality(String),
    item        String,
    first_seen  Int64,
    last_seen   Int64,
    windows     Int64,
    events      Int64,
    evicted     Bool,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (scope, kind, item);

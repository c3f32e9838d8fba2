-- Anomaly models: one row per trained version, with its artifact and lineage. The artifact is a skops
-- file (loaded only with the types models/registry.py trusts) and the baseline an Arrow IPC stream of
-- what the training windows saw; each is refused at load when its SHA-256 differs from the row's.
CREATE TABLE IF NOT EXISTS model_registry
(
    version               String,
    created_at            DateTime64(3, 'UTC'),
    artifact              String CODEC(ZSTD(3)),
    artifact_sha256       String,
    baseline              String CODEC(ZSTD(3)),
    baseline_sha256       String,
    feature_version       LowCardinality(String),
    features              Array(String),
    window_s              UInt32,
    threshold             Float64,
    alerts_per_1000       Float64,
    trained_from          String,
    train_since           DateTime64(3, 'UTC'),
    train_until           DateTime64(3, 'UTC'),
    events                UInt64,
    windows_by_population Map(String, UInt64),
    library_versions      Map(String, String),
    metrics               String,
    trained_by            String
)
ENGINE = ReplacingMergeTree
ORDER BY version;

-- Which version scores: the latest promotion wins. Append-only, so it is also the audit trail.
CREATE TABLE IF NOT EXISTS model_promotions
(
    version      String,
    promoted_at  DateTime64(3, 'UTC') DEFAULT now64(3),
    promoted_by  String,
    reason       String
)
ENGINE = MergeTree
ORDER BY promoted_at;

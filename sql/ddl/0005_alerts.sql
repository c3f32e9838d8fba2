-- Alerts as sent to the SIEM (OCSF Detection Finding, class 2004), one row per update: an alert's
-- count grows while repeats arrive inside its window, each update a new row with a later updated_at.
-- Read `alerts_current` (or `FROM alerts FINAL`) for one row per alert with its latest count.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id     String,
    detection    LowCardinality(String),
    title        String,
    severity     LowCardinality(String),
    principal    String,
    provider     LowCardinality(String),
    first_seen   DateTime64(3, 'UTC'),
    last_seen    DateTime64(3, 'UTC'),
    count        UInt64,
    description  String,
    remediation  String,
    techniques   Array(String),
    context      String,
    event_id     String,
    ocsf         String CODEC(ZSTD(3)),
    updated_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(first_seen)
ORDER BY (detection, principal, alert_id);

CREATE VIEW IF NOT EXISTS alerts_current AS SELECT * FROM alerts FINAL;

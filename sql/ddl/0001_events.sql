-- Normalized events: one row per event, whatever source it came from (schema: schemas/event.py).
--
-- Dedup: an event delivered twice (Kafka redelivery, the same file ingested again) must count once.
-- The writer drops rows whose event_id is already stored before it inserts (so a plain
-- `SELECT count() FROM events` is exact for a single writer), and ReplacingMergeTree keyed on the
-- sort key (which ends in event_id) removes any duplicate two concurrent writers could still race in:
-- `FROM events FINAL` is exact in every case.
CREATE TABLE IF NOT EXISTS events
(
    schema_version  UInt16,
    event_id        String,
    time            DateTime64(3, 'UTC'),
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    source_family   LowCardinality(String),
    source_format   LowCardinality(String),
    class_uid       UInt32,
    activity_id     UInt16,
    type_uid        UInt32,
    actor           String,
    actor_type      LowCardinality(String),
    src_ip          String,
    user_agent      String,
    action          LowCardinality(String),
    service         LowCardinality(String),
    target_host     String,
    target_url      String,
    target_resource String,
    outcome         LowCardinality(String),
    status_code     Nullable(Int32),
    status_detail   String,
    bytes_in        Nullable(Int64),
    bytes_out       Nullable(Int64),
    cloud_account   LowCardinality(String),
    cloud_region    LowCardinality(String),
    kafka_topic     LowCardinality(String),
    kafka_partition Int32,
    kafka_offset    Int64,
    raw             String CODEC(ZSTD(3)),
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_target_host target_host TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(time)
ORDER BY (source_family, actor, time, event_id);

-- Records that could not be normalized, with the reason and the original bytes (capped: raw_size is
-- the full size, raw_truncated says whether raw was cut). Credentials in raw are redacted.
-- dead_letter_id identifies one delivery (topic, partition, offset, record index): a redelivered
-- batch is dropped by the writer like events are.
CREATE TABLE IF NOT EXISTS dead_letters
(
    dead_letter_id  String,
    received_at     DateTime64(3, 'UTC'),
    source_family   LowCardinality(String),
    reason          LowCardinality(String),
    detail          String,
    kafka_topic     LowCardinality(String),
    kafka_partition Int32,
    kafka_offset    Int64,
    raw_size        UInt64,
    raw_truncated   Bool,
    raw             String CODEC(ZSTD(3)),
    INDEX idx_dead_letter_id dead_letter_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(received_at)
ORDER BY (source_family, reason, dead_letter_id);

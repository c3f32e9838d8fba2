-- AI use per minute x principal x provider x product, for charts. Filled like ai_inventory.
CREATE TABLE IF NOT EXISTS ai_usage_1m
(
    minute             DateTime('UTC'),
    principal          String,
    provider           LowCardinality(String),
    product            LowCardinality(String),
    calls              UInt64,
    bytes              UInt64,
    unsanctioned_calls UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, principal, provider, product);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_usage_1m_mv TO ai_usage_1m AS
SELECT
    toStartOfMinute(time) AS minute,
    if(actor != '', actor, src_ip) AS principal,
    ai_provider AS provider,
    ai_product AS product,
    toUInt64(count()) AS calls,
    toUInt64(sum(ifNull(bytes_in, 0) + ifNull(bytes_out, 0))) AS bytes,
    toUInt64(countIf(ai_sanctioned = false)) AS unsanctioned_calls
FROM events
WHERE ai_provider != ''
GROUP BY minute, principal, provider, product;

-- Every observed AI use, by (provider, product, host, model, principal): first and last seen, calls,
-- bytes, and how many calls the policy did not sanction. Filled by a materialized view on the
-- insert into `events`, so it sees exactly the events that landed (a redelivered event, dropped by
-- the writer, is not counted again). Read it with GROUP BY (see sql/queries/ai_inventory.sql).
CREATE TABLE IF NOT EXISTS ai_inventory
(
    provider           LowCardinality(String),
    product            LowCardinality(String),
    category           LowCardinality(String),
    host               String,
    model_id           String,
    principal          String,
    first_seen         SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen          SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    calls              SimpleAggregateFunction(sum, UInt64),
    bytes              SimpleAggregateFunction(sum, UInt64),
    unsanctioned_calls SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (provider, product, category, host, model_id, principal);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_inventory_mv TO ai_inventory AS
SELECT
    ai_provider AS provider,
    ai_product AS product,
    ai_category AS category,
    target_host AS host,
    ai_model AS model_id,
    if(actor != '', actor, src_ip) AS principal,
    min(time) AS first_seen,
    max(time) AS last_seen,
    toUInt64(count()) AS calls,
    toUInt64(sum(ifNull(bytes_in, 0) + ifNull(bytes_out, 0))) AS bytes,
    toUInt64(countIf(ai_sanctioned = false)) AS unsanctioned_calls
FROM events
WHERE ai_provider != ''
GROUP BY provider, product, category, host, model_id, principal;

-- Lineage and relationships of AI assets with time on every edge: one row per fact an event states
-- about an edge (open, close), from -> to, with the evidence event. An edge is valid from its opening
-- event until a closing one, until another edge takes its slot (an agent's model, an endpoint's config,
-- a function's role), or until either end is deleted (streams/detect/graph/facts.py). Runtime edges
-- (identity -> model/endpoint, kind 'invokes') keep a batch's first and last sighting.
CREATE TABLE IF NOT EXISTS ai_edges
(
    edge_id    String,
    src        String,
    src_kind   LowCardinality(String),
    kind       LowCardinality(String),
    dst        String,
    dst_kind   LowCardinality(String),
    op         LowCardinality(String),
    time       DateTime64(3, 'UTC'),
    event_id   String,
    account    String,
    slot       String,
    detail     String,
    landed_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(landed_at)
ORDER BY (edge_id, op, event_id);

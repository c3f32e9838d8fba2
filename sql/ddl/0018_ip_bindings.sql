-- Time-bounded bindings of addresses to identities (streams/enrich/identity.py), learned by the
-- detection stage from sign-ins, cloud sessions, audit callers, DHCP leases and ZTNA sessions.
-- One row per version of a binding: a session's logout record replaces its login's (later seen_at).
CREATE TABLE IF NOT EXISTS ip_bindings
(
    binding_id  String,
    ip          String,
    valid_from  DateTime64(3, 'UTC'),
    valid_to    DateTime64(3, 'UTC'),
    identity    String,
    kind        LowCardinality(String),
    source      LowCardinality(String),
    confidence  Float64,
    shared      Bool,
    event_id    String,
    seen_at     DateTime64(3, 'UTC'),
    landed_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(seen_at)
PARTITION BY toYYYYMM(valid_from)
ORDER BY (ip, binding_id);

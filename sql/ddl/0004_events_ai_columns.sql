-- AI enrichment of each event (set at ingest from the AI service catalog and the sanctioned-use
-- policy): empty provider = not an AI service. ai_sanctioned is NULL when the event is not AI use.
ALTER TABLE events ADD COLUMN IF NOT EXISTS ai_provider LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS ai_product LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS ai_category LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS ai_model String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS ai_sanctioned Nullable(Bool);

-- A 64-bit key of event_id (first 8 bytes of its BLAKE2b digest, computed by the writer), indexed:
-- the writer's "which of these ids are stored already?" lookup sends integers instead of strings.
ALTER TABLE events ADD COLUMN IF NOT EXISTS event_key UInt64 DEFAULT 0;
ALTER TABLE events ADD INDEX IF NOT EXISTS idx_event_key event_key TYPE bloom_filter(0.001) GRANULARITY 1;

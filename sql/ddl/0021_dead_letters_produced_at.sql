-- When a dead letter's record was produced to its raw topic (the Kafka message's timestamp; a file's
-- modification time in a backfill). A record redelivered after a crash is received again, later, but
-- produced at the same moment: its alert (streams/detect/unreadable_records.py) is windowed by this,
-- so it counts once. Rows from before this column read their receipt time.
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS produced_at DateTime64(3, 'UTC') DEFAULT received_at AFTER received_at;

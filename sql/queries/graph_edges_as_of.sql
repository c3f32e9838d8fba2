-- Every edge of the AI asset graph up to a moment, one row each: its latest fact and its first opening (what `aispm paths` folds).
-- Parameters: at (DateTime64(3)).
SELECT edge_id, any(src) AS src, any(src_kind) AS src_kind, any(kind) AS kind, any(dst) AS dst,
       any(dst_kind) AS dst_kind, any(account) AS account, any(slot) AS slot,
       argMax(op, (time, op = 'close', event_id)) AS last_op,
       toUnixTimestamp64Milli(max(time)) AS last_ms,
       argMax(event_id, (time, op = 'close', event_id)) AS last_event,
       argMax(detail, (time, op = 'close', event_id)) AS detail,
       toUnixTimestamp64Milli(minIf(time, op = 'open')) AS first_open_ms,
       argMinIf(event_id, time, op = 'open') AS first_event
FROM ai_edges FINAL
WHERE time <= {at:DateTime64(3)}
GROUP BY edge_id
ORDER BY edge_id

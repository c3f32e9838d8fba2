-- Access windows flagged anomalous over a time window, highest score first: who, when, and why.
-- Parameters: since, until (DateTime64(3)); limit (UInt32).
SELECT
    window_start,
    actor,
    family,
    round(score, 3) AS score,
    events,
    explanation
FROM access_windows FINAL
WHERE anomalous AND window_start >= {since:DateTime64(3)} AND window_start < {until:DateTime64(3)}
ORDER BY score DESC, window_start, actor
LIMIT {limit:UInt32}

-- Dead letters per source family and reason, with one example detail each.
-- Parameters: since (DateTime64(3)): only dead letters received at or after this time.
SELECT
    source_family,
    reason,
    count() AS dead_letters,
    any(detail) AS example_detail
FROM dead_letters FINAL
WHERE received_at >= {since:DateTime64(3)}
GROUP BY source_family, reason
ORDER BY dead_letters DESC

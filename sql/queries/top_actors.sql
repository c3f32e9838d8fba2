-- The most active identities over a time window, with how many of their calls failed.
-- Parameters: since, until (DateTime64(3)); limit (UInt32).
SELECT
    actor,
    count() AS events,
    countIf(outcome = 'failure') AS failures,
    uniqExact(action) AS distinct_actions,
    groupUniqArray(5)(source_format) AS formats
FROM events FINAL
WHERE time >= {since:DateTime64(3)} AND time < {until:DateTime64(3)} AND actor != ''
GROUP BY actor
ORDER BY events DESC
LIMIT {limit:UInt32}

-- The principals (identities, or source addresses where none) using AI most over a time window: calls,
-- unsanctioned calls, bytes and the providers they used.
-- Parameters: since, until (DateTime64(3)); limit (UInt32).
SELECT
    principal,
    sum(calls) AS calls,
    sum(unsanctioned_calls) AS unsanctioned_calls,
    sum(bytes) AS bytes,
    arraySort(groupUniqArray(provider)) AS providers
FROM ai_usage_1m
WHERE minute >= {since:DateTime64(3)} AND minute < {until:DateTime64(3)}
GROUP BY principal
ORDER BY calls DESC, principal
LIMIT {limit:UInt32}

-- AI calls per minute and provider, for charting; unsanctioned calls beside the total.
-- Parameters: since, until (DateTime64(3)).
SELECT
    minute,
    provider,
    sum(calls) AS calls,
    sum(unsanctioned_calls) AS unsanctioned_calls,
    sum(bytes) AS bytes
FROM ai_usage_1m
WHERE minute >= {since:DateTime64(3)} AND minute < {until:DateTime64(3)}
GROUP BY minute, provider
ORDER BY minute, provider

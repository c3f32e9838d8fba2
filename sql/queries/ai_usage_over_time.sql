-- AI calls over time by provider, in buckets of a chosen length: calls, unsanctioned calls and bytes.
-- Parameters: since, until (DateTime64(3)); bucket_s (UInt32): the bucket's length in seconds.
SELECT
    toStartOfInterval(minute, toIntervalSecond({bucket_s:UInt32})) AS bucket,
    provider,
    sum(calls) AS calls,
    sum(unsanctioned_calls) AS unsanctioned_calls,
    sum(bytes) AS bytes
FROM ai_usage_1m
WHERE minute >= {since:DateTime64(3)} AND minute < {until:DateTime64(3)}
GROUP BY bucket, provider
ORDER BY bucket, provider

-- Anomaly scores of the scored access windows over time, in buckets of a chosen length: windows, median,
-- 99th-percentile and highest score, and how many windows were flagged anomalous.
-- Parameters: since, until (DateTime64(3)); bucket_s (UInt32): the bucket's length in seconds.
SELECT
    toStartOfInterval(window_start, toIntervalSecond({bucket_s:UInt32})) AS bucket,
    count() AS windows,
    round(quantile(0.5)(score), 3) AS median_score,
    round(quantile(0.99)(score), 3) AS p99_score,
    round(max(score), 3) AS max_score,
    countIf(anomalous) AS anomalous
FROM access_windows FINAL
WHERE window_start >= {since:DateTime64(3)} AND window_start < {until:DateTime64(3)} AND score IS NOT NULL
GROUP BY bucket
ORDER BY bucket

-- CloudTrail coverage: events stored per account, region and day, to see what history is loaded and
-- where days are missing.
-- Parameters: since, until (DateTime64(3)).
SELECT
    cloud_account AS account,
    cloud_region AS region,
    toDate(time) AS day,
    count() AS events,
    uniqExact(actor) AS principals
FROM events FINAL
WHERE source_family = 'cloudtrail' AND time >= {since:DateTime64(3)} AND time < {until:DateTime64(3)}
GROUP BY account, region, day
ORDER BY day, account, region

-- Alerts per detection and severity: how many alerts, how many findings they gathered, and who.
-- Parameters: since (DateTime64(3)): alerts last seen at or after this time.
SELECT
    detection,
    any(severity) AS severity,
    count() AS alerts,
    sum(count) AS findings,
    arrayStringConcat(arraySlice(groupUniqArray(principal), 1, 3), ', ') AS principals
FROM alerts_current
WHERE last_seen >= {since:DateTime64(3)}
GROUP BY detection
ORDER BY alerts DESC, detection

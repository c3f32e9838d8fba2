-- Alerts with their latest count, newest activity first.
-- Parameters: since (DateTime64(3)): alerts last seen at or after this time.
SELECT
    detection,
    severity,
    principal,
    provider,
    count,
    first_seen,
    last_seen,
    title
FROM alerts_current
WHERE last_seen >= {since:DateTime64(3)}
ORDER BY last_seen DESC

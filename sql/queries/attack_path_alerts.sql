-- Alerts raised by attack paths in the AI asset graph (one per life of a path): the route and why.
-- Parameters: since (DateTime64(3)): alerts last seen at or after this time.
SELECT
    detection AS pattern,
    title,
    severity,
    count,
    first_seen,
    last_seen,
    JSONExtractString(context, 'path') AS path,
    JSONExtractString(context, 'reason') AS reason
FROM alerts_current
WHERE last_seen >= {since:DateTime64(3)} AND JSONHas(context, 'path_id') AND JSONHas(context, 'pattern')
ORDER BY severity = 'critical' DESC, severity = 'high' DESC, last_seen DESC
LIMIT 500

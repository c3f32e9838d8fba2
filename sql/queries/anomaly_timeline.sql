-- One principal's access windows over a time window: score, whether it alerted, and why.
-- Parameters: principal (String); since, until (DateTime64(3)).
SELECT
    window_start,
    family,
    events,
    round(score, 3) AS score,
    anomalous,
    model_version,
    explanation
FROM access_windows FINAL
WHERE actor = {principal:String}
    AND window_start >= {since:DateTime64(3)} AND window_start < {until:DateTime64(3)}
ORDER BY window_start, family

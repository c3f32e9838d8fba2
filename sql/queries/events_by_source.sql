-- Events per source family and format, with the time span each covers.
-- Parameters: none.
SELECT
    source_family,
    source_format,
    count() AS events,
    min(time) AS first_event,
    max(time) AS last_event
FROM events FINAL
GROUP BY source_family, source_format
ORDER BY source_family, events DESC

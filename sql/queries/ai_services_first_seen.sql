-- AI services seen for the first time at or after a moment (the last 24 hours, say), with who used them.
-- Parameters: since (DateTime64(3)).
SELECT
    provider,
    product,
    host,
    min(first_seen) AS first_seen,
    sum(calls) AS calls,
    arraySort(groupUniqArray(10)(principal)) AS principals
FROM ai_inventory
GROUP BY provider, product, host
HAVING first_seen >= {since:DateTime64(3)}
ORDER BY first_seen, provider, host

-- The AI inventory: every AI service seen, by whom, how much, and whether the policy sanctioned it.
-- Parameters: since (DateTime64(3)): only uses last seen at or after this time.
SELECT
    provider,
    product,
    any(category) AS category,
    host,
    model_id,
    principal,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen,
    sum(calls) AS calls,
    sum(bytes) AS bytes,
    sum(unsanctioned_calls) = 0 AS sanctioned
FROM ai_inventory
GROUP BY provider, product, host, model_id, principal
HAVING last_seen >= {since:DateTime64(3)}
ORDER BY sanctioned ASC, calls DESC

-- The AI asset graph's asset facts up to a moment (what `aispm inventory` and `aispm paths` fold), runtime uses reduced to the last per asset.
-- Parameters: at (DateTime64(3)).
SELECT *
FROM
(
    SELECT asset_id, kind, op, toUnixTimestamp64Milli(time) AS time_ms, event_id, name, provider, account, region,
           actor, flags_on, flags_off, attributes
    FROM ai_assets FINAL
    WHERE time <= {at:DateTime64(3)} AND op != 'use'
    UNION ALL
    SELECT asset_id, any(kind) AS kind, 'use' AS op, toUnixTimestamp64Milli(max(time)) AS time_ms,
           argMax(event_id, time) AS event_id, '' AS name, '' AS provider, any(account) AS account,
           any(region) AS region, '' AS actor, [] AS flags_on, [] AS flags_off, '' AS attributes
    FROM ai_assets FINAL
    WHERE time <= {at:DateTime64(3)} AND op = 'use'
    GROUP BY asset_id
)
ORDER BY time_ms, asset_id

-- Unsanctioned AI use by principal over a time window (this week, say): calls, providers, hosts.
-- Parameters: since, until (DateTime64(3)).
SELECT
    if(actor != '', actor, src_ip) AS principal,
    count() AS calls,
    arraySort(groupUniqArray(ai_provider)) AS providers,
    arraySort(groupUniqArray(5)(target_host)) AS hosts,
    min(time) AS first_call,
    max(time) AS last_call
FROM events FINAL
WHERE time >= {since:DateTime64(3)} AND time < {until:DateTime64(3)}
    AND ai_provider != '' AND ai_sanctioned = false
GROUP BY principal
ORDER BY calls DESC, principal

-- Alerts about an address (their events named no actor) and who was behind it: the identity that
-- resolution named with the binding's evidence, or 'ambiguous' with the candidates, and the identity
-- version (a late binding re-sends the alert as an OCSF Update with the next one).
-- Parameters: since (DateTime64(3)): alerts last seen at or after this time.
SELECT
    detection,
    principal AS address,
    if(JSONExtractBool(context, 'identity', 'ambiguous'), 'ambiguous',
       JSONExtractString(context, 'identity', 'identity')) AS identity,
    JSONExtractString(context, 'identity', 'source') AS source,
    JSONExtractUInt(context, 'identity', 'version') AS version,
    JSONExtractString(context, 'identity', 'evidence') AS evidence,
    count,
    last_seen
FROM alerts_current
WHERE last_seen >= {since:DateTime64(3)} AND JSONHas(context, 'identity')
ORDER BY last_seen DESC, address

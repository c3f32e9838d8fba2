-- Alerts by framework and technique (MITRE ATT&CK, MITRE ATLAS), with their findings and detections.
-- Parameters: since (DateTime64(3)): alerts last seen at or after this time.
SELECT
    if(startsWith(technique, 'AML.'), 'MITRE ATLAS', 'MITRE ATT&CK') AS framework,
    technique,
    count() AS alerts,
    sum(count) AS findings,
    arraySort(groupUniqArray(detection)) AS detections
FROM alerts_current
ARRAY JOIN techniques AS technique
WHERE last_seen >= {since:DateTime64(3)}
GROUP BY framework, technique
ORDER BY framework, alerts DESC, technique

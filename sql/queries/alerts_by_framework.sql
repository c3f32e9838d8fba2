-- Alerts by compliance framework and entry: MITRE ATT&CK and ATLAS techniques, OWASP Top 10 for LLM
-- Applications (2025) entries and NIST AI RMF subcategories the rules carry, with findings and detections.
-- Parameters: since (DateTime64(3)): alerts last seen at or after this time.
SELECT
    tag.1 AS framework,
    tag.2 AS id,
    count() AS alerts,
    sum(count) AS findings,
    arraySort(groupUniqArray(detection)) AS detections
FROM
(
    SELECT
        detection,
        count,
        arrayConcat(
            arrayMap(t -> (if(startsWith(t, 'AML.'), 'MITRE ATLAS', 'MITRE ATT&CK'), t), techniques),
            arrayMap(t -> ('OWASP LLM Top 10', t), JSONExtract(context, 'frameworks', 'owasp_llm', 'Array(String)')),
            arrayMap(t -> ('NIST AI RMF', t), JSONExtract(context, 'frameworks', 'nist_ai_rmf', 'Array(String)'))
        ) AS tags
    FROM alerts_current
    WHERE last_seen >= {since:DateTime64(3)}
)
ARRAY JOIN tags AS tag
GROUP BY framework, id
ORDER BY framework, alerts DESC, id

-- Amazon Bedrock model invocations by model and principal over a time window, with failures and regions.
-- Parameters: since, until (DateTime64(3)).
SELECT
    ai_model AS model_id,
    actor AS principal,
    count() AS invocations,
    countIf(outcome = 'failure') AS failures,
    arraySort(groupUniqArray(cloud_region)) AS regions,
    min(time) AS first_call,
    max(time) AS last_call
FROM events FINAL
WHERE time >= {since:DateTime64(3)} AND time < {until:DateTime64(3)}
    AND source_family = 'cloudtrail' AND service = 'bedrock.amazonaws.com'
    AND action IN ('InvokeModel', 'InvokeModelWithResponseStream', 'Converse', 'ConverseStream')
GROUP BY model_id, principal
ORDER BY invocations DESC, model_id, principal

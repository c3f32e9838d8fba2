"""Bedrock model invocation logging, one setting per account and region: while none exists, every Bedrock
model there is flagged "invocation logging off" (a gap in what an investigation can see)."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, bucket_node, expect

META = ExtractorMeta(
    id="bedrock_invocation_logging", title="Bedrock model invocation logging configured or deleted",
    services=("bedrock.amazonaws.com",),
    actions=("PutModelInvocationLoggingConfiguration", "DeleteModelInvocationLoggingConfiguration"),
    kinds=("bedrock_invocation_logging",),
)
KIND = "bedrock_invocation_logging"


def logging_id(account: str, region: str) -> str:
    return f"arn:aws:bedrock:{region}:{account}:model-invocation-logging"


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    setting = logging_id(call.account, call.region)
    if event["action"].startswith("Delete"):
        return [call.asset(setting, KIND, "delete")]
    text = call.param("loggingConfig", "textDataDeliveryEnabled")
    flags = ("text_not_logged",) if text is False or str(text).lower() == "false" else ()
    facts: list[Fact] = [call.asset(setting, KIND, "create", name="model invocation logging", provider="aws-bedrock",
                                    flags_on=flags)]
    bucket = bucket_node(f"s3://{call.param('loggingConfig', 's3Config', 'bucketName')}/")
    if bucket and call.param("loggingConfig", "s3Config", "bucketName"):
        facts.append(call.edge(setting, KIND, "writes", bucket, "s3_bucket", slot=f"writes|{setting}"))
    return facts


_SETTING = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-invocation-logging"
EXAMPLES = [
    expect("logging to S3",
           cloudtrail("PutModelInvocationLoggingConfiguration",
                      params={"loggingConfig": {"s3Config": {"bucketName": "bedrock-logs"},
                                                "textDataDeliveryEnabled": True}}),
           ("asset", "create", KIND, _SETTING), ("edge", "open", _SETTING, "writes", "arn:aws:s3:::bedrock-logs")),
    expect("logging deleted", cloudtrail("DeleteModelInvocationLoggingConfiguration"),
           ("asset", "delete", KIND, _SETTING)),
    expect("refused", cloudtrail("DeleteModelInvocationLoggingConfiguration", error="AccessDeniedException")),
]

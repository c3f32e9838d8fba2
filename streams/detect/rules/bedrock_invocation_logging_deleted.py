"""Bedrock model-invocation logging switched off: prompts and completions stop being recorded.

LLMjacking crews delete it first so that what they generate on the victim's bill leaves no trace.
"""

from __future__ import annotations

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import assumed_role, cloudtrail
from streams.detect.remediation import manual

META = RuleMeta(
    id="bedrock_invocation_logging_deleted",
    title="Bedrock model invocation logging deleted",
    severity="high",
    status="stable",
    description="DeleteModelInvocationLoggingConfiguration succeeded: Bedrock no longer records model "
                "inputs and outputs to CloudWatch or S3 in this region.",
    attack=("T1562.008",),
    atlas=("AML.T0034",),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("MEASURE 2.4", "MANAGE 4.1"),
    references=(
        "https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html",
        "https://attack.mitre.org/techniques/T1562/008/",
    ),
    runbook="Confirm with the principal's owner that the change was planned. If not, look for Bedrock "
            "InvokeModel/Converse calls by any principal in the same region after this time, and for model "
            "access being enabled shortly before it.",
    remediation="Re-create the logging configuration (PutModelInvocationLoggingConfiguration) and deny "
                "bedrock:DeleteModelInvocationLoggingConfiguration outside a break-glass role with an SCP.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("bedrock", "PutModelInvocationLoggingConfiguration", "region", "account",
               description="Re-create the approved model-invocation logging configuration in the region.",
               risk="low"),
    ),
)


def rule(event: dict) -> bool:
    return (event["action"] == "DeleteModelInvocationLoggingConfiguration"
            and is_bedrock(event) and succeeded(event))


def context(event: dict) -> dict:
    return {"region": event["cloud_region"]}


EXAMPLES = [
    positive("logging deleted", cloudtrail("DeleteModelInvocationLoggingConfiguration",
                                           identity=assumed_role("PlatformAdmin", "jdoe"))),
    negative("delete denied", cloudtrail("DeleteModelInvocationLoggingConfiguration", error="AccessDenied")),
    negative("reading the configuration", cloudtrail("GetModelInvocationLoggingConfiguration")),
]

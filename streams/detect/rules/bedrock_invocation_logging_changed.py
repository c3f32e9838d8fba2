"""Bedrock model-invocation logging reconfigured: a destination or a data type may have been dropped."""

from __future__ import annotations

from typing import Any

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_invocation_logging_changed",
    title="Bedrock model invocation logging changed",
    severity="medium",
    status="stable",
    description="PutModelInvocationLoggingConfiguration succeeded: where Bedrock writes prompts and "
                "completions, or which of them it writes, changed.",
    attack=("T1562.008",),
    atlas=("AML.T0034",),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("MEASURE 2.4",),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html",),
    runbook="Compare the new configuration (context) with the intended one: is text delivery still on, "
            "do the S3 bucket and log group still belong to this organization?",
    remediation="Restore the approved logging configuration and manage it as code, with "
                "bedrock:PutModelInvocationLoggingConfiguration limited to the platform pipeline role.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("bedrock", "PutModelInvocationLoggingConfiguration", "region", "account",
               optional=("s3_bucket", "log_group"),
               description="Put the approved model-invocation logging configuration back in the region (the "
                           "parameters name the destination the change set).", risk="low"),
    ),
)

_DELIVERIES = ("textDataDeliveryEnabled", "imageDataDeliveryEnabled", "embeddingDataDeliveryEnabled",
               "videoDataDeliveryEnabled")


def rule(event: dict) -> bool:
    return (event["action"] == "PutModelInvocationLoggingConfiguration"
            and is_bedrock(event) and succeeded(event))


def _config(event: dict) -> dict[str, Any]:
    config = ct(event).param("loggingConfig")
    return config if isinstance(config, dict) else {}


def _disabled(config: dict[str, Any]) -> list[str]:
    off = [name for name in _DELIVERIES if config.get(name) is False]
    if not config.get("s3Config") and not config.get("cloudWatchConfig"):
        off.append("every destination")
    return off


def title(event: dict) -> str:
    disabled = _disabled(_config(event))
    if disabled:
        return f"Bedrock invocation logging changed: {', '.join(disabled)} disabled"
    return META.title


def context(event: dict) -> dict:
    config = _config(event)
    return {
        "s3_bucket": (config.get("s3Config") or {}).get("bucketName", ""),
        "log_group": (config.get("cloudWatchConfig") or {}).get("logGroupName", ""),
        "disabled": _disabled(config),
    }


_GOOD = {"loggingConfig": {"s3Config": {"bucketName": "acme-bedrock-logs"}, "textDataDeliveryEnabled": True}}
EXAMPLES = [
    positive("text delivery turned off", cloudtrail(
        "PutModelInvocationLoggingConfiguration",
        params={"loggingConfig": {"s3Config": {"bucketName": "acme-bedrock-logs"},
                                  "textDataDeliveryEnabled": False}})),
    positive("destination moved", cloudtrail("PutModelInvocationLoggingConfiguration", params=_GOOD)),
    negative("change rejected", cloudtrail("PutModelInvocationLoggingConfiguration", params=_GOOD,
                                           error="ValidationException")),
    negative("other service with the same call name", cloudtrail(
        "PutModelInvocationLoggingConfiguration", source="sagemaker.amazonaws.com", params=_GOOD)),
]

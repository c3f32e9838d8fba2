"""A Bedrock Marketplace model endpoint created or registered: third-party model on dedicated instances."""

from __future__ import annotations

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_marketplace_endpoint_created",
    title="Bedrock Marketplace model endpoint created",
    severity="medium",
    status="experimental",
    description="CreateMarketplaceModelEndpoint or RegisterMarketplaceModelEndpoint succeeded: a third-party "
                "model now runs on SageMaker instances billed to the account.",
    attack=("T1496", "T1195"),
    atlas=("AML.T0010.003", "AML.T0034"),
    owasp_llm=("LLM03:2025", "LLM10:2025"),
    nist_ai_rmf=("GOVERN 6.1", "MANAGE 3.1"),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/amazon-bedrock-marketplace.html",),
    runbook="Confirm the model (context) was approved for use; check the instance type and count for cost, "
            "and whether the endpoint has a VPC configuration.",
    remediation="Delete unapproved endpoints (DeleteMarketplaceModelEndpoint) and restrict the marketplace "
                "endpoint actions and aws-marketplace:Subscribe by SCP.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("bedrock", "DeleteMarketplaceModelEndpoint", "endpoint", "region",
               optional=("model_source", "instance_type"),
               description="Delete the marketplace model endpoint unless it is approved (it bills per hour).",
               risk="high", reversible=False),
    ),
)

_ACTIONS = frozenset({"CreateMarketplaceModelEndpoint", "RegisterMarketplaceModelEndpoint"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and is_bedrock(event) and succeeded(event)


def context(event: dict) -> dict:
    record = ct(event)
    sagemaker = record.param("endpointConfig", "sageMaker") or {}
    return {"model_source": record.param("modelSourceIdentifier") or "",
            "endpoint": record.param("endpointName") or record.param("endpointIdentifier") or "",
            "instance_type": sagemaker.get("instanceType", "") if isinstance(sagemaker, dict) else ""}


EXAMPLES = [
    positive("endpoint for a marketplace model", cloudtrail(
        "CreateMarketplaceModelEndpoint",
        params={"endpointName": "vendor-llm", "modelSourceIdentifier": "arn:aws:sagemaker:us-east-1:aws:hub-content/x",
                "endpointConfig": {"sageMaker": {"instanceType": "ml.g5.12xlarge", "initialInstanceCount": 2}}})),
    negative("endpoints listed", cloudtrail("ListMarketplaceModelEndpoints")),
    negative("creation failed", cloudtrail("CreateMarketplaceModelEndpoint", params={"endpointName": "x"},
                                           error="ValidationException")),
]

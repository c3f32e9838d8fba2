"""Access to a foundation model switched on (or attempted): the step before LLMjacking invokes it.

Fires on failed attempts too: a stolen key that cannot subscribe still tells us someone tried.
"""

from __future__ import annotations

from streams.detect.aws import MODEL_ACCESS_ACTIONS, is_bedrock
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail, iam_user
from streams.detect.remediation import CONTAIN_PRINCIPAL, aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_model_access_enabled",
    title="Bedrock foundation model access enabled",
    severity="medium",
    status="stable",
    description="PutFoundationModelEntitlement, PutUseCaseForModelAccess or CreateFoundationModelAgreement "
                "was called: someone is subscribing the account to a third-party model.",
    attack=("T1496",),
    atlas=("AML.T0034", "AML.T0040"),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("GOVERN 6.1", "MANAGE 3.1"),
    references=(
        "https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html",
        "https://stratus-red-team.cloud/attack-techniques/AWS/aws.impact.bedrock-invoke-model/",
    ),
    runbook="Ask the principal's owner whether the model was requested through the usual process. Check "
            "for InvokeModel/Converse by the same principal within the next hour and for its source IP "
            "appearing elsewhere.",
    remediation="Remove the model agreement if unapproved, restrict aws-marketplace:Subscribe and the "
                "bedrock model-access actions to an approval role with an SCP, rotate the principal's keys "
                "if the call was not theirs.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        aws("bedrock", "DeleteFoundationModelAgreement", "delete-foundation-model-agreement",
            opt("--model-id", "model"),
            description="Remove the model agreement (model access) unless it is approved.", risk="medium",
            reversible=True),
        *CONTAIN_PRINCIPAL,
    ),
)


def rule(event: dict) -> bool:
    return event["action"] in MODEL_ACCESS_ACTIONS and is_bedrock(event)


def title(event: dict) -> str:
    model = ct(event).param("modelId")
    verb = "attempted" if event["outcome"] == "failure" else "enabled"
    return f"Bedrock model access {verb}" + (f": {model}" if model else "")


def dedup_key(event: dict) -> str:
    return f"{META.id}|{event['actor']}|{ct(event).param('modelId') or ''}"


def context(event: dict) -> dict:
    return {"call": event["action"], "model": ct(event).param("modelId") or "",
            "outcome": event["outcome"], "region": event["cloud_region"]}


_CLAUDE = {"modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}
EXAMPLES = [
    positive("entitlement granted", cloudtrail("PutFoundationModelEntitlement", params=_CLAUDE,
                                               response={"status": "SUCCESS"})),
    positive("use-case form submitted", cloudtrail("PutUseCaseForModelAccess")),
    positive("agreement attempted with a stolen key and denied", cloudtrail(
        "CreateFoundationModelAgreement", params=_CLAUDE, identity=iam_user("ci-bot"), error="AccessDeniedException")),
    negative("agreement offers only listed", cloudtrail("ListFoundationModelAgreementOffers", params=_CLAUDE)),
]

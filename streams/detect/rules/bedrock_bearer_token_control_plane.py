"""A Bedrock API key (bearer token) used for something other than running models.

API keys exist so tools can call models. The same key creating guardrails, changing logging or managing
agents means someone holding a leaked key is exploring what else it allows.
"""

from __future__ import annotations

from streams.detect.aws import BEDROCK_API_KEY_ACTIONS, is_bedrock
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail, iam_user
from streams.detect.remediation import CONTAIN_PRINCIPAL, manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_bearer_token_control_plane",
    title="Bedrock API key used on a control-plane action",
    severity="high",
    status="experimental",
    description="A call authenticated with a Bedrock API key (additionalEventData.callWithBearerToken) was "
                "not a model invocation: the key was used to read or change Bedrock configuration.",
    attack=("T1078.004", "T1526"),
    atlas=("AML.T0012", "AML.T0075"),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("MEASURE 2.7",),
    references=(
        "https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html",
        "https://www.beyondtrust.com/blog/entry/aws-bedrock-security-guide-api-keys-detection-response",
    ),
    runbook="Identify the API key's user (actor) and where the calls came from. Any configuration change "
            "made with the key should be reviewed and probably reverted.",
    remediation="Revoke the Bedrock API key (reset or delete the service-specific credential) and limit "
                "bearer-token use with the bedrock:BearerTokenType condition key.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("iam", "ResetServiceSpecificCredential", "principal", optional=("account",),
               description="Reset or delete the Bedrock API key behind the bearer token used on the control "
                           "plane.", risk="medium", reversible=False),
        *CONTAIN_PRINCIPAL,
    ),
)


def rule(event: dict) -> bool:
    return (is_bedrock(event) and event["action"] not in BEDROCK_API_KEY_ACTIONS
            and ct(event).flag("additionalEventData", "callWithBearerToken"))


def dedup_key(event: dict) -> str:
    return f"{META.id}|{event['actor']}|{event['action']}"


def context(event: dict) -> dict:
    return {"call": event["action"], "outcome": event["outcome"]}


_KEY_USER = iam_user("BedrockAPIKey-7c2f", key="ABIAEXAMPLEBEARER001")
EXAMPLES = [
    positive("guardrail deleted with an API key", cloudtrail(
        "DeleteGuardrail", identity=_KEY_USER, params={"guardrailIdentifier": "gr1"},
        additional={"callWithBearerToken": True})),
    positive("models listed with an API key (string flag)", cloudtrail(
        "ListFoundationModels", identity=_KEY_USER, additional={"callWithBearerToken": "true"})),
    negative("model invoked with an API key", cloudtrail(
        "InvokeModel", identity=_KEY_USER, params={"modelId": "amazon.nova-lite-v1:0"},
        additional={"callWithBearerToken": True})),
    negative("control-plane call with SigV4", cloudtrail("DeleteGuardrail", params={"guardrailIdentifier": "gr1"})),
]

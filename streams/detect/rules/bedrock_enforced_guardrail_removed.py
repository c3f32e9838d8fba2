"""The account-level enforced guardrail removed, or models carved out of it."""

from __future__ import annotations

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_enforced_guardrail_removed",
    title="Bedrock enforced guardrail configuration removed",
    severity="high",
    status="experimental",
    description="DeleteEnforcedGuardrailConfiguration succeeded, or PutEnforcedGuardrailConfiguration "
                "excluded models: model calls in the account are no longer forced through the guardrail.",
    attack=("T1562.001",),
    atlas=("AML.T0054",),
    owasp_llm=("LLM01:2025",),
    nist_ai_rmf=("MANAGE 2.4", "GOVERN 1.4"),
    references=("https://docs.aws.amazon.com/bedrock/latest/APIReference/API_DeleteEnforcedGuardrailConfiguration.html",),
    runbook="Find who approved removing the enforced guardrail; list model invocations in the account "
            "since then and check whether any bypassed filters they would otherwise have hit.",
    remediation="Re-apply the enforced guardrail configuration and restrict "
                "bedrock:DeleteEnforcedGuardrailConfiguration / PutEnforcedGuardrailConfiguration by SCP.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("bedrock", "PutEnforcedGuardrailConfiguration", "region", optional=("config_id", "account"),
               description="Re-apply the approved enforced guardrail configuration (from code) in the region.",
               risk="low"),
    ),
)


def _excluded_models(event: dict) -> list:
    excluded = ct(event).param("guardrailInferenceConfig", "modelEnforcement", "excludedModels")
    return excluded if isinstance(excluded, list) else []


def rule(event: dict) -> bool:
    if not (is_bedrock(event) and succeeded(event)):
        return False
    if event["action"] == "DeleteEnforcedGuardrailConfiguration":
        return True
    return event["action"] == "PutEnforcedGuardrailConfiguration" and bool(_excluded_models(event))


def context(event: dict) -> dict:
    return {"config_id": ct(event).param("configId") or "", "excluded_models": _excluded_models(event)}


_CONFIG = {"guardrailIdentifier": "gr-prod", "guardrailVersion": "3", "inputTags": "HONOR"}
EXAMPLES = [
    positive("enforced configuration deleted",
             cloudtrail("DeleteEnforcedGuardrailConfiguration", params={"configId": "acctcfg1"})),
    positive("models excluded from enforcement", cloudtrail(
        "PutEnforcedGuardrailConfiguration",
        params={"guardrailInferenceConfig": {**_CONFIG, "modelEnforcement": {
            "excludedModels": ["anthropic.claude-3-5-sonnet-20240620-v1:0"]}}})),
    negative("enforcement set for all models",
             cloudtrail("PutEnforcedGuardrailConfiguration", params={"guardrailInferenceConfig": _CONFIG})),
    negative("delete denied", cloudtrail("DeleteEnforcedGuardrailConfiguration", params={"configId": "acctcfg1"},
                                         error="AccessDeniedException")),
]

"""A Bedrock guardrail deleted or edited: the content filters between users and the model may be gone."""

from __future__ import annotations

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_guardrail_deleted_or_updated",
    title="Bedrock guardrail deleted or updated",
    severity="medium",
    status="stable",
    description="DeleteGuardrail or UpdateGuardrail succeeded: the prompt-attack, content and PII "
                "filters applied to model calls changed or disappeared.",
    attack=("T1562.001",),
    atlas=("AML.T0054", "AML.T0051"),
    owasp_llm=("LLM01:2025", "LLM02:2025"),
    nist_ai_rmf=("MANAGE 2.4", "MEASURE 2.7"),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails.html",),
    runbook="Check the change request for this guardrail. For an update, diff the DRAFT against the "
            "published version; for a delete, list the applications and agents that referenced it.",
    remediation="Restore the guardrail from its definition in code, publish a version, and require it "
                "with the bedrock:GuardrailIdentifier IAM condition.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("bedrock", "UpdateGuardrail", "guardrail", "region",
               description="Restore the guardrail from its definition in code and publish a version "
                           "(CreateGuardrailVersion).", risk="low"),
    ),
)

_ACTIONS = frozenset({"DeleteGuardrail", "UpdateGuardrail"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and is_bedrock(event) and succeeded(event)


def title(event: dict) -> str:
    verb = "deleted" if event["action"] == "DeleteGuardrail" else "updated"
    return f"Bedrock guardrail {verb}: {ct(event).param('guardrailIdentifier') or 'unknown'}"


def context(event: dict) -> dict:
    return {"guardrail": ct(event).param("guardrailIdentifier") or ""}


def dedup_key(event: dict) -> str:
    return f"{META.id}|{event['cloud_account']}|{ct(event).param('guardrailIdentifier')}"


EXAMPLES = [
    positive("guardrail deleted", cloudtrail("DeleteGuardrail", params={"guardrailIdentifier": "gr7x2k9q1abc"})),
    positive("guardrail updated", cloudtrail("UpdateGuardrail", params={"guardrailIdentifier": "gr7x2k9q1abc",
                                                                        "name": "prod-filter"})),
    negative("guardrails listed", cloudtrail("ListGuardrails", params={"maxResults": 100})),
    negative("delete failed", cloudtrail("DeleteGuardrail", params={"guardrailIdentifier": "gr7x2k9q1abc"},
                                         error="ConflictException")),
]

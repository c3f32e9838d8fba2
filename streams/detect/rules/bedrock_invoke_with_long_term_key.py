"""A Bedrock model called with an IAM user's or root's long-lived access key (AKIA...).

Applications should call Bedrock with role credentials; a long-lived key calling a model is how leaked
keys get used for LLMjacking.
"""

from __future__ import annotations

from streams.detect.aws import INVOKE_ACTIONS, is_bedrock
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import assumed_role, cloudtrail, iam_user
from streams.detect.remediation import CONTAIN_PRINCIPAL
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_invoke_with_long_term_key",
    title="Bedrock model invoked with a long-lived access key",
    severity="medium",
    status="stable",
    description="InvokeModel/Converse (or a streaming variant) was called with an AKIA access key of an IAM "
                "user or root instead of temporary role credentials.",
    attack=("T1078.004", "T1496"),
    atlas=("AML.T0012", "AML.T0040"),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("GOVERN 1.4", "MEASURE 2.7"),
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html",
        "https://atlas.mitre.org/techniques/AML.T0012",
    ),
    runbook="Identify the key (context) and its owner; check where else it was used and from which IPs. "
            "A key used from an unfamiliar network is likely leaked.",
    remediation="Move the workload to a role (instance profile, IRSA, Identity Center), then deactivate and "
                "delete the access key.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        *CONTAIN_PRINCIPAL,
    ),
)


def rule(event: dict) -> bool:
    return event["action"] in INVOKE_ACTIONS and is_bedrock(event) and ct(event).uses_long_term_key


def dedup_key(event: dict) -> str:
    return f"{META.id}|{ct(event).access_key_id}"


def context(event: dict) -> dict:
    record = ct(event)
    return {"access_key_id": record.access_key_id, "identity_type": record.identity_type,
            "model": record.param("modelId") or "", "outcome": event["outcome"]}


_MODEL = {"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0"}
EXAMPLES = [
    positive("IAM user key invokes a model", cloudtrail("InvokeModel", params=_MODEL, identity=iam_user("ci-bot"))),
    positive("IAM user key converses, denied", cloudtrail("Converse", params=_MODEL, identity=iam_user("ci-bot"),
                                                          error="AccessDeniedException")),
    negative("role session invokes a model", cloudtrail("InvokeModel", params=_MODEL, identity=assumed_role())),
    negative("IAM user key lists models", cloudtrail("ListFoundationModels", identity=iam_user("ci-bot"))),
]

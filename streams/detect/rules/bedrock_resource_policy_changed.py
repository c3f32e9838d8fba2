"""A resource policy on a Bedrock resource written or removed: who outside the account may use it changed."""

from __future__ import annotations

from streams.detect.aws import is_bedrock, parse_policy, public_statements, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_resource_policy_changed",
    title="Bedrock resource policy changed",
    severity="medium",
    status="experimental",
    description="PutResourcePolicy or DeleteResourcePolicy succeeded on a Bedrock service: access to models, "
                "agents or other Bedrock resources from other principals or accounts changed.",
    attack=("T1098", "T1537"),
    atlas=("AML.T0044", "AML.T0040"),
    owasp_llm=("LLM02:2025",),
    nist_ai_rmf=("GOVERN 1.4", "MEASURE 2.7"),
    references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_identity-vs-resource.html",),
    runbook="Read the new policy (context says whether it grants to everyone). Check each external principal "
            "it names against the list of partner accounts.",
    remediation="Revert the policy to the reviewed version; grant cross-account access only with "
                "aws:PrincipalOrgID or explicit account conditions.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("bedrock", "PutResourcePolicy", "resource", "region",
               description="Put the reviewed resource policy back on the resource (or delete the new one).",
               risk="medium"),
    ),
)

_ACTIONS = frozenset({"PutResourcePolicy", "DeleteResourcePolicy"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and is_bedrock(event) and succeeded(event)


def _public(event: dict) -> bool:
    record = ct(event)
    policy = parse_policy(record.param("resourcePolicy") or record.param("policy"))
    return bool(public_statements(policy))


def title(event: dict) -> str:
    if event["action"] == "PutResourcePolicy" and _public(event):
        return "Bedrock resource policy grants access to everyone"
    return META.title


def context(event: dict) -> dict:
    record = ct(event)
    return {"resource": record.param("resourceArn") or event["target_resource"], "grants_everyone": _public(event)}


_PUBLIC = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
           '"Action":"bedrock:InvokeModel","Resource":"*"}]}')
EXAMPLES = [
    positive("policy granting everyone", cloudtrail(
        "PutResourcePolicy", params={"resourceArn": "arn:aws:bedrock:us-east-1:111122223333:custom-model/x",
                                     "resourcePolicy": _PUBLIC})),
    positive("policy removed", cloudtrail("DeleteResourcePolicy", params={"resourceArn": "arn:aws:bedrock:x"})),
    negative("policy read", cloudtrail("GetResourcePolicy", params={"resourceArn": "arn:aws:bedrock:x"})),
    negative("same call on another service", cloudtrail("PutResourcePolicy", source="secretsmanager.amazonaws.com",
                                                        params={"resourcePolicy": _PUBLIC})),
]

"""AmazonBedrockFullAccess or AmazonSageMakerFullAccess attached to an IAM user or group.

These managed policies give every AI action including model access, logging and guardrail changes;
on long-lived user credentials they are what LLMjacking looks for.
"""

from __future__ import annotations

import re

from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import Param, aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="iam_ai_full_access_attached_to_user",
    title="AI full-access policy attached to an IAM user or group",
    severity="medium",
    status="stable",
    description="AttachUserPolicy or AttachGroupPolicy succeeded with the AWS managed AmazonBedrockFullAccess "
                "or AmazonSageMakerFullAccess policy.",
    attack=("T1098.003",),
    atlas=("AML.T0012",),
    owasp_llm=("LLM06:2025", "LLM10:2025"),
    nist_ai_rmf=("GOVERN 1.4", "MEASURE 2.7"),
    references=(
        "https://docs.aws.amazon.com/bedrock/latest/userguide/security-iam-awsmanpol.html",
        "https://attack.mitre.org/techniques/T1098/003/",
    ),
    runbook="Check who attached it and whether the user has access keys; see which AI actions the user "
            "actually calls to size a narrower policy.",
    remediation="Detach the policy and grant a least-privilege customer managed policy to a role the user "
                "assumes, not to the user.",
    services=("iam.amazonaws.com",),
    actions=(
        aws("iam", "DetachUserPolicy", "detach-user-policy", opt("--user-name", "user"),
            Param(name="policy", prefix="--policy-arn=arn:aws:iam::aws:policy/"), regional=False,
            description="Detach the AWS managed AI full-access policy from the user.", risk="medium",
            reversible=True),
        aws("iam", "DetachGroupPolicy", "detach-group-policy", opt("--group-name", "group"),
            Param(name="policy", prefix="--policy-arn=arn:aws:iam::aws:policy/"), regional=False,
            description="Detach the AWS managed AI full-access policy from the group.", risk="medium",
            reversible=True),
    ),
)

_POLICY = re.compile(r"^arn:aws[a-z\-]*:iam::aws:policy/(AmazonBedrockFullAccess|AmazonSageMakerFullAccess)$")
_ACTIONS = frozenset({"AttachUserPolicy", "AttachGroupPolicy"})


def _policy_name(event: dict) -> str:
    match = _POLICY.match(str(ct(event).param("policyArn") or ""))
    return match.group(1) if match else ""


def rule(event: dict) -> bool:
    return (event["action"] in _ACTIONS and event["service"] == "iam.amazonaws.com"
            and event["outcome"] == "success" and bool(_policy_name(event)))


def title(event: dict) -> str:
    record = ct(event)
    target = record.param("userName") or f"group {record.param('groupName')}"
    return f"{_policy_name(event)} attached to {target}"


def context(event: dict) -> dict:
    record = ct(event)
    return {"policy": _policy_name(event), "user": record.param("userName") or "",
            "group": record.param("groupName") or ""}


EXAMPLES = [
    positive("Bedrock full access on a user", cloudtrail(
        "AttachUserPolicy", "iam.amazonaws.com",
        params={"userName": "ci-bot", "policyArn": "arn:aws:iam::aws:policy/AmazonBedrockFullAccess"})),
    positive("SageMaker full access on a group", cloudtrail(
        "AttachGroupPolicy", "iam.amazonaws.com",
        params={"groupName": "data-science", "policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"})),
    negative("read-only policy", cloudtrail(
        "AttachUserPolicy", "iam.amazonaws.com",
        params={"userName": "ci-bot", "policyArn": "arn:aws:iam::aws:policy/AmazonBedrockReadOnly"})),
    negative("full access on a role", cloudtrail(
        "AttachRolePolicy", "iam.amazonaws.com",
        params={"roleName": "sm-exec", "policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"})),
    negative("customer policy with the same name", cloudtrail(
        "AttachUserPolicy", "iam.amazonaws.com",
        params={"userName": "ci-bot", "policyArn": "arn:aws:iam::111122223333:policy/AmazonBedrockFullAccess"})),
]

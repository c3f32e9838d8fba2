"""Roles that can do anything: AdministratorAccess or IAMFullAccess attached, or an inline policy that
allows ``*`` or ``iam:*`` on every resource. A flag per policy (``admin:<policy>``), so detaching one of
two admin policies leaves the role an admin."""

from __future__ import annotations

from typing import Any

from streams.detect.aws import parse_policy
from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, expect

META = ExtractorMeta(
    id="iam_role_admin", title="IAM roles given or stripped of administrator rights",
    services=("iam.amazonaws.com",),
    actions=("AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy", "DeleteRolePolicy"), kinds=("iam_role",),
)
ADMIN_POLICIES = frozenset({"arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess"})


def grants_admin(policy: dict[str, Any] | None) -> bool:
    statements = (policy or {}).get("Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action")
        resources = statement.get("Resource")
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        if any(a in ("*", "iam:*") for a in actions) and "*" in resources:
            return True
    return False


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    name = call.text(call.param, "roleName")
    if not name:
        return []
    role = f"arn:aws:iam::{call.account}:role/{name}"
    action = event["action"]
    if action in ("AttachRolePolicy", "DetachRolePolicy"):
        policy = call.text(call.param, "policyArn")
        if policy not in ADMIN_POLICIES:
            return []
        flag = (f"admin:{policy}",)
        on = action == "AttachRolePolicy"
    else:
        policy_name = call.text(call.param, "policyName")
        flag = (f"admin:inline/{policy_name}",)
        on = action == "PutRolePolicy" and grants_admin(parse_policy(call.param("policyDocument")))
    return [call.asset(role, "iam_role", "update", name=name, provider="aws-iam",
                       flags_on=flag if on else (), flags_off=() if on else flag)]


_ROLE = f"arn:aws:iam::{ACCOUNT}:role/refunds-fn"
_ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
EXAMPLES = [
    expect("AdministratorAccess attached",
           cloudtrail("AttachRolePolicy", "iam.amazonaws.com", params={"roleName": "refunds-fn", "policyArn": _ADMIN}),
           ("asset", "update", "iam_role", _ROLE, f"admin:{_ADMIN}")),
    expect("an inline iam:* policy",
           cloudtrail("PutRolePolicy", "iam.amazonaws.com", params={
               "roleName": "refunds-fn", "policyName": "p",
               "policyDocument": '{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}'}),
           ("asset", "update", "iam_role", _ROLE, "admin:inline/p")),
    expect("a read-only policy is not admin",
           cloudtrail("AttachRolePolicy", "iam.amazonaws.com",
                      params={"roleName": "refunds-fn", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})),
]

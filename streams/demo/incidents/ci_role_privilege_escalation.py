"""Privilege escalation through the CI deploy role: a poisoned pipeline creates an administrator.

The role's own address and SDK, so nothing about the caller looks new; what is new is what it does.
No posture rule covers IAM user creation; this is for the anomaly model to find.
"""

from __future__ import annotations

from streams.demo import cloudtrail
from streams.demo.incidents.base import Incident, RecordSelector, event_names
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import AWS_ACCOUNT

_NEW_USER = "ops-break-glass"
_STEPS = (
    ("ListUsers", True, {}),
    ("ListRoles", True, {}),
    ("ListAttachedRolePolicies", True, {"roleName": "ci-deployer"}),
    ("CreateUser", False, {"userName": _NEW_USER}),
    ("AttachUserPolicy", False, {"userName": _NEW_USER, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ("CreateAccessKey", False, {"userName": _NEW_USER}),
    ("CreateLoginProfile", False, {"userName": _NEW_USER, "passwordResetRequired": False}),
    ("UpdateAssumeRolePolicy", False, {"roleName": "ci-deployer",
                                       "policyDocument": f'{{"Statement":[{{"Effect":"Allow","Principal":'
                                                         f'{{"AWS":"arn:aws:iam::{AWS_ACCOUNT}:user/{_NEW_USER}"}},'
                                                         '"Action":"sts:AssumeRole"}]}'}),
)

INCIDENT = Incident(
    "ci_role_privilege_escalation",
    "Privilege escalation through the CI deploy role",
    f"The ci-deployer role, from its usual runner address and SDK, lists IAM users and roles, creates the IAM "
    f"user {_NEW_USER}, attaches AdministratorAccess, creates an access key and a console password for it, "
    "and lets it assume the deploy role (09:20-09:24).",
    (RecordSelector("cloudtrail", ("assumed-role/ci-deployer/",), event_names(*(name for name, _, _ in _STEPS))),),
    attack=("T1098", "T1136.003"),
    caught_by="anomaly",
    anomalous_access=True,
)


def inject(sim: Simulation) -> None:
    at = at_minute(80)
    for name, read_only, params in _STEPS:
        at = sim.soon_after(at, 30)
        cloudtrail.role_event(sim, "ci-deployer", at, "iam.amazonaws.com", name, read_only=read_only,
                              params=params, region="us-east-1", label=INCIDENT.id)

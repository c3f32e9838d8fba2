"""A SageMaker training or processing job run with a role it should not have.

Passing a role to a job is how a principal borrows that role's permissions: the job runs the caller's
code with them. Unusual means: a role from another account, a role whose name says it is an admin role,
or a role this principal has not used in its earlier jobs.
"""

from __future__ import annotations

import re

from streams.detect import state as rule_state
from streams.detect.aws import is_sagemaker, succeeded
from streams.detect.base import RuleContext, RuleMeta, negative, positive
from streams.detect.examples import OTHER_ACCOUNT, cloudtrail
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="sagemaker_job_unusual_role",
    title="SageMaker job passed an unusual role",
    severity="high",
    status="experimental",
    description="CreateTrainingJob or CreateProcessingJob passed a role from another account, an "
                "administrator-like role, or a role the principal has never used for its earlier jobs "
                "(after at least three jobs).",
    attack=("T1098.003", "T1548"),
    atlas=("AML.T0012", "AML.T0011"),
    owasp_llm=("LLM06:2025",),
    nist_ai_rmf=("MEASURE 2.7", "GOVERN 1.4"),
    references=(
        "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html",
        "https://attack.mitre.org/techniques/T1548/",
    ),
    runbook="Compare the role (context) with the roles the principal normally passes; read the job's "
            "container image and entry point. Privilege escalation through iam:PassRole to a job is a "
            "known path.",
    remediation="Stop the job, limit iam:PassRole for the principal to its SageMaker execution roles "
                "(iam:PassedToService = sagemaker.amazonaws.com), and review what the job touched.",
    provider="aws-sagemaker",
    services=("sagemaker.amazonaws.com",),
    actions=(
        aws("sagemaker", "StopTrainingJob", "stop-training-job", opt("--training-job-name", "training_job"),
            description="Stop the training job until its role is explained.", risk="medium", reversible=False),
        aws("sagemaker", "StopProcessingJob", "stop-processing-job", opt("--processing-job-name", "processing_job"),
            description="Stop the processing job until its role is explained.", risk="medium",
            reversible=False),
    ),
)

_ACTIONS = frozenset({"CreateTrainingJob", "CreateProcessingJob"})
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$")
_PRIVILEGED_NAME = re.compile(r"admin|poweruser|fullaccess|OrganizationAccountAccessRole|root", re.IGNORECASE)
MIN_JOBS_FOR_BASELINE = 3
MAX_ROLES = 20
KEEP_MS = 30 * rule_state.DAY_MS


def _role(event: dict) -> str:
    return str(ct(event).param("roleArn") or "")


def reasons(event: dict, known_roles: dict[str, int], jobs: int) -> list[str]:
    role = _role(event)
    match = _ROLE_ARN.match(role)
    if not match:
        return []
    account, name = match.groups()
    found = []
    if account != event["cloud_account"]:
        found.append(f"role belongs to account {account}")
    if _PRIVILEGED_NAME.search(name):
        found.append("administrator-like role name")
    if jobs >= MIN_JOBS_FOR_BASELINE and role not in known_roles:
        found.append(f"first use of this role after {jobs} jobs with other roles")
    return found


def rule(event: dict, ctx: RuleContext) -> bool:
    state = ctx.state
    if event["action"] not in _ACTIONS or not is_sagemaker(event) or not succeeded(event):
        return False
    now = event["time"]
    key = rule_state.principal_key(META.id, event)
    value = rule_state.load(state, key, now)
    if rule_state.counted_before(value, event):
        return False
    known_roles = dict(value.get("roles", {}))
    jobs = int(value.get("jobs", 0))
    unusual = reasons(event, known_roles, jobs)
    role = _role(event)
    if role:
        known_roles[role] = now
    newest = dict(sorted(known_roles.items(), key=lambda item: item[1])[-MAX_ROLES:])
    updated = {"roles": newest, "jobs": jobs + 1, "last_reasons": unusual, "counted": value.get("counted", [])}
    rule_state.remember(updated, event)
    rule_state.store(state, key, updated, now, KEEP_MS)
    return bool(unusual)


def context(event: dict, ctx: RuleContext) -> dict:
    state = ctx.state
    value = rule_state.load(state, rule_state.principal_key(META.id, event), event["time"])
    training, processing = ct(event).param("trainingJobName") or "", ct(event).param("processingJobName") or ""
    return {"role": _role(event), "why": value.get("last_reasons", []), "job": training or processing,
            "training_job": training, "processing_job": processing}


def _job(role: str, at: float = 0, name: str = "train-1") -> dict:
    return cloudtrail("CreateTrainingJob", "sagemaker.amazonaws.com", at=at,
                      params={"trainingJobName": name, "roleArn": role,
                              "algorithmSpecification": {"trainingImage": "123.dkr.ecr.us-east-1.amazonaws.com/t:1"}})


_USUAL = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-2024"
EXAMPLES = [
    positive("administrator role passed", _job("arn:aws:iam::111122223333:role/OrgAdmin")),
    positive("role from another account", _job(f"arn:aws:iam::{OTHER_ACCOUNT}:role/sagemaker-exec")),
    positive("processing job with an administrator role", cloudtrail(
        "CreateProcessingJob", "sagemaker.amazonaws.com",
        params={"processingJobName": "prep-1", "roleArn": "arn:aws:iam::111122223333:role/PowerUserAccess",
                "appSpecification": {"imageUri": "123.dkr.ecr.us-east-1.amazonaws.com/p:1"}})),
    positive("new role after a history of jobs",
             *[_job(_USUAL, at=3600 * i, name=f"t{i}") for i in range(3)],
             _job("arn:aws:iam::111122223333:role/data-lake-reader", at=4 * 3600)),
    negative("the usual execution role", *[_job(_USUAL, at=3600 * i, name=f"t{i}") for i in range(4)]),
    negative("a new principal's first job", _job("arn:aws:iam::111122223333:role/team-b-sagemaker")),
]

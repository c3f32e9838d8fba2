"""AWS knowledge shared by several rules: API groupings, policy and ACL analysis, S3 names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

# INVOKE_ACTIONS (Bedrock calls that run a model, what LLMjacking abuses) and is_bedrock are the
# enrichment's: which AI service an event used is decided once, there.
from streams.enrich.ai_usage import INVOKE_ACTIONS, is_bedrock  # noqa: F401 -- re-exported for rules

# Everything a Bedrock API key is meant for: the invoke calls plus their runtime helpers.
BEDROCK_API_KEY_ACTIONS = INVOKE_ACTIONS | {"CountTokens", "ApplyGuardrail", "GetAsyncInvoke", "ListAsyncInvokes"}
# Read-only calls that map which models exist and which are usable: the first step of LLMjacking.
RECON_ACTIONS = frozenset({
    "ListFoundationModels", "GetFoundationModel", "GetFoundationModelAvailability",
    "ListFoundationModelAgreementOffers", "GetUseCaseForModelAccess", "ListInferenceProfiles",
    "ListCustomModels", "ListImportedModels", "ListProvisionedModelThroughputs",
    "GetModelInvocationLoggingConfiguration", "ListGuardrails", "ListMarketplaceModelEndpoints",
})
# Calls that switch on access to a third-party model (a subscription, with a bill attached).
MODEL_ACCESS_ACTIONS = frozenset({
    "PutFoundationModelEntitlement", "PutUseCaseForModelAccess", "CreateFoundationModelAgreement",
})


def is_sagemaker(event: dict) -> bool:
    return event.get("service") == "sagemaker.amazonaws.com"


def succeeded(event: dict) -> bool:
    return event.get("outcome") == "success"


# --- resource policies -----------------------------------------------------------------------------

# Condition keys that tie a statement to known callers or networks: a wildcard principal under one
# of them is not public.
RESTRICTING_CONDITION_KEYS = frozenset(key.lower() for key in (
    "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn",
    "aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths", "aws:SourceVpc",
    "aws:SourceVpce", "aws:SourceIp", "aws:VpcSourceIp", "aws:userid", "aws:username",
    "s3:DataAccessPointAccount", "s3:DataAccessPointArn",
))


def parse_policy(value: Any) -> dict[str, Any] | None:
    """A policy document given as an object or as JSON text; None when it is neither."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _statements(policy: dict[str, Any]) -> Iterator[dict[str, Any]]:
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if isinstance(statements, list):
        yield from (item for item in statements if isinstance(item, dict))


def _is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        for kind in ("AWS", "CanonicalUser"):
            value = principal.get(kind)
            values = value if isinstance(value, list) else [value]
            if "*" in values:
                return True
    return False


def _restricted(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for clauses in condition.values():
        if isinstance(clauses, dict) and any(key.lower() in RESTRICTING_CONDITION_KEYS for key in clauses):
            return True
    return False


def public_statements(policy: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Allow statements granting to everyone (``*``) with no condition that narrows who can call."""
    if not policy:
        return []
    return [
        statement for statement in _statements(policy)
        if statement.get("Effect") == "Allow" and _is_everyone(statement.get("Principal"))
        and not _restricted(statement)
    ]


# --- S3 ------------------------------------------------------------------------------------------

PUBLIC_GROUP_URIS = ("acs.amazonaws.com/groups/global/AllUsers", "acs.amazonaws.com/groups/global/AuthenticatedUsers")
PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})

_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/|$)")
_S3_ARN = re.compile(r"^arn:aws[a-z\-]*:s3:::([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/|$)")


def bucket_of(value: Any) -> str:
    """The bucket named by an ``s3://bucket/key`` URI or an ``arn:aws:s3:::bucket`` ARN, else ''."""
    if not isinstance(value, str):
        return ""
    match = _S3_URI.match(value) or _S3_ARN.match(value)
    return match.group(1) if match else ""


def buckets_in(node: Any) -> set[str]:
    """Every bucket referenced anywhere in a request (URIs, ARNs, ``bucketName`` keys)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ("bucketName", "BucketName") and isinstance(value, str) and value:
                    found.add(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            bucket = bucket_of(item)
            if bucket:
                found.add(bucket)
    return found


def canned_acl(params: dict[str, Any]) -> str:
    """The ``x-amz-acl`` canned ACL of an S3 request (logged as a string or a one-item list)."""
    value = params.get("x-amz-acl")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def grants_public_acl(params: dict[str, Any]) -> bool:
    """An S3 ACL request that opens the bucket to everyone or to every AWS account."""
    if canned_acl(params) in PUBLIC_CANNED_ACLS:
        return True
    text = orjson.dumps(params).decode()
    return any(uri in text for uri in PUBLIC_GROUP_URIS)


# --- SageMaker -------------------------------------------------------------------------------------

def notebook_created(event: dict) -> bool:
    return event["action"] == "CreateNotebookInstance" and is_sagemaker(event) and succeeded(event)


def enabled_unless_disabled(value: Any) -> bool:
    """SageMaker settings such as DirectInternetAccess and RootAccess default to Enabled when omitted."""
    return not (isinstance(value, str) and value.lower() == "disabled")

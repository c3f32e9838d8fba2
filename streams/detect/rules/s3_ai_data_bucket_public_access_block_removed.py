"""S3 Block Public Access turned off for an AI data bucket, or for the whole account."""

from __future__ import annotations

from typing import Any

from streams.detect import ai_data
from streams.detect.aws import succeeded
from streams.detect.base import RuleContext, RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import ALL_BLOCKED, aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="s3_ai_data_bucket_public_access_block_removed",
    title="Block Public Access removed from an AI data bucket",
    severity="high",
    status="stable",
    description="DeleteBucketPublicAccessBlock, or PutBucketPublicAccessBlock with a setting turned off, on "
                "a bucket that holds AI data; or the account-level public access block deleted or weakened. "
                "It is the usual first step before making data public.",
    attack=("T1530", "T1562.001"),
    atlas=("AML.T0025", "AML.T0020"),
    owasp_llm=("LLM02:2025", "LLM04:2025"),
    nist_ai_rmf=("MEASURE 2.7", "MEASURE 2.10"),
    references=("https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",),
    runbook="Look for a bucket policy or ACL change on the same bucket right after; if none, restore the block "
            "before one happens.",
    remediation="Restore all four Block Public Access settings on the bucket and the account, and deny "
                "s3:PutBucketPublicAccessBlock / s3:PutAccountPublicAccessBlock outside a break-glass role.",
    services=("s3-control.amazonaws.com", "s3.amazonaws.com", *ai_data.LEARNING_SERVICES),
    actions=(
        aws("s3api", "PutPublicAccessBlock", "put-public-access-block", opt("--bucket", "bucket"),
            f"--public-access-block-configuration={ALL_BLOCKED}", regional=False,
            description="Restore all four Block Public Access settings on the bucket.", risk="low",
            reversible=True),
        aws("s3control", "PutPublicAccessBlock", "put-public-access-block", opt("--account-id", "account"),
            f"--public-access-block-configuration={ALL_BLOCKED}", regional=False, absent=("bucket",),
            description="Restore all four Block Public Access settings for the account.", risk="medium",
            reversible=True),
    ),
)

_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
_ACCOUNT_ACTIONS = frozenset({"DeleteAccountPublicAccessBlock", "PutAccountPublicAccessBlock"})
_BUCKET_ACTIONS = frozenset({"DeleteBucketPublicAccessBlock", "PutBucketPublicAccessBlock"})
_SOURCES = frozenset({"s3.amazonaws.com", "s3-control.amazonaws.com"})


def _switched_off(params: dict[str, Any]) -> list[str]:
    config = params.get("PublicAccessBlockConfiguration") or params.get("publicAccessBlockConfiguration")
    if not isinstance(config, dict):
        return []
    return [name for name in _SETTINGS
            if str(config.get(name, config.get(name[:1].lower() + name[1:], ""))).lower() == "false"]


def _weakens(event: dict) -> bool:
    return event["action"].startswith("Delete") or bool(_switched_off(ct(event).request_parameters))


def rule(event: dict, ctx: RuleContext) -> bool:
    state = ctx.state
    ai_data.observe(event, state)
    action = event["action"]
    if event["service"] not in _SOURCES or not succeeded(event):
        return False
    if action in _ACCOUNT_ACTIONS:
        return _weakens(event)
    if action in _BUCKET_ACTIONS and _weakens(event):
        return ai_data.is_ai_bucket_once(META.id, str(ct(event).param("bucketName") or ""), event, state)
    return False


def title(event: dict) -> str:
    if event["action"] in _ACCOUNT_ACTIONS:
        return "Account-wide S3 Block Public Access removed"
    return f"Block Public Access removed from AI data bucket {ct(event).param('bucketName')}"


def context(event: dict, ctx: RuleContext) -> dict:
    state = ctx.state
    bucket = str(ct(event).param("bucketName") or "")
    return {"bucket": bucket, "scope": "bucket" if bucket else "account", "switched_off": _switched_off(ct(event).request_parameters)
            or ["all"], "why_ai_data": ai_data.why_ai_bucket(bucket, event, state) if bucket else "every bucket"}


_OFF = {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                           "BlockPublicPolicy": False, "RestrictPublicBuckets": False}}
EXAMPLES = [
    positive("block deleted on a model bucket", cloudtrail(
        "DeleteBucketPublicAccessBlock", "s3.amazonaws.com", params={"bucketName": "llm-weights-eu"})),
    positive("policy blocking switched off on a training bucket", cloudtrail(
        "PutBucketPublicAccessBlock", "s3.amazonaws.com", params={"bucketName": "acme-training-data", **_OFF})),
    positive("account-wide block deleted", cloudtrail(
        "DeleteAccountPublicAccessBlock", "s3.amazonaws.com", params={"accountId": "111122223333"})),
    negative("block set fully on a training bucket", cloudtrail(
        "PutBucketPublicAccessBlock", "s3.amazonaws.com", params={"bucketName": "acme-training-data",
                                                                   "PublicAccessBlockConfiguration": dict.fromkeys(
                                                                       _SETTINGS, True)})),
    negative("block deleted on an unrelated bucket", cloudtrail(
        "DeleteBucketPublicAccessBlock", "s3.amazonaws.com", params={"bucketName": "static-site-assets"})),
]

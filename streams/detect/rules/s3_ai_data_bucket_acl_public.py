"""An ACL opening an AI data bucket to everyone or to every AWS account."""

from __future__ import annotations

from streams.detect import ai_data
from streams.detect.aws import canned_acl, grants_public_acl, succeeded
from streams.detect.base import RuleContext, RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import ALL_BLOCKED, aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="s3_ai_data_bucket_acl_public",
    title="AI data bucket made public by ACL",
    severity="high",
    status="stable",
    description="PutBucketAcl or CreateBucket succeeded with a public canned ACL (public-read, "
                "public-read-write, authenticated-read) or a grant to AllUsers/AuthenticatedUsers, on a bucket "
                "that holds AI data.",
    attack=("T1530",),
    atlas=("AML.T0025", "AML.T0020"),
    owasp_llm=("LLM02:2025", "LLM04:2025"),
    nist_ai_rmf=("MEASURE 2.7", "MEASURE 2.10"),
    references=("https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html",),
    runbook="Check which permission the ACL grants (read leaks, write allows poisoning) and whether "
            "anonymous requests reached the bucket since.",
    remediation="Set the bucket ACL back to private, disable ACLs (Object Ownership: bucket owner enforced) "
                "and enable S3 Block Public Access.",
    services=("s3.amazonaws.com", *ai_data.LEARNING_SERVICES),
    actions=(
        aws("s3api", "PutBucketAcl", "put-bucket-acl", opt("--bucket", "bucket"), "--acl=private", regional=False,
            description="Set the bucket's ACL back to private.", risk="low", reversible=True),
        aws("s3api", "PutPublicAccessBlock", "put-public-access-block", opt("--bucket", "bucket"),
            f"--public-access-block-configuration={ALL_BLOCKED}", regional=False,
            description="Turn on all four Block Public Access settings on the bucket.", risk="low",
            reversible=True),
    ),
)

_ACTIONS = frozenset({"PutBucketAcl", "CreateBucket"})


def rule(event: dict, ctx: RuleContext) -> bool:
    state = ctx.state
    ai_data.observe(event, state)
    if event["action"] not in _ACTIONS or event["service"] != "s3.amazonaws.com" or not succeeded(event):
        return False
    record = ct(event)
    if not grants_public_acl(record.request_parameters):
        return False
    return ai_data.is_ai_bucket_once(META.id, str(record.param("bucketName") or ""), event, state)


def dedup_key(event: dict) -> str:
    return f"{META.id}|{ct(event).param('bucketName')}"


def context(event: dict, ctx: RuleContext) -> dict:
    state = ctx.state
    record = ct(event)
    bucket = str(record.param("bucketName") or "")
    return {"bucket": bucket, "canned_acl": canned_acl(record.request_parameters),
            "why_ai_data": ai_data.why_ai_bucket(bucket, event, state)}


_ALL_USERS_GRANT = {"AccessControlPolicy": {"AccessControlList": {"Grant": [{
    "Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
    "Permission": "READ"}]}}}
EXAMPLES = [
    positive("canned public-read on a dataset bucket", cloudtrail(
        "PutBucketAcl", "s3.amazonaws.com", params={"bucketName": "ml-datasets-prod", "x-amz-acl": ["public-read"]})),
    positive("AllUsers grant on a RAG corpus bucket", cloudtrail(
        "PutBucketAcl", "s3.amazonaws.com", params={"bucketName": "rag-corpus", **_ALL_USERS_GRANT})),
    negative("private ACL on a dataset bucket", cloudtrail(
        "PutBucketAcl", "s3.amazonaws.com", params={"bucketName": "ml-datasets-prod", "x-amz-acl": ["private"]})),
    negative("public website bucket", cloudtrail(
        "PutBucketAcl", "s3.amazonaws.com", params={"bucketName": "www-example-com", "x-amz-acl": ["public-read"]})),
]

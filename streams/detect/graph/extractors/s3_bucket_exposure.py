"""S3 buckets opened to everyone (a public policy statement or ACL grant) or writable by another
account, as flags with a start and an end on the bucket node: training and knowledge-base data read
from such a bucket can be poisoned by whoever can write it."""

from __future__ import annotations

from typing import Any

from streams.detect.aws import grants_public_acl, parse_policy, public_statements
from streams.detect.examples import OTHER_ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, expect
from streams.detect.graph.facts import bucket_arn

META = ExtractorMeta(
    id="s3_bucket_exposure", title="S3 buckets made public or cross-account writable, and closed again",
    services=("s3.amazonaws.com",), actions=("PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl"),
    kinds=("s3_bucket",),
)
_WRITES = ("s3:*", "s3:putobject", "*")


def _other_account_writes(policy: dict[str, Any] | None, account: str) -> bool:
    statements = (policy or {}).get("Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        arns = principal.get("AWS") if isinstance(principal, dict) else None
        arns = arns if isinstance(arns, list) else [arns]
        actions = statement.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        foreign = any(isinstance(arn, str) and arn not in ("*",) and account not in arn for arn in arns)
        if foreign and any(isinstance(a, str) and a.lower() in _WRITES for a in actions):
            return True
    return False


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    bucket = call.text(call.param, "bucketName")
    if not bucket:
        return []
    node = bucket_arn(bucket)
    action = event["action"]
    if action == "PutBucketAcl":
        public = grants_public_acl(call.record.request_parameters)
        return [call.asset(node, "s3_bucket", "update", name=bucket, provider="aws-s3",
                           flags_on=("public:acl",) if public else (), flags_off=() if public else ("public:acl",))]
    policy = parse_policy(call.param("bucketPolicy")) if action == "PutBucketPolicy" else None
    on, off = [], []
    (on if public_statements(policy) else off).append("public:policy")
    (on if _other_account_writes(policy, call.account) else off).append("cross_account_write")
    return [call.asset(node, "s3_bucket", "update", name=bucket, provider="aws-s3", flags_on=tuple(on),
                       flags_off=tuple(off))]


_PUBLIC = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                          "Resource": "arn:aws:s3:::train-data/*"}]}
_FOREIGN = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                           "Action": "s3:PutObject", "Resource": "arn:aws:s3:::train-data/*"}]}
EXAMPLES = [
    expect("a public policy", cloudtrail("PutBucketPolicy", "s3.amazonaws.com",
                                         params={"bucketName": "train-data", "bucketPolicy": _PUBLIC}),
           ("asset", "update", "s3_bucket", "arn:aws:s3:::train-data", "public:policy")),
    expect("another account may write", cloudtrail("PutBucketPolicy", "s3.amazonaws.com",
                                                   params={"bucketName": "train-data", "bucketPolicy": _FOREIGN}),
           ("asset", "update", "s3_bucket", "arn:aws:s3:::train-data", "cross_account_write")),
    expect("policy deleted: both closed, nothing opened",
           cloudtrail("DeleteBucketPolicy", "s3.amazonaws.com", params={"bucketName": "train-data"}),
           ("asset", "update", "s3_bucket", "arn:aws:s3:::train-data")),
    expect("a refused call changes nothing",
           cloudtrail("PutBucketPolicy", "s3.amazonaws.com", params={"bucketName": "train-data", "bucketPolicy": _PUBLIC},
                      error="AccessDenied")),
]

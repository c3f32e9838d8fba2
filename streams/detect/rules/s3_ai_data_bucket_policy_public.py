"""A bucket policy making an AI data bucket (training sets, RAG sources, model weights) public."""

from __future__ import annotations

from streams.detect import ai_data
from streams.detect.aws import parse_policy, public_statements, succeeded
from streams.detect.base import RuleContext, RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import ALL_BLOCKED, aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="s3_ai_data_bucket_policy_public",
    title="AI data bucket made public by bucket policy",
    severity="high",
    status="stable",
    description="PutBucketPolicy succeeded with a statement allowing everyone (Principal *) without a "
                "condition that limits callers, on a bucket that holds AI data: named for it, or used by "
                "training, fine-tuning, knowledge-base or invocation-logging jobs in the account.",
    attack=("T1530", "T1537"),
    atlas=("AML.T0025", "AML.T0020", "AML.T0035"),
    owasp_llm=("LLM02:2025", "LLM04:2025"),
    nist_ai_rmf=("MEASURE 2.7", "MEASURE 2.10"),
    references=(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
        "https://atlas.mitre.org/techniques/AML.T0020",
    ),
    runbook="Read the public statements (context): read access leaks the data, write access lets anyone "
            "poison it. Check S3 server access logs or data events for anonymous access since the change.",
    remediation="Remove the public statements, turn on S3 Block Public Access for the bucket and the "
                "account, and if writes were allowed, verify the data against a known-good copy before the "
                "next training run or sync.",
    services=("s3.amazonaws.com", *ai_data.LEARNING_SERVICES),
    actions=(
        aws("s3api", "PutPublicAccessBlock", "put-public-access-block", opt("--bucket", "bucket"),
            f"--public-access-block-configuration={ALL_BLOCKED}", regional=False,
            description="Turn on all four Block Public Access settings on the bucket, which voids its public "
                        "statements; remove them from the policy next.", risk="low", reversible=True),
    ),
)


def rule(event: dict, ctx: RuleContext) -> bool:
    state = ctx.state
    ai_data.observe(event, state)
    if event["action"] != "PutBucketPolicy" or event["service"] != "s3.amazonaws.com" or not succeeded(event):
        return False
    record = ct(event)
    bucket = str(record.param("bucketName") or "")
    if not public_statements(parse_policy(record.param("bucketPolicy"))):
        return False
    return ai_data.is_ai_bucket_once(META.id, bucket, event, state)


def title(event: dict) -> str:
    return f"AI data bucket {ct(event).param('bucketName')} made public by bucket policy"


def dedup_key(event: dict) -> str:
    return f"{META.id}|{ct(event).param('bucketName')}"


def context(event: dict, ctx: RuleContext) -> dict:
    state = ctx.state
    record = ct(event)
    bucket = str(record.param("bucketName") or "")
    statements = public_statements(parse_policy(record.param("bucketPolicy")))
    return {"bucket": bucket, "why_ai_data": ai_data.why_ai_bucket(bucket, event, state),
            "public_actions": sorted({str(s.get("Action")) for s in statements})}


def _policy(principal: object, condition: dict | None = None) -> dict:
    statement = {"Sid": "Read", "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::*/*"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def _put(bucket: str, policy: dict, at: float = 0) -> dict:
    return cloudtrail("PutBucketPolicy", "s3.amazonaws.com", at=at,
                      params={"bucketName": bucket, "bucketPolicy": policy, "host": [f"{bucket}.s3.amazonaws.com"]})


EXAMPLES = [
    positive("training bucket readable by everyone", _put("acme-training-data", _policy("*"))),
    positive("bucket learned from a SageMaker job, then opened",
             cloudtrail("CreateTrainingJob", "sagemaker.amazonaws.com", params={
                 "trainingJobName": "fraud-v7", "roleArn": "arn:aws:iam::111122223333:role/sm-exec",
                 "inputDataConfig": [{"channelName": "train", "dataSource": {"s3DataSource": {
                     "s3Uri": "s3://corp-docs-2024/fraud/train/"}}}]}),
             _put("corp-docs-2024", _policy({"AWS": "*"}), at=3600)),
    negative("unrelated bucket made public", _put("marketing-site-assets", _policy("*"))),
    negative("AI bucket shared only inside the organization",
             _put("acme-training-data", _policy("*", {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}))),
    negative("AI bucket granted to a service", _put("acme-training-data",
                                                    _policy({"Service": "sagemaker.amazonaws.com"}))),
]

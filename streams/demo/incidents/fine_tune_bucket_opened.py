"""A fine-tuning bucket opened to a vendor's account, then closed again: an attack path for a while.

priya.nair fine-tunes a Titan model on support tickets in ``globex-support-finetune`` (08:12). nina.petrova
lets the labelling vendor's account upload into the same bucket with a bucket policy (08:47): whoever holds
that account can now poison the next training run. tom.becker deletes the policy after review (09:38).
The graph's ``exposed_training_data`` path (bucket -> customization job -> custom model) exists from 08:47
to 09:38.
"""

from __future__ import annotations

from streams.demo import cloudtrail
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import AWS_ACCOUNT, EMPLOYEE_BY_LOGIN

BUCKET = "globex-support-finetune"
JOB_NAME = "support-tone-ft-20261120"
JOB_ARN = (f"arn:aws:bedrock:us-east-1:{AWS_ACCOUNT}:model-customization-job/"
           "amazon.titan-text-express-v1:0:8k/x3f9q2m7v1zk")
CUSTOM_MODEL = "support-tone-v2"
VENDOR_ACCOUNT = "318046592217"
OPENED_AT, CLOSED_AT = at_minute(47, 12), at_minute(98, 40)

INCIDENT = Incident(
    "fine_tune_bucket_opened",
    "Fine-tuning data bucket writable by another account",
    f"priya.nair starts a Bedrock fine-tuning job ({JOB_NAME}) on s3://{BUCKET} (08:12); nina.petrova adds a "
    f"bucket policy letting account {VENDOR_ACCOUNT} put objects into it (08:47); tom.becker deletes the "
    "policy (09:38). Attack path: cross-account-writable bucket -> customization job -> custom model.",
    (RecordSelector("cloudtrail", (BUCKET,)),),
    attack=("T1565.001",),
    caught_by="paths",
)

_VENDOR_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "LabelingVendorUpload",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{VENDOR_ACCOUNT}:root"},
        "Action": ["s3:PutObject", "s3:PutObjectAcl"],
        "Resource": f"arn:aws:s3:::{BUCKET}/train/*",
    }],
}


def _bucket_call(sim: Simulation, login: str, at_us: int, name: str, params: dict) -> None:
    cloudtrail.sso_event(
        sim, EMPLOYEE_BY_LOGIN[login], at_us, "s3.amazonaws.com", name, console=True, read_only=False,
        params={"bucketName": BUCKET, "Host": f"{BUCKET}.s3.amazonaws.com", **params},
        resources=[{"accountId": AWS_ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{BUCKET}"}],
        host=f"{BUCKET}.s3.amazonaws.com", label=INCIDENT.id,
    )


def inject(sim: Simulation) -> None:
    cloudtrail.sso_event(
        sim, EMPLOYEE_BY_LOGIN["priya.nair"], at_minute(12, 5), "bedrock.amazonaws.com",
        "CreateModelCustomizationJob", console=False, read_only=False,
        params={
            "jobName": JOB_NAME,
            "customModelName": CUSTOM_MODEL,
            "roleArn": f"arn:aws:iam::{AWS_ACCOUNT}:role/bedrock-customization",
            "baseModelIdentifier": "amazon.titan-text-express-v1:0:8k",
            "customizationType": "FINE_TUNING",
            "trainingDataConfig": {"s3Uri": f"s3://{BUCKET}/train/tickets-2026-11.jsonl"},
            "validationDataConfig": {"validators": [{"s3Uri": f"s3://{BUCKET}/validation/tickets-2026-11.jsonl"}]},
            "outputDataConfig": {"s3Uri": f"s3://{BUCKET}/output/"},
            "hyperParameters": {"epochCount": "2", "batchSize": "1", "learningRate": "0.00001"},
        },
        response={"jobArn": JOB_ARN},
        label=INCIDENT.id,
    )
    _bucket_call(sim, "nina.petrova", OPENED_AT, "PutBucketPolicy",
                 {"bucketPolicy": _VENDOR_POLICY, "policy": ""})
    _bucket_call(sim, "tom.becker", CLOSED_AT, "DeleteBucketPolicy", {"policy": ""})

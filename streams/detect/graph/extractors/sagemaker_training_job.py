"""SageMaker training jobs: the S3 data they train on, where they write the model, the role they run as."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import (
    Call,
    ExtractorMeta,
    Fact,
    bucket_edge,
    bucket_node,
    execution_role,
    expect,
)

META = ExtractorMeta(
    id="sagemaker_training_job", title="SageMaker training jobs and their data",
    services=("sagemaker.amazonaws.com",), actions=("CreateTrainingJob",), kinds=("sagemaker_training_job",),
)
KIND = "sagemaker_training_job"


def job_arn(call: Call, name: str) -> str:
    return call.arn("sagemaker", f"training-job/{name.lower()}")


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    name = call.text(call.param, "trainingJobName")
    job = call.text(call.response, "trainingJobArn") or (job_arn(call, name) if name else "")
    if not job:
        return []
    flags = [] if call.param("outputDataConfig", "kmsKeyId") else ["no_kms_key"]
    flags += [] if call.param("enableNetworkIsolation") in (True, "true") or call.param("vpcConfig") else ["no_vpc"]
    facts: list[Fact] = [call.asset(job, KIND, "create", name=name, provider="aws-sagemaker", flags_on=tuple(flags))]
    for channel in call.param("inputDataConfig") or []:
        if not isinstance(channel, dict):
            continue
        uri = ((channel.get("dataSource") or {}).get("s3DataSource") or {}).get("s3Uri")
        facts += bucket_edge(call, uri, "training_data", job, KIND)
    output = bucket_node(call.param("outputDataConfig", "s3OutputPath"))
    if output:
        facts.append(call.edge(job, KIND, "writes", output, "s3_bucket"))
    facts += execution_role(call, "roleArn", job, KIND)
    return facts


_JOB = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn-1"
EXAMPLES = [
    expect("training on an S3 channel",
           cloudtrail("CreateTrainingJob", "sagemaker.amazonaws.com", params={
               "trainingJobName": "churn-1", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/train",
               "inputDataConfig": [{"channelName": "train",
                                    "dataSource": {"s3DataSource": {"s3Uri": "s3://ml-data/churn/"}}}],
               "outputDataConfig": {"s3OutputPath": "s3://ml-models/churn/", "kmsKeyId": "k"},
               "enableNetworkIsolation": True},
               response={"trainingJobArn": _JOB}),
           ("asset", "create", KIND, _JOB), ("edge", "open", "arn:aws:s3:::ml-data", "training_data", _JOB),
           ("edge", "open", _JOB, "writes", "arn:aws:s3:::ml-models"),
           ("edge", "open", f"arn:aws:iam::{ACCOUNT}:role/train", "execution_role", _JOB)),
    expect("refused", cloudtrail("CreateTrainingJob", "sagemaker.amazonaws.com", params={"trainingJobName": "x"},
                                 error="ValidationException")),
]

"""A Bedrock model customization (fine-tuning) job: its training data, base model, role and the custom
model it makes. The custom model's final ARN is known only when the job ends, so the model is named by
the job's ``customModelName``."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import (
    Call,
    ExtractorMeta,
    Fact,
    bucket_node,
    execution_role,
    expect,
    model_node,
)

META = ExtractorMeta(
    id="bedrock_customization_job", title="Bedrock model customization jobs and the models they make",
    services=("bedrock.amazonaws.com",), actions=("CreateModelCustomizationJob",),
    kinds=("bedrock_customization_job", "bedrock_custom_model"),
)


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    name = call.text(call.param, "jobName")
    job = call.text(call.response, "jobArn") or (call.arn("bedrock", f"model-customization-job/{name}") if name else "")
    if not job:
        return []
    model_name = call.text(call.param, "customModelName")
    no_kms = () if call.param("customModelKmsKeyId") else ("no_kms_key",)
    facts: list[Fact] = [call.asset(job, "bedrock_customization_job", "create", name=name, provider="aws-bedrock",
                                    attributes={"customization_type": call.param("customizationType") or ""})]
    if model_name:
        model = call.arn("bedrock", f"custom-model/{model_name}")
        facts += [call.asset(model, "bedrock_custom_model", "create", name=model_name, provider="aws-bedrock",
                             flags_on=no_kms),
                  call.edge(job, "bedrock_customization_job", "produces", model, "bedrock_custom_model")]
    base, base_kind = model_node(call, call.param("baseModelIdentifier"))
    if base:
        facts.append(call.edge(base, base_kind, "base_model_of", job, "bedrock_customization_job"))
    for uri in [call.param("trainingDataConfig", "s3Uri"),
                *[v.get("s3Uri") for v in call.param("validationDataConfig", "validators") or [] if isinstance(v, dict)]]:
        bucket = bucket_node(uri)
        if bucket:
            facts.append(call.edge(bucket, "s3_bucket", "training_data", job, "bedrock_customization_job",
                                   detail={"uri": uri}))
    output = bucket_node(call.param("outputDataConfig", "s3Uri"))
    if output:
        facts.append(call.edge(job, "bedrock_customization_job", "writes", output, "s3_bucket"))
    facts += execution_role(call, "roleArn", job, "bedrock_customization_job")
    return facts


_JOB = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/ft-support"
_MODEL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/support-bot"
_PARAMS = {"jobName": "ft-support", "customModelName": "support-bot", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ft",
           "baseModelIdentifier": "amazon.titan-text-express-v1",
           "trainingDataConfig": {"s3Uri": "s3://train-data/support.jsonl"},
           "outputDataConfig": {"s3Uri": "s3://ft-output/"}}
EXAMPLES = [
    expect("a job with its data, base model, role and model",
           cloudtrail("CreateModelCustomizationJob", params=_PARAMS, response={"jobArn": _JOB}),
           ("asset", "create", "bedrock_customization_job", _JOB),
           ("asset", "create", "bedrock_custom_model", _MODEL, "no_kms_key"),
           ("edge", "open", _JOB, "produces", _MODEL),
           ("edge", "open", "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
            "base_model_of", _JOB),
           ("edge", "open", "arn:aws:s3:::train-data", "training_data", _JOB),
           ("edge", "open", _JOB, "writes", "arn:aws:s3:::ft-output"),
           ("edge", "open", f"arn:aws:iam::{ACCOUNT}:role/ft", "execution_role", _JOB)),
    expect("a failed call makes nothing",
           cloudtrail("CreateModelCustomizationJob", params=_PARAMS, error="AccessDeniedException")),
]

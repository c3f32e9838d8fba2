"""SageMaker models: the artifact they serve (and the training job that wrote it, read from the
artifact's standard path ``.../<job>/output/model.tar.gz``), the role they run as."""

from __future__ import annotations

import re

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, bucket_node, execution_role, expect
from streams.detect.graph.extractors.sagemaker_training_job import job_arn

META = ExtractorMeta(
    id="sagemaker_model", title="SageMaker models created and deleted",
    services=("sagemaker.amazonaws.com",), actions=("CreateModel", "DeleteModel"), kinds=("sagemaker_model",),
)
KIND = "sagemaker_model"
_JOB_OUTPUT = re.compile(r"/([A-Za-z0-9][A-Za-z0-9\-]{0,62})/output/model\.tar\.gz$")


def model_arn(call: Call, name: str) -> str:
    return call.arn("sagemaker", f"model/{name.lower()}")


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    name = call.text(call.param, "modelName")
    model = call.text(call.response, "modelArn") or (model_arn(call, name) if name else "")
    if not model:
        return []
    if event["action"] == "DeleteModel":
        return [call.asset(model, KIND, "delete")]
    flags = () if call.param("enableNetworkIsolation") in (True, "true") or call.param("vpcConfig") else ("no_vpc",)
    facts: list[Fact] = [call.asset(model, KIND, "create", name=name, provider="aws-sagemaker", flags_on=flags)]
    containers = [call.param("primaryContainer"), *(call.param("containers") or [])]
    for container in containers:
        uri = container.get("modelDataUrl") if isinstance(container, dict) else None
        if not bucket_node(uri):
            continue
        facts.append(call.edge(bucket_node(uri), "s3_bucket", "model_data", model, KIND, detail={"uri": uri}))
        job = _JOB_OUTPUT.search(uri)
        if job:
            facts.append(call.edge(job_arn(call, job.group(1)), "sagemaker_training_job", "produces", model, KIND,
                                   detail={"inferred_from": uri}))
    facts += execution_role(call, "executionRoleArn", model, KIND)
    return facts


_MODEL = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/churn"
EXAMPLES = [
    expect("a model from a training job's artifact",
           cloudtrail("CreateModel", "sagemaker.amazonaws.com", params={
               "modelName": "churn", "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/serve",
               "primaryContainer": {"modelDataUrl": "s3://ml-models/churn/churn-1/output/model.tar.gz"}},
               response={"modelArn": _MODEL}),
           ("asset", "create", KIND, _MODEL, "no_vpc"),
           ("edge", "open", "arn:aws:s3:::ml-models", "model_data", _MODEL),
           ("edge", "open", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn-1", "produces", _MODEL),
           ("edge", "open", f"arn:aws:iam::{ACCOUNT}:role/serve", "execution_role", _MODEL)),
    expect("deleted", cloudtrail("DeleteModel", "sagemaker.amazonaws.com", params={"modelName": "churn"}),
           ("asset", "delete", KIND, _MODEL)),
    expect("refused", cloudtrail("CreateModel", "sagemaker.amazonaws.com", params={"modelName": "churn"},
                                 error="ValidationException")),
]

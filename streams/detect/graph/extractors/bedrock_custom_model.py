"""Bedrock custom models made directly from model artifacts in S3 (CreateCustomModel), and custom
models deleted (whichever way they were made)."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import (
    Call,
    ExtractorMeta,
    Fact,
    bucket_edge,
    execution_role,
    expect,
    model_node,
)

META = ExtractorMeta(
    id="bedrock_custom_model", title="Bedrock custom models created from S3 artifacts and deleted",
    services=("bedrock.amazonaws.com",), actions=("CreateCustomModel", "DeleteCustomModel"),
    kinds=("bedrock_custom_model",),
)


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    if event["action"] == "DeleteCustomModel":
        model, kind = model_node(call, call.param("modelIdentifier"))
        if model and kind == "bedrock_foundation_model":  # a bare name: the custom model of that name
            model, kind = call.arn("bedrock", f"custom-model/{call.param('modelIdentifier')}"), "bedrock_custom_model"
        return [call.asset(model, kind, "delete")] if model else []
    name = call.text(call.param, "modelName")
    model = call.text(call.response, "modelArn") or (call.arn("bedrock", f"custom-model/{name}") if name else "")
    if not model:
        return []
    flags = () if call.param("modelKmsKeyArn") else ("no_kms_key",)
    facts: list[Fact] = [call.asset(model, "bedrock_custom_model", "create", name=name, provider="aws-bedrock",
                                    flags_on=flags)]
    uri = call.param("modelSourceConfig", "s3DataSource", "s3Uri")
    facts += bucket_edge(call, uri, "model_data", model, "bedrock_custom_model")
    facts += execution_role(call, "roleArn", model, "bedrock_custom_model")
    return facts


_MODEL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/imported-llama"
EXAMPLES = [
    expect("created from S3 with a KMS key",
           cloudtrail("CreateCustomModel", params={"modelName": "imported-llama", "modelKmsKeyArn": "arn:aws:kms:k",
                                                   "modelSourceConfig": {"s3DataSource": {"s3Uri": "s3://weights/l/"}}},
                      response={"modelArn": _MODEL}),
           ("asset", "create", "bedrock_custom_model", _MODEL),
           ("edge", "open", "arn:aws:s3:::weights", "model_data", _MODEL)),
    expect("deleted by name", cloudtrail("DeleteCustomModel", params={"modelIdentifier": "imported-llama"}),
           ("asset", "delete", "bedrock_custom_model", _MODEL)),
    expect("a failed call makes nothing",
           cloudtrail("CreateCustomModel", params={"modelName": "x"}, error="ValidationException")),
]

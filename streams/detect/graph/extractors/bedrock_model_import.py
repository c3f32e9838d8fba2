"""Bedrock custom model import: the import job, the imported model, where its weights came from."""

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
    id="bedrock_model_import", title="Bedrock model import jobs and imported models",
    services=("bedrock.amazonaws.com",), actions=("CreateModelImportJob", "DeleteImportedModel"),
    kinds=("bedrock_model_import_job", "bedrock_imported_model"),
)


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    if event["action"] == "DeleteImportedModel":
        identifier = call.param("modelIdentifier")
        model, _kind = model_node(call, identifier)
        if model and not str(identifier).startswith("arn:"):
            model = call.arn("bedrock", f"imported-model/{identifier}")
        return [call.asset(model, "bedrock_imported_model", "delete")] if model else []
    name = call.text(call.param, "jobName")
    job = call.text(call.response, "jobArn") or (call.arn("bedrock", f"model-import-job/{name}") if name else "")
    if not job:
        return []
    facts: list[Fact] = [call.asset(job, "bedrock_model_import_job", "create", name=name, provider="aws-bedrock")]
    model_name = call.text(call.param, "importedModelName")
    if model_name:
        model = call.arn("bedrock", f"imported-model/{model_name}")
        flags = () if call.param("importedModelKmsKeyId") else ("no_kms_key",)
        facts += [call.asset(model, "bedrock_imported_model", "create", name=model_name, provider="aws-bedrock",
                             flags_on=flags),
                  call.edge(job, "bedrock_model_import_job", "produces", model, "bedrock_imported_model")]
    uri = call.param("modelDataSource", "s3DataSource", "s3Uri")
    facts += bucket_edge(call, uri, "model_data", job, "bedrock_model_import_job")
    facts += execution_role(call, "roleArn", job, "bedrock_model_import_job")
    return facts


_JOB = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-import-job/abc123"
_MODEL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:imported-model/llama-ft"
EXAMPLES = [
    expect("an import job and its model",
           cloudtrail("CreateModelImportJob", params={"jobName": "imp", "importedModelName": "llama-ft",
                                                      "modelDataSource": {"s3DataSource": {"s3Uri": "s3://weights-in/llama/"}}},
                      response={"jobArn": _JOB}),
           ("asset", "create", "bedrock_model_import_job", _JOB),
           ("asset", "create", "bedrock_imported_model", _MODEL, "no_kms_key"),
           ("edge", "open", _JOB, "produces", _MODEL), ("edge", "open", "arn:aws:s3:::weights-in", "model_data", _JOB)),
    expect("imported model deleted", cloudtrail("DeleteImportedModel", params={"modelIdentifier": "llama-ft"}),
           ("asset", "delete", "bedrock_imported_model", _MODEL)),
    expect("a failed import makes nothing",
           cloudtrail("CreateModelImportJob", params={"jobName": "imp"}, error="AccessDeniedException")),
]

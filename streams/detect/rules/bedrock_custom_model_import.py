"""Model weights imported into Bedrock from S3: a model from outside the usual supply chain."""

from __future__ import annotations

from streams.detect.aws import buckets_in, is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_custom_model_import",
    title="Custom model imported into Bedrock",
    severity="medium",
    status="experimental",
    description="CreateModelImportJob or CreateCustomModel succeeded: weights from an S3 location become a "
                "model callable in the account. Imported weights can carry backdoors or poisoned behaviour.",
    attack=("T1195",),
    atlas=("AML.T0010.003", "AML.T0018"),
    owasp_llm=("LLM03:2025", "LLM04:2025"),
    nist_ai_rmf=("GOVERN 6.1", "MAP 4.1"),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-import-model.html",),
    runbook="Find where the weights came from (S3 URI in the context), who put them there and whether the "
            "model went through the model-intake review (provenance, licence, scanning).",
    remediation="Delete the imported model if unreviewed; allow bedrock:CreateModelImportJob only from the "
                "model-intake pipeline role and only from its vetted bucket.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        aws("bedrock", "DeleteImportedModel", "delete-imported-model", opt("--model-identifier", "model_name"),
            description="Delete the imported model if it was not reviewed.", risk="high", reversible=False),
    ),
)

_ACTIONS = frozenset({"CreateModelImportJob", "CreateCustomModel"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and is_bedrock(event) and succeeded(event)


def context(event: dict) -> dict:
    record = ct(event)
    return {"model_name": record.param("importedModelName") or record.param("modelName") or "",
            "source_buckets": sorted(buckets_in(record.request_parameters))}


EXAMPLES = [
    positive("weights imported from S3", cloudtrail(
        "CreateModelImportJob",
        params={"jobName": "import-llama", "importedModelName": "llama-ft",
                "roleArn": "arn:aws:iam::111122223333:role/bedrock-import",
                "modelDataSource": {"s3DataSource": {"s3Uri": "s3://vendor-drop/llama-ft/"}}})),
    negative("import jobs listed", cloudtrail("ListModelImportJobs")),
    negative("import denied", cloudtrail("CreateModelImportJob", params={"jobName": "x"}, error="AccessDeniedException")),
]

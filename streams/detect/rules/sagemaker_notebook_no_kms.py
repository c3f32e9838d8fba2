"""A SageMaker notebook instance whose storage volume is not encrypted with a customer managed key."""

from __future__ import annotations

from streams.detect.aws import notebook_created
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="sagemaker_notebook_no_kms",
    title="SageMaker notebook instance without a KMS key",
    severity="low",
    status="stable",
    description="CreateNotebookInstance succeeded without a KmsKeyId: data on the notebook's ML storage "
                "volume (datasets, model checkpoints, credentials) is not under a key the account controls.",
    attack=("T1530",),
    atlas=("AML.T0035",),
    owasp_llm=("LLM02:2025",),
    nist_ai_rmf=("MEASURE 2.10",),
    references=("https://docs.aws.amazon.com/sagemaker/latest/dg/encryption-at-rest-nbi.html",),
    runbook="Check whether the notebook holds regulated data; if it does, plan a move to an encrypted "
            "instance.",
    remediation="Recreate the notebook with KmsKeyId set to a customer managed key and require it with the "
                "sagemaker:VolumeKmsKey IAM condition key.",
    provider="aws-sagemaker",
    services=("sagemaker.amazonaws.com",),
    actions=(
        aws("sagemaker", "StopNotebookInstance", "stop-notebook-instance", opt("--notebook-instance-name", "notebook"),
            description="Stop the notebook instance until it is recreated with a customer managed KMS key.", risk="medium",
            reversible=True),
    ),
)


def rule(event: dict) -> bool:
    return notebook_created(event) and not ct(event).param("kmsKeyId")


def context(event: dict) -> dict:
    return {"notebook": ct(event).param("notebookInstanceName") or ""}


_BASE = {"notebookInstanceName": "research-nb", "instanceType": "ml.t3.medium",
         "roleArn": "arn:aws:iam::111122223333:role/sagemaker-exec"}
EXAMPLES = [
    positive("no KMS key", cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com", params=_BASE)),
    negative("customer managed key", cloudtrail(
        "CreateNotebookInstance", "sagemaker.amazonaws.com",
        params={**_BASE, "kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"})),
    negative("failed creation", cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com", params=_BASE,
                                           error="ValidationException")),
]

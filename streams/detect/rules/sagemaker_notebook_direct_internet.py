"""A SageMaker notebook instance created with direct internet access (the default)."""

from __future__ import annotations

from streams.detect.aws import enabled_unless_disabled, notebook_created
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="sagemaker_notebook_direct_internet",
    title="SageMaker notebook instance with direct internet access",
    severity="medium",
    status="stable",
    description="CreateNotebookInstance succeeded without DirectInternetAccess=Disabled: the notebook can "
                "reach and be reached through the internet outside the VPC's egress controls, a route for "
                "exfiltrating training data and models.",
    attack=("T1567", "T1133"),
    atlas=("AML.T0025", "AML.T0035"),
    owasp_llm=("LLM02:2025",),
    nist_ai_rmf=("MEASURE 2.7", "MEASURE 2.10"),
    references=("https://docs.aws.amazon.com/sagemaker/latest/dg/appendix-notebook-and-internet-access.html",),
    runbook="Check what data the notebook's role can read; ask the owner whether internet access is needed "
            "and whether the VPC's NAT and proxy would do.",
    remediation="Recreate the notebook in a VPC subnet with DirectInternetAccess=Disabled and enforce it with "
                "the sagemaker:DirectInternetAccess IAM condition key.",
    provider="aws-sagemaker",
    services=("sagemaker.amazonaws.com",),
    actions=(
        aws("sagemaker", "StopNotebookInstance", "stop-notebook-instance", opt("--notebook-instance-name", "notebook"),
            description="Stop the notebook instance until it is recreated in a VPC subnet with DirectInternetAccess=Disabled.", risk="medium",
            reversible=True),
    ),
)


def rule(event: dict) -> bool:
    return notebook_created(event) and enabled_unless_disabled(ct(event).param("directInternetAccess"))


def context(event: dict) -> dict:
    record = ct(event)
    return {"notebook": record.param("notebookInstanceName") or "",
            "direct_internet_access": record.param("directInternetAccess") or "Enabled (default)"}


_BASE = {"notebookInstanceName": "research-nb", "instanceType": "ml.t3.medium",
         "roleArn": "arn:aws:iam::111122223333:role/sagemaker-exec"}
EXAMPLES = [
    positive("internet access left at its default", cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com",
                                                               params=_BASE)),
    positive("internet access explicitly on", cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com",
                                                         params={**_BASE, "directInternetAccess": "Enabled"})),
    negative("internet access disabled", cloudtrail(
        "CreateNotebookInstance", "sagemaker.amazonaws.com",
        params={**_BASE, "directInternetAccess": "Disabled", "subnetId": "subnet-0abc"})),
    negative("creation failed", cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com", params=_BASE,
                                           error="ResourceLimitExceeded")),
]

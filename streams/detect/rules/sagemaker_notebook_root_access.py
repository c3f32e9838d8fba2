"""A SageMaker notebook instance whose users get root on the instance (the default)."""

from __future__ import annotations

from streams.detect.aws import enabled_unless_disabled, is_sagemaker, notebook_created, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="sagemaker_notebook_root_access",
    title="SageMaker notebook instance with root access",
    severity="low",
    status="stable",
    description="CreateNotebookInstance without RootAccess=Disabled, or UpdateNotebookInstance setting "
                "RootAccess=Enabled: notebook users can change the instance, install anything and tamper with "
                "lifecycle scripts and local credentials.",
    attack=("T1548", "T1059"),
    atlas=("AML.T0035",),
    nist_ai_rmf=("MEASURE 2.7",),
    references=("https://docs.aws.amazon.com/sagemaker/latest/dg/nbi-root-access.html",),
    runbook="Check who uses the notebook and whether root is needed (package installs usually are not a "
            "reason: conda environments work without it).",
    remediation="Set RootAccess=Disabled (UpdateNotebookInstance) and enforce it with the sagemaker:RootAccess "
                "IAM condition key.",
    provider="aws-sagemaker",
    services=("sagemaker.amazonaws.com",),
    actions=(
        aws("sagemaker", "StopNotebookInstance", "stop-notebook-instance", opt("--notebook-instance-name", "notebook"),
            description="Stop the notebook instance (it must be stopped to be updated).", risk="medium",
            reversible=True),
        aws("sagemaker", "UpdateNotebookInstance", "update-notebook-instance",
            opt("--notebook-instance-name", "notebook"), "--root-access=Disabled",
            description="Turn root access off, once the instance is stopped.", risk="low", reversible=True),
    ),
)


def rule(event: dict) -> bool:
    root_access = ct(event).param("rootAccess") if event["action"].endswith("NotebookInstance") else None
    if notebook_created(event):
        return enabled_unless_disabled(root_access)
    return (event["action"] == "UpdateNotebookInstance" and is_sagemaker(event) and succeeded(event)
            and isinstance(root_access, str) and root_access.lower() == "enabled")


def context(event: dict) -> dict:
    record = ct(event)
    return {"notebook": record.param("notebookInstanceName") or "",
            "root_access": record.param("rootAccess") or "Enabled (default)"}


_BASE = {"notebookInstanceName": "research-nb", "instanceType": "ml.t3.medium",
         "roleArn": "arn:aws:iam::111122223333:role/sagemaker-exec", "directInternetAccess": "Disabled"}
EXAMPLES = [
    positive("root access left at its default",
             cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com", params=_BASE)),
    positive("root access switched on later", cloudtrail(
        "UpdateNotebookInstance", "sagemaker.amazonaws.com",
        params={"notebookInstanceName": "research-nb", "rootAccess": "Enabled"})),
    negative("root access disabled", cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com",
                                                params={**_BASE, "rootAccess": "Disabled"})),
    negative("update that does not touch root access", cloudtrail(
        "UpdateNotebookInstance", "sagemaker.amazonaws.com",
        params={"notebookInstanceName": "research-nb", "instanceType": "ml.t3.large"})),
]

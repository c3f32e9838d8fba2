"""SageMaker notebook instances, with the posture that matters: direct internet access (the default
when not disabled), no KMS key, root access, no VPC; and the execution role each runs as."""

from __future__ import annotations

from streams.detect.aws import enabled_unless_disabled
from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, execution_role, expect

META = ExtractorMeta(
    id="sagemaker_notebook", title="SageMaker notebook instances created, changed, deleted",
    services=("sagemaker.amazonaws.com",),
    actions=("CreateNotebookInstance", "UpdateNotebookInstance", "DeleteNotebookInstance"),
    kinds=("sagemaker_notebook",),
)
KIND = "sagemaker_notebook"


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    name = call.text(call.param, "notebookInstanceName")
    notebook = call.text(call.response, "notebookInstanceArn") or (
        call.arn("sagemaker", f"notebook-instance/{name.lower()}") if name else "")
    if not notebook:
        return []
    action = event["action"]
    if action == "DeleteNotebookInstance":
        return [call.asset(notebook, KIND, "delete")]
    on: list[str] = []
    off: list[str] = []
    if action == "CreateNotebookInstance":
        on += ["direct_internet"] if enabled_unless_disabled(call.param("directInternetAccess")) else []
        on += ["root_access"] if enabled_unless_disabled(call.param("rootAccess")) else []
        on += [] if call.param("kmsKeyId") else ["no_kms_key"]
        on += [] if call.param("subnetId") else ["no_vpc"]
    elif call.param("rootAccess") is not None:
        (on if enabled_unless_disabled(call.param("rootAccess")) else off).append("root_access")
    facts: list[Fact] = [call.asset(notebook, KIND, "create" if action.startswith("Create") else "update",
                                    name=name, provider="aws-sagemaker", flags_on=tuple(on), flags_off=tuple(off),
                                    attributes={"instance_type": call.param("instanceType")}
                                    if call.param("instanceType") else {})]
    facts += execution_role(call, "roleArn", notebook, KIND)
    return facts


_NOTEBOOK = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/exp"
_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
EXAMPLES = [
    expect("exposed notebook",
           cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com",
                      params={"notebookInstanceName": "exp", "roleArn": _ROLE, "directInternetAccess": "Enabled"},
                      response={"notebookInstanceArn": _NOTEBOOK}),
           ("asset", "create", KIND, _NOTEBOOK, "direct_internet", "no_kms_key", "no_vpc", "root_access"),
           ("edge", "open", _ROLE, "execution_role", _NOTEBOOK)),
    expect("a private notebook",
           cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com",
                      params={"notebookInstanceName": "exp", "directInternetAccess": "Disabled", "rootAccess": "Disabled",
                              "kmsKeyId": "k", "subnetId": "subnet-1"},
                      response={"notebookInstanceArn": _NOTEBOOK}),
           ("asset", "create", KIND, _NOTEBOOK)),
    expect("deleted", cloudtrail("DeleteNotebookInstance", "sagemaker.amazonaws.com",
                                 params={"notebookInstanceName": "exp"}), ("asset", "delete", KIND, _NOTEBOOK)),
    expect("refused", cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com",
                                 params={"notebookInstanceName": "exp"}, error="ResourceLimitExceeded")),
]

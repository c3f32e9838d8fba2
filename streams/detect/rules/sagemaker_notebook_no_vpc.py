"""A SageMaker notebook instance created outside any VPC."""

from __future__ import annotations

from streams.detect.aws import notebook_created
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="sagemaker_notebook_no_vpc",
    title="SageMaker notebook instance without a VPC",
    severity="low",
    status="stable",
    description="CreateNotebookInstance succeeded without a SubnetId: the instance runs in the SageMaker "
                "service network, outside security groups, VPC endpoints, flow logs and egress filtering.",
    attack=("T1567",),
    atlas=("AML.T0025",),
    nist_ai_rmf=("MEASURE 2.7",),
    references=("https://docs.aws.amazon.com/sagemaker/latest/dg/appendix-notebook-and-internet-access.html",),
    runbook="Ask the owner to move the notebook into the team's VPC; check what data its role can reach "
            "in the meantime.",
    remediation="Recreate the notebook with SubnetId and SecurityGroupIds and require them with the "
                "sagemaker:VpcSubnets IAM condition key.",
    provider="aws-sagemaker",
    services=("sagemaker.amazonaws.com",),
    actions=(
        aws("sagemaker", "StopNotebookInstance", "stop-notebook-instance", opt("--notebook-instance-name", "notebook"),
            description="Stop the notebook instance until it is recreated in a VPC subnet.", risk="medium",
            reversible=True),
    ),
)


def rule(event: dict) -> bool:
    return notebook_created(event) and not ct(event).param("subnetId")


def context(event: dict) -> dict:
    return {"notebook": ct(event).param("notebookInstanceName") or ""}


_BASE = {"notebookInstanceName": "research-nb", "instanceType": "ml.t3.medium",
         "roleArn": "arn:aws:iam::111122223333:role/sagemaker-exec"}
EXAMPLES = [
    positive("no subnet", cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com", params=_BASE)),
    positive("Pascal-case parameters, no subnet", cloudtrail(
        "CreateNotebookInstance", "sagemaker.amazonaws.com",
        params={"NotebookInstanceName": "nb2", "InstanceType": "ml.t3.medium"})),
    negative("in a subnet", cloudtrail("CreateNotebookInstance", "sagemaker.amazonaws.com",
                                       params={**_BASE, "subnetId": "subnet-0abc", "securityGroupIds": ["sg-1"]})),
    negative("notebook described", cloudtrail("DescribeNotebookInstance", "sagemaker.amazonaws.com",
                                              params={"notebookInstanceName": "research-nb"})),
]

"""A notebook with (default) direct internet access running as the fraud model's training role.

data-pipeline starts the nightly fraud-model training job as ``sagemaker-training`` (08:14). jonas.berg
creates a notebook with the AWS CLI to debug it (08:52), reusing the training role and leaving
DirectInternetAccess unset, which means Enabled: code on that notebook can rewrite the training data and
the model artifacts. He stops and deletes it (09:33, 09:40). The graph's ``exposed_notebook_role`` path
exists from 08:52 to 09:40.
"""

from __future__ import annotations

from streams.demo import cloudtrail
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import AWS_ACCOUNT, EMPLOYEE_BY_LOGIN

JOB = "fraud-xgb-20261120"
JOB_ARN = f"arn:aws:sagemaker:us-east-1:{AWS_ACCOUNT}:training-job/{JOB}"
NOTEBOOK = "fraud-model-debug"
NOTEBOOK_ARN = f"arn:aws:sagemaker:us-east-1:{AWS_ACCOUNT}:notebook-instance/{NOTEBOOK}"
ROLE_ARN = f"arn:aws:iam::{AWS_ACCOUNT}:role/sagemaker-training"
CREATED_AT, DELETED_AT = at_minute(52, 40), at_minute(100, 15)

INCIDENT = Incident(
    "notebook_on_training_role",
    "Internet-facing SageMaker notebook runs as the training role",
    f"data-pipeline starts the SageMaker training job {JOB} as sagemaker-training (08:14); jonas.berg creates the "
    f"notebook {NOTEBOOK} with the same role and DirectInternetAccess left at its default, Enabled (08:52), then "
    "stops and deletes it (09:33, 09:40). Attack path: notebook -> training role -> training job -> its data.",
    (RecordSelector("cloudtrail", (), (JOB, NOTEBOOK)),),
    attack=("T1078.004",),
    anomalous_access=True,  # a notebook and a training job on one role: windows the model flags
)


def _notebook_call(sim: Simulation, at_us: int, name: str, params: dict, response: dict | None = None) -> None:
    cloudtrail.sso_event(sim, EMPLOYEE_BY_LOGIN["jonas.berg"], at_us, "sagemaker.amazonaws.com", name,
                         console=False, read_only=False, params={"notebookInstanceName": NOTEBOOK, **params},
                         response=response, label=INCIDENT.id)


def inject(sim: Simulation) -> None:
    cloudtrail.role_event(
        sim, "data-pipeline", at_minute(14, 2), "sagemaker.amazonaws.com", "CreateTrainingJob", read_only=False,
        params={
            "trainingJobName": JOB,
            "algorithmSpecification": {
                "trainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                "trainingInputMode": "File"},
            "roleArn": ROLE_ARN,
            "inputDataConfig": [{"channelName": "train", "contentType": "text/csv", "dataSource": {"s3DataSource": {
                "s3DataType": "S3Prefix", "s3Uri": "s3://globex-ml-features/fraud/train/",
                "s3DataDistributionType": "FullyReplicated"}}}],
            "outputDataConfig": {"s3OutputPath": "s3://globex-ml-models/fraud/"},
            "resourceConfig": {"instanceType": "ml.m5.2xlarge", "instanceCount": 1, "volumeSizeInGB": 50},
            "stoppingCondition": {"maxRuntimeInSeconds": 7200},
            "hyperParameters": {"objective": "binary:logistic", "num_round": "200"},
        },
        response={"trainingJobArn": JOB_ARN},
        label=INCIDENT.id,
    )
    _notebook_call(sim, CREATED_AT, "CreateNotebookInstance",
                   {"instanceType": "ml.t3.large", "roleArn": ROLE_ARN, "volumeSizeInGB": 20,
                    "platformIdentifier": "notebook-al2-v3"},
                   {"notebookInstanceArn": NOTEBOOK_ARN})
    _notebook_call(sim, at_minute(93, 5), "StopNotebookInstance", {})
    _notebook_call(sim, DELETED_AT, "DeleteNotebookInstance", {})

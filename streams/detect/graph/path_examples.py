"""Examples of every attack-path pattern (streams/detect/graph/paths.py): CloudTrail events in order, and the
moments at which the pattern must find its path or must not (before the path's last piece was created,
after one of its pieces was deleted or closed). ``tests/unit/test_graph_paths.py`` runs them all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from streams.detect.examples import ACCOUNT, BASE_TIME, OTHER_ACCOUNT, cloudtrail, iam_user

__all__ = ["EXAMPLES", "PathExample", "moment"]


@dataclass(frozen=True, slots=True)
class PathExample:
    name: str
    events: tuple[dict, ...]
    checks: tuple[tuple[int, bool], ...]
    """(moment in epoch ms, whether the pattern finds a path then)."""


def moment(seconds: float) -> int:
    """Epoch ms ``seconds`` after the examples' base time (the ``at`` of ``cloudtrail``)."""
    return int((BASE_TIME + timedelta(seconds=seconds)).timestamp() * 1000)


def _checks(*pairs: tuple[float, bool]) -> tuple[tuple[int, bool], ...]:
    return tuple((moment(at), found) for at, found in pairs)


_S3, _SM = "s3.amazonaws.com", "sagemaker.amazonaws.com"
_KB = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:knowledge-base/KB1"
_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/AG1"
_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:refunds"
_JOB = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/ft"
_PUBLIC = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                          "Resource": "arn:aws:s3:::wiki-export/*"}]}
_FOREIGN = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                           "Action": "s3:PutObject", "Resource": "arn:aws:s3:::train-data/*"}]}


def _kb_from_public_bucket() -> tuple[dict, ...]:
    return (
        cloudtrail("CreateKnowledgeBase", params={"name": "docs"},
                   response={"knowledgeBase": {"knowledgeBaseArn": _KB, "knowledgeBaseId": "KB1"}}, at=0),
        cloudtrail("CreateDataSource", params={"knowledgeBaseId": "KB1", "name": "wiki", "dataSourceConfiguration": {
            "type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::wiki-export"}}},
            response={"dataSource": {"dataSourceId": "DS1"}}, at=60),
        cloudtrail("CreateAgent", params={"agentName": "helpdesk", "foundationModel": "amazon.nova-lite-v1:0"},
                   response={"agent": {"agentArn": _AGENT, "agentId": "AG1"}}, at=90),
        cloudtrail("AssociateAgentKnowledgeBase", params={"agentId": "AG1", "knowledgeBaseId": "KB1"}, at=100),
        cloudtrail("PutBucketPolicy", _S3, params={"bucketName": "wiki-export", "bucketPolicy": _PUBLIC}, at=120),
        cloudtrail("DeleteBucketPolicy", _S3, params={"bucketName": "wiki-export"}, at=600),
    )


def _fine_tune_from_foreign_writable_bucket() -> tuple[dict, ...]:
    return (
        cloudtrail("PutBucketPolicy", _S3, params={"bucketName": "train-data", "bucketPolicy": _FOREIGN}, at=0),
        cloudtrail("CreateModelCustomizationJob", params={
            "jobName": "ft", "customModelName": "support-bot", "baseModelIdentifier": "amazon.titan-text-express-v1",
            "trainingDataConfig": {"s3Uri": "s3://train-data/a.jsonl"}}, response={"jobArn": _JOB}, at=60),
        cloudtrail("DeleteCustomModel", params={"modelIdentifier": "support-bot"}, at=900),
    )


def _agent_with_admin_lambda() -> tuple[dict, ...]:
    role = f"arn:aws:iam::{ACCOUNT}:role/refunds-fn"
    return (
        cloudtrail("CreateFunction20150331", "lambda.amazonaws.com", params={"functionName": "refunds", "role": role},
                   response={"functionArn": _FUNCTION}, at=0),
        cloudtrail("AttachRolePolicy", "iam.amazonaws.com", params={
            "roleName": "refunds-fn", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, at=30),
        cloudtrail("CreateAgent", params={"agentName": "helpdesk", "foundationModel": "amazon.nova-lite-v1:0"},
                   response={"agent": {"agentArn": _AGENT, "agentId": "AG1"}}, at=60),
        cloudtrail("CreateAgentActionGroup", params={"agentId": "AG1", "actionGroupName": "refunds",
                                                     "actionGroupExecutor": {"lambda": _FUNCTION}},
                   response={"agentActionGroup": {"actionGroupId": "GRP1"}}, at=120),
        cloudtrail("DetachRolePolicy", "iam.amazonaws.com", params={
            "roleName": "refunds-fn", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, at=600),
        cloudtrail("AttachRolePolicy", "iam.amazonaws.com", params={
            "roleName": "refunds-fn", "policyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}, at=700),
        cloudtrail("DeleteAgent", params={"agentId": "AG1"}, at=900),
    )


def _unsanctioned_invocations() -> tuple[dict, ...]:
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    invoke = cloudtrail("InvokeModel", identity=iam_user("contractor"), params={"modelId": model}, at=300)
    return ({**invoke, "ai_sanctioned": False},
            {**cloudtrail("InvokeModel", identity=iam_user("ml-team"), params={"modelId": model}, at=200),
             "ai_sanctioned": True})


def _exposed_notebook() -> tuple[dict, ...]:
    role = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
    return (
        cloudtrail("CreateTrainingJob", _SM, params={
            "trainingJobName": "churn-1", "roleArn": role,
            "inputDataConfig": [{"dataSource": {"s3DataSource": {"s3Uri": "s3://ml-data/churn/"}}}]},
            response={"trainingJobArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn-1"}, at=0),
        cloudtrail("CreateNotebookInstance", _SM, params={"notebookInstanceName": "private", "roleArn": role,
                                                          "directInternetAccess": "Disabled"}, at=60),
        cloudtrail("CreateNotebookInstance", _SM, params={"notebookInstanceName": "exp", "roleArn": role,
                                                          "directInternetAccess": "Enabled"},
                   response={"notebookInstanceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/exp"},
                   at=120),
        cloudtrail("DeleteNotebookInstance", _SM, params={"notebookInstanceName": "exp"}, at=900),
    )


EXAMPLES: dict[str, tuple[PathExample, ...]] = {
    "exposed_training_data": (
        PathExample("public bucket -> data source -> knowledge base -> agent", _kb_from_public_bucket(),
                    _checks((30, False), (110, False), (121, True), (599, True), (601, False))),
        PathExample("foreign-writable bucket -> fine-tuning job -> custom model", _fine_tune_from_foreign_writable_bucket(),
                    _checks((30, False), (61, True), (901, True))),
    ),
    "agent_admin_action": (
        PathExample("agent -> action group -> Lambda -> admin role", _agent_with_admin_lambda(),
                    _checks((90, False), (121, True), (601, False), (701, True), (901, False))),
    ),
    "unsanctioned_invocation": (
        PathExample("a contractor the policy does not allow invokes Claude", _unsanctioned_invocations(),
                    _checks((250, False), (301, True))),
    ),
    "exposed_notebook_role": (
        PathExample("internet-facing notebook runs as the training role", _exposed_notebook(),
                    _checks((90, False), (121, True), (901, False))),
    ),
}

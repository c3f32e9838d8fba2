"""A data scientist invokes his provisioned-throughput model directly, around the AI gateway.

diego.alvarez buys provisioned throughput for Claude 3 Haiku (08:30) and calls it from his laptop with the
AWS CLI (08:52-09:05); the policy sanctions Bedrock use only through the AI gateway's role. He deletes the
provisioned throughput at 09:45. The graph's ``unsanctioned_invocation`` path (his session -> the
provisioned model) exists from the first call to the deletion.
"""

from __future__ import annotations

from streams.demo import cloudtrail
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import AWS_ACCOUNT, EMPLOYEE_BY_LOGIN

PROVISIONED_ID = "p3x8k2m9q7zt"
PROVISIONED_ARN = f"arn:aws:bedrock:us-east-1:{AWS_ACCOUNT}:provisioned-model/{PROVISIONED_ID}"
FIRST_CALL_AT, DELETED_AT = at_minute(52, 10), at_minute(105, 2)
_CALLS = 6

INCIDENT = Incident(
    "provisioned_model_unsanctioned_use",
    "Provisioned Bedrock model invoked outside the AI gateway",
    f"diego.alvarez creates provisioned throughput claims-summarizer-pt (08:30), invokes it {_CALLS} times from "
    "his laptop with the AWS CLI, not through the AI gateway (08:52-09:05), and deletes it (09:45). "
    "Attack path: an identity the policy does not sanction -> the model it invoked.",
    (RecordSelector("cloudtrail", (PROVISIONED_ID,)),),
    attack=("T1496",),
)


def inject(sim: Simulation) -> None:
    person = EMPLOYEE_BY_LOGIN["diego.alvarez"]
    cloudtrail.sso_event(
        sim, person, at_minute(30, 14), "bedrock.amazonaws.com", "CreateProvisionedModelThroughput", console=True,
        read_only=False,
        params={"modelUnits": 1, "provisionedModelName": "claims-summarizer-pt",
                "modelId": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0:200k",
                "commitmentDuration": "OneMonth"},
        response={"provisionedModelArn": PROVISIONED_ARN},
        label=INCIDENT.id,
    )
    at = FIRST_CALL_AT
    for _ in range(_CALLS):
        cloudtrail.sso_event(
            sim, person, at, "bedrock.amazonaws.com", "InvokeModel", console=False, read_only=True,
            params={"modelId": PROVISIONED_ARN, "contentType": "application/json", "accept": "application/json"},
            data_event=True, version="1.10", host="bedrock-runtime.us-east-1.amazonaws.com", label=INCIDENT.id,
        )
        at = sim.soon_after(at, 150)
    cloudtrail.sso_event(
        sim, person, DELETED_AT, "bedrock.amazonaws.com", "DeleteProvisionedModelThroughput", console=True,
        read_only=False, params={"provisionedModelId": PROVISIONED_ARN}, label=INCIDENT.id,
    )

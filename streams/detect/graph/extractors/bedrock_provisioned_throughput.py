"""Bedrock provisioned throughput: a model's reserved capacity (and its bill), and which model it serves."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, expect, model_node

META = ExtractorMeta(
    id="bedrock_provisioned_throughput", title="Bedrock provisioned throughput created, changed or deleted",
    services=("bedrock.amazonaws.com",),
    actions=("CreateProvisionedModelThroughput", "UpdateProvisionedModelThroughput", "DeleteProvisionedModelThroughput"),
    kinds=("bedrock_provisioned_throughput",),
)
KIND = "bedrock_provisioned_throughput"


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    action = event["action"]
    if action == "CreateProvisionedModelThroughput":
        pt = call.text(call.response, "provisionedModelArn")
        name = call.text(call.param, "provisionedModelName")
        model, kind = model_node(call, call.param("modelId"))
    else:
        identifier = call.text(call.param, "provisionedModelId")
        pt = identifier if identifier.startswith("arn:") else (
            call.arn("bedrock", f"provisioned-model/{identifier}") if identifier else "")
        name = ""
        model, kind = model_node(call, call.param("desiredModelId"))
    if not pt:
        return []
    if action == "DeleteProvisionedModelThroughput":
        return [call.asset(pt, KIND, "delete")]
    facts: list[Fact] = [call.asset(pt, KIND, "create" if action.startswith("Create") else "update", name=name,
                                    provider="aws-bedrock",
                                    attributes={"model_units": call.param("modelUnits")} if call.param("modelUnits")
                                    else {})]
    if model:
        facts.append(call.edge(model, kind, "served_by", pt, KIND, slot=f"served_by|{pt}"))
    return facts


_PT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/pt1"
_MODEL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/support-bot"
EXAMPLES = [
    expect("throughput for a custom model",
           cloudtrail("CreateProvisionedModelThroughput",
                      params={"provisionedModelName": "pt", "modelId": _MODEL, "modelUnits": 1},
                      response={"provisionedModelArn": _PT}),
           ("asset", "create", KIND, _PT), ("edge", "open", _MODEL, "served_by", _PT)),
    expect("deleted", cloudtrail("DeleteProvisionedModelThroughput", params={"provisionedModelId": "pt1"}),
           ("asset", "delete", KIND, _PT)),
    expect("refused", cloudtrail("CreateProvisionedModelThroughput", params={"modelId": _MODEL},
                                 error="ServiceQuotaExceededException")),
]

"""Bedrock agent action groups: the Lambda function an agent calls to act on the world."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, expect
from streams.detect.graph.extractors.bedrock_agent import agent_arn

META = ExtractorMeta(
    id="bedrock_action_group", title="Bedrock agent action groups and their Lambda functions",
    services=("bedrock.amazonaws.com",),
    actions=("CreateAgentActionGroup", "UpdateAgentActionGroup", "DeleteAgentActionGroup"),
    kinds=("bedrock_action_group",),
)
KIND = "bedrock_action_group"


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    agent = agent_arn(call, call.param("agentId"))
    group_id = call.response("agentActionGroup", "actionGroupId") or call.param("actionGroupId")
    if not agent or not isinstance(group_id, str) or not group_id:
        return []
    group = f"{agent}/action-group/{group_id}"
    if event["action"] == "DeleteAgentActionGroup":
        return [call.asset(group, KIND, "delete")]
    facts: list[Fact] = [
        call.asset(group, KIND, "create" if event["action"].startswith("Create") else "update",
                   name=call.text(call.param, "actionGroupName"), provider="aws-bedrock"),
        call.edge(agent, "bedrock_agent", "has_action_group", group, KIND)]
    function = call.param("actionGroupExecutor", "lambda")
    if isinstance(function, str) and function.startswith("arn:"):
        facts.append(call.edge(group, KIND, "calls", function, "lambda_function", slot=f"calls|{group}"))
    return facts


_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/AG1"
_GROUP = f"{_AGENT}/action-group/GRP1"
_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:refunds"
EXAMPLES = [
    expect("an action group calling a Lambda function",
           cloudtrail("CreateAgentActionGroup", params={"agentId": "AG1", "agentVersion": "DRAFT",
                                                        "actionGroupName": "refunds",
                                                        "actionGroupExecutor": {"lambda": _FUNCTION}},
                      response={"agentActionGroup": {"actionGroupId": "GRP1", "agentId": "AG1"}}),
           ("asset", "create", KIND, _GROUP), ("edge", "open", _AGENT, "has_action_group", _GROUP),
           ("edge", "open", _GROUP, "calls", _FUNCTION)),
    expect("deleted", cloudtrail("DeleteAgentActionGroup", params={"agentId": "AG1", "actionGroupId": "GRP1"}),
           ("asset", "delete", KIND, _GROUP)),
    expect("no agent named, nothing made", cloudtrail("CreateAgentActionGroup", params={"actionGroupName": "x"})),
]

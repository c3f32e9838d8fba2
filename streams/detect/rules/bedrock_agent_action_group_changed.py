"""Tools given to a Bedrock agent changed: a new or edited action group means new things it can do."""

from __future__ import annotations

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_agent_action_group_changed",
    title="Bedrock agent action group created or updated",
    severity="medium",
    status="experimental",
    description="CreateAgentActionGroup or UpdateAgentActionGroup succeeded: the agent gained or changed a "
                "tool (a Lambda function, code interpreter or return-of-control API).",
    attack=("T1648", "T1546"),
    atlas=("AML.T0081", "AML.T0053"),
    owasp_llm=("LLM06:2025",),
    nist_ai_rmf=("MAP 3.5", "MANAGE 2.4"),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/agents-action-create.html",),
    runbook="Review the executor (context) and its permissions: a Lambda that reaches data or the network "
            "lets prompt injection become real actions. Confirm the change came from the agent's pipeline.",
    remediation="Revert the action group, prepare the agent again, and restrict bedrock:*AgentActionGroup to "
                "the deployment role.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("bedrock-agent", "UpdateAgentActionGroup", "agent_id", "action_group", "region",
               description="Disable the action group (actionGroupState=DISABLED) or restore it from code, then "
                           "PrepareAgent.", risk="medium"),
    ),
)

_ACTIONS = frozenset({"CreateAgentActionGroup", "UpdateAgentActionGroup"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and is_bedrock(event) and succeeded(event)


def context(event: dict) -> dict:
    record = ct(event)
    executor = record.param("actionGroupExecutor")
    if not isinstance(executor, dict):
        executor = {}
    return {"agent_id": record.param("agentId") or "", "action_group": record.param("actionGroupName") or "",
            "executor": executor.get("lambda") or executor.get("customControl") or "",
            "builtin": record.param("parentActionGroupSignature") or ""}


EXAMPLES = [
    positive("Lambda tool added", cloudtrail(
        "CreateAgentActionGroup",
        params={"agentId": "AGENT12345", "agentVersion": "DRAFT", "actionGroupName": "refunds",
                "actionGroupExecutor": {"lambda": "arn:aws:lambda:us-east-1:111122223333:function:refund"}})),
    positive("code interpreter enabled", cloudtrail(
        "UpdateAgentActionGroup", params={"agentId": "AGENT12345", "agentVersion": "DRAFT",
                                          "actionGroupId": "AG1", "actionGroupName": "code",
                                          "parentActionGroupSignature": "AMAZON.CodeInterpreter"})),
    negative("action groups listed", cloudtrail("ListAgentActionGroups", params={"agentId": "AGENT12345"})),
]

"""Bedrock agents: the model each answers with, the role it runs as, its guardrail, its knowledge bases."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, execution_role, expect, model_node

META = ExtractorMeta(
    id="bedrock_agent", title="Bedrock agents created, changed, deleted and given knowledge bases",
    services=("bedrock.amazonaws.com",),
    actions=("CreateAgent", "UpdateAgent", "DeleteAgent", "AssociateAgentKnowledgeBase",
             "DisassociateAgentKnowledgeBase"),
    kinds=("bedrock_agent",),
)
KIND = "bedrock_agent"


def agent_arn(call: Call, agent_id: object) -> str:
    return call.arn("bedrock", f"agent/{agent_id}") if isinstance(agent_id, str) and agent_id else ""


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    action = event["action"]
    agent = (call.text(call.response, "agent", "agentArn")
             or agent_arn(call, call.response("agent", "agentId") or call.param("agentId")))
    if not agent:
        return []
    if action == "DeleteAgent":
        return [call.asset(agent, KIND, "delete")]
    if action in ("AssociateAgentKnowledgeBase", "DisassociateAgentKnowledgeBase"):
        kb_id = call.param("knowledgeBaseId")
        if not isinstance(kb_id, str) or not kb_id:
            return []
        kb = call.arn("bedrock", f"knowledge-base/{kb_id}")
        return [call.edge(agent, KIND, "uses_knowledge_base", kb, "bedrock_knowledge_base",
                          "open" if action.startswith("Associate") else "close")]
    guardrail = call.param("guardrailConfiguration", "guardrailIdentifier")
    flags_on = () if guardrail else ("no_guardrail",)
    flags_off = ("no_guardrail",) if guardrail else ()
    if not call.param("customerEncryptionKeyArn"):
        flags_on += ("no_kms_key",)
    else:
        flags_off += ("no_kms_key",)
    facts: list[Fact] = [call.asset(agent, KIND, "create" if action == "CreateAgent" else "update",
                                    name=call.text(call.param, "agentName"), provider="aws-bedrock",
                                    flags_on=flags_on, flags_off=flags_off)]
    model, kind = model_node(call, call.param("foundationModel"))
    if model:
        facts.append(call.edge(agent, KIND, "uses_model", model, kind, slot=f"uses_model|{agent}"))
    if isinstance(guardrail, str) and guardrail:
        target = guardrail if guardrail.startswith("arn:") else call.arn("bedrock", f"guardrail/{guardrail}")
        facts.append(call.edge(agent, KIND, "guarded_by", target, "bedrock_guardrail", slot=f"guarded_by|{agent}"))
    facts += execution_role(call, "agentResourceRoleArn", agent, KIND)
    return facts


_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/AG1"
_ROLE = f"arn:aws:iam::{ACCOUNT}:role/agent-role"
_CLAUDE = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
EXAMPLES = [
    expect("an agent without a guardrail",
           cloudtrail("CreateAgent", params={"agentName": "helpdesk", "agentResourceRoleArn": _ROLE,
                                             "foundationModel": "anthropic.claude-3-haiku-20240307-v1:0"},
                      response={"agent": {"agentArn": _AGENT, "agentId": "AG1"}}),
           ("asset", "create", KIND, _AGENT, "no_guardrail", "no_kms_key"),
           ("edge", "open", _AGENT, "uses_model", _CLAUDE),
           ("edge", "open", _ROLE, "execution_role", _AGENT)),
    expect("a knowledge base associated",
           cloudtrail("AssociateAgentKnowledgeBase", params={"agentId": "AG1", "knowledgeBaseId": "KB1"}),
           ("edge", "open", _AGENT, "uses_knowledge_base", f"arn:aws:bedrock:us-east-1:{ACCOUNT}:knowledge-base/KB1")),
    expect("deleted", cloudtrail("DeleteAgent", params={"agentId": "AG1"}), ("asset", "delete", KIND, _AGENT)),
    expect("a refused create makes nothing", cloudtrail("CreateAgent", params={"agentName": "x"},
                                                        error="AccessDeniedException")),
]

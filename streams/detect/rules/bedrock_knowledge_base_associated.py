"""A knowledge base attached to a Bedrock agent: its documents now shape the agent's answers and actions."""

from __future__ import annotations

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_knowledge_base_associated",
    title="Knowledge base associated with a Bedrock agent",
    severity="low",
    status="experimental",
    description="AssociateAgentKnowledgeBase or UpdateAgentKnowledgeBase succeeded: the agent retrieves from "
                "a (possibly different) knowledge base, a path for indirect prompt injection and RAG poisoning.",
    attack=("T1565.001",),
    atlas=("AML.T0070", "AML.T0051"),
    owasp_llm=("LLM08:2025", "LLM01:2025"),
    nist_ai_rmf=("MAP 4.1", "MEASURE 2.7"),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/agents-kb-add.html",),
    runbook="Check that the knowledge base (context) is the approved one for this agent and who can write "
            "to its data sources.",
    remediation="Disassociate unapproved knowledge bases and restrict write access to the data-source "
                "buckets of approved ones.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        aws("bedrock-agent", "DisassociateAgentKnowledgeBase", "disassociate-agent-knowledge-base",
            opt("--agent-id", "agent_id"), "--agent-version=DRAFT", opt("--knowledge-base-id", "knowledge_base_id"),
            description="Disassociate the knowledge base from the agent's draft (then PrepareAgent) unless it "
                        "is approved.", risk="medium", reversible=True),
    ),
)

_ACTIONS = frozenset({"AssociateAgentKnowledgeBase", "UpdateAgentKnowledgeBase"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and is_bedrock(event) and succeeded(event)


def context(event: dict) -> dict:
    record = ct(event)
    return {"agent_id": record.param("agentId") or "", "knowledge_base_id": record.param("knowledgeBaseId") or "",
            "state": record.param("knowledgeBaseState") or ""}


EXAMPLES = [
    positive("knowledge base attached", cloudtrail(
        "AssociateAgentKnowledgeBase", params={"agentId": "AGENT12345", "agentVersion": "DRAFT",
                                               "knowledgeBaseId": "KB98765", "description": "hr docs"})),
    negative("associations listed", cloudtrail("ListAgentKnowledgeBases", params={"agentId": "AGENT12345"})),
    negative("association refused", cloudtrail("AssociateAgentKnowledgeBase",
                                               params={"agentId": "AGENT12345", "knowledgeBaseId": "KB98765"},
                                               error="ValidationException")),
]

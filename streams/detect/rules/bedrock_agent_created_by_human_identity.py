"""A Bedrock agent created by an IAM user or the root user rather than by a deployment role."""

from __future__ import annotations

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import assumed_role, cloudtrail, iam_user, root
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_agent_created_by_human_identity",
    title="Bedrock agent created by an IAM user or root",
    severity="medium",
    status="experimental",
    description="CreateAgent succeeded with IAM-user or root credentials. Agents act with their own role and "
                "tools; ones created outside the deployment pipeline escape review and are often over-privileged.",
    attack=("T1078.004", "T1648"),
    atlas=("AML.T0081", "AML.T0053"),
    owasp_llm=("LLM06:2025",),
    nist_ai_rmf=("GOVERN 1.6", "MAP 3.5"),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/agents.html",),
    runbook="Find the agent (context), its service role and action groups. Ask the creator why it was not "
            "deployed through the pipeline; root creating agents is always suspect.",
    remediation="Recreate the agent from code with a least-privilege role, delete the hand-made one, and "
                "deny bedrock:CreateAgent to IAM users.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        manual("bedrock-agent", "DeleteAgent", "agent_name", "region", optional=("agent_role",),
               description="Delete the hand-made agent once its owner confirmed it is redeployed from code.",
               risk="high", reversible=False),
    ),
)


def rule(event: dict) -> bool:
    return event["action"] == "CreateAgent" and is_bedrock(event) and succeeded(event) and ct(event).is_human_identity


def context(event: dict) -> dict:
    record = ct(event)
    return {"agent_name": record.param("agentName") or "", "identity_type": record.identity_type,
            "foundation_model": record.param("foundationModel") or "",
            "agent_role": record.param("agentResourceRoleArn") or ""}


_AGENT = {"agentName": "support-bot", "foundationModel": "anthropic.claude-3-haiku-20240307-v1:0",
          "agentResourceRoleArn": "arn:aws:iam::111122223333:role/AmazonBedrockExecutionRoleForAgents_x"}
EXAMPLES = [
    positive("IAM user creates an agent", cloudtrail("CreateAgent", params=_AGENT, identity=iam_user("dev1"))),
    positive("root creates an agent", cloudtrail("CreateAgent", params=_AGENT, identity=root())),
    negative("deployment role creates an agent",
             cloudtrail("CreateAgent", params=_AGENT, identity=assumed_role("agent-deployer", "pipeline"))),
    negative("IAM user lists agents", cloudtrail("ListAgents", identity=iam_user("dev1"))),
]

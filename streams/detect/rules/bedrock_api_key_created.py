"""A long-term Bedrock API key created (an IAM service-specific credential for Bedrock)."""

from __future__ import annotations

from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_api_key_created",
    title="Long-term Bedrock API key created",
    severity="low",
    status="experimental",
    description="CreateServiceSpecificCredential succeeded for bedrock.amazonaws.com: a static bearer token "
                "that calls Bedrock until it expires, easy to leak in code and configuration.",
    attack=("T1098.001",),
    atlas=("AML.T0012", "AML.T0055"),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("GOVERN 1.4",),
    references=(
        "https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html",
        "https://aws.amazon.com/blogs/security/securing-amazon-bedrock-api-keys-best-practices-for-implementation-and-management/",
    ),
    runbook="Check the key's owner and expiry (context) and whether short-term keys or role credentials "
            "would do. Keys without expiry are the riskiest.",
    remediation="Prefer short-term Bedrock API keys or STS credentials; set iam:ServiceSpecificCredentialAgeDays "
                "limits and deny creation by SCP where not needed.",
    provider="aws-bedrock",
    services=("iam.amazonaws.com",),
    actions=(
        manual("iam", "UpdateServiceSpecificCredential", "user", optional=("account",),
               description="Set the user's new Bedrock API key (service-specific credential for "
                           "bedrock.amazonaws.com) Inactive unless it is approved.", risk="medium"),
    ),
)


def rule(event: dict) -> bool:
    return (event["action"] == "CreateServiceSpecificCredential" and event["service"] == "iam.amazonaws.com"
            and event["outcome"] == "success" and ct(event).param("serviceName") == "bedrock.amazonaws.com")


def context(event: dict) -> dict:
    record = ct(event)
    return {"user": record.param("userName") or "", "expires_in_days": record.param("credentialAgeDays")}


EXAMPLES = [
    positive("Bedrock API key created", cloudtrail(
        "CreateServiceSpecificCredential", source="iam.amazonaws.com",
        params={"userName": "BedrockAPIKey-7c2f", "serviceName": "bedrock.amazonaws.com", "credentialAgeDays": 30})),
    negative("CodeCommit credential", cloudtrail(
        "CreateServiceSpecificCredential", source="iam.amazonaws.com",
        params={"userName": "dev1", "serviceName": "codecommit.amazonaws.com"})),
]

"""An access key or console password given to a Bedrock API key's IAM user (``BedrockAPIKey-*``).

Long-term Bedrock API keys come with a dedicated IAM user. Giving that user a regular access key or a
login turns a Bedrock-only credential into general AWS access: a persistence trick.
"""

from __future__ import annotations

from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_api_key_user_credentials",
    title="Credentials added to a Bedrock API key user",
    severity="critical",
    status="experimental",
    description="CreateAccessKey, CreateLoginProfile or UpdateLoginProfile succeeded for an IAM user named "
                "BedrockAPIKey-*, the user AWS creates behind a long-term Bedrock API key.",
    attack=("T1098.001", "T1078.004"),
    atlas=("AML.T0012",),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("GOVERN 1.4", "MEASURE 2.7"),
    references=(
        "https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html",
        "https://attack.mitre.org/techniques/T1098/001/",
    ),
    runbook="Nobody needs an access key or a password on a BedrockAPIKey user. Find who made the call, "
            "where the new key has been used since, and what the user's policies allow.",
    remediation="Delete the new access key or login profile, delete the Bedrock API key and its user if "
                "unneeded, and deny iam:CreateAccessKey/CreateLoginProfile on user/BedrockAPIKey-* by SCP.",
    provider="aws-bedrock",
    services=("iam.amazonaws.com",),
    actions=(
        manual("iam", "DeleteAccessKeyOrLoginProfile", "target_user", "call", optional=("account",),
               description="Delete the access key or login profile just created for the Bedrock API key user.",
               risk="medium", reversible=False),
    ),
)

_ACTIONS = frozenset({"CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile"})


def _target_user(event: dict) -> str:
    return str(ct(event).param("userName") or "")


def rule(event: dict) -> bool:
    return (event["action"] in _ACTIONS and event["service"] == "iam.amazonaws.com"
            and event["outcome"] == "success" and _target_user(event).startswith("BedrockAPIKey-"))


def title(event: dict) -> str:
    kind = "access key" if event["action"] == "CreateAccessKey" else "console password"
    return f"{kind.capitalize()} added to Bedrock API key user {_target_user(event)}"


def context(event: dict) -> dict:
    return {"target_user": _target_user(event), "call": event["action"]}


EXAMPLES = [
    positive("access key for the API key user", cloudtrail("CreateAccessKey", source="iam.amazonaws.com",
                                                           params={"userName": "BedrockAPIKey-7c2f"})),
    positive("console password for the API key user", cloudtrail(
        "CreateLoginProfile", source="iam.amazonaws.com",
        params={"userName": "BedrockAPIKey-7c2f", "passwordResetRequired": False})),
    negative("access key for an ordinary user", cloudtrail("CreateAccessKey", source="iam.amazonaws.com",
                                                           params={"userName": "build-bot"})),
    negative("attempt denied", cloudtrail("CreateAccessKey", source="iam.amazonaws.com",
                                          params={"userName": "BedrockAPIKey-7c2f"}, error="AccessDenied")),
]

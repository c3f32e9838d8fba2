"""Bedrock guardrails: created and deleted (agents name theirs; an agent without one is flagged)."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, expect

META = ExtractorMeta(
    id="bedrock_guardrail", title="Bedrock guardrails created and deleted",
    services=("bedrock.amazonaws.com",), actions=("CreateGuardrail", "DeleteGuardrail"),
    kinds=("bedrock_guardrail",),
)
KIND = "bedrock_guardrail"


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    if event["action"] == "CreateGuardrail":
        guardrail = call.text(call.response, "guardrailArn")
        kms = call.param("kmsKeyId")
        return [call.asset(guardrail, KIND, "create", name=call.text(call.param, "name"), provider="aws-bedrock",
                           flags_on=() if kms else ("no_kms_key",))] if guardrail else []
    identifier = call.text(call.param, "guardrailIdentifier")
    if not identifier:
        return []
    guardrail = identifier if identifier.startswith("arn:") else call.arn("bedrock", f"guardrail/{identifier}")
    return [call.asset(guardrail, KIND, "delete")]


_GUARDRAIL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/gr1"
EXAMPLES = [
    expect("created", cloudtrail("CreateGuardrail", params={"name": "pii", "kmsKeyId": "arn:aws:kms:k"},
                                 response={"guardrailArn": _GUARDRAIL, "guardrailId": "gr1"}),
           ("asset", "create", KIND, _GUARDRAIL)),
    expect("deleted", cloudtrail("DeleteGuardrail", params={"guardrailIdentifier": "gr1"}),
           ("asset", "delete", KIND, _GUARDRAIL)),
    expect("refused", cloudtrail("CreateGuardrail", params={"name": "pii"}, error="AccessDeniedException")),
]

"""Who runs which Bedrock model: identity -> model from the runtime calls (InvokeModel, Converse...),
with whether the sanctioned-use policy allowed it (set on the event at ingest), and the model's last use."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail, iam_user
from streams.detect.graph.base import Call, ExtractorMeta, Fact, expect, model_node
from streams.enrich.ai_usage import INVOKE_ACTIONS

META = ExtractorMeta(
    id="bedrock_model_invocation", title="Bedrock models invoked, by whom",
    services=("bedrock.amazonaws.com",), actions=tuple(sorted(INVOKE_ACTIONS)), kinds=("identity",),
)


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    model, kind = model_node(call, call.param("modelId"))
    if not model or not call.actor:
        return []
    sanctioned = event.get("ai_sanctioned")
    return [call.asset(model, kind, "use"),
            call.edge(call.actor, "identity", "invokes", model, kind,
                      detail={"sanctioned": sanctioned, "action": event["action"]})]


_CLAUDE = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
_DEV = f"arn:aws:iam::{ACCOUNT}:user/dev"
EXAMPLES = [
    expect("a user invokes Claude",
           cloudtrail("InvokeModel", identity=iam_user("dev"),
                      params={"modelId": "anthropic.claude-3-haiku-20240307-v1:0"}),
           ("asset", "use", "bedrock_foundation_model", _CLAUDE), ("edge", "open", _DEV, "invokes", _CLAUDE)),
    expect("no model named", cloudtrail("InvokeModel", identity=iam_user("dev"), params={})),
]

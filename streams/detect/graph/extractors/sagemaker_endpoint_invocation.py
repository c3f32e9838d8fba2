"""Who calls which SageMaker endpoint (InvokeEndpoint is a CloudTrail data event: only trails that log
SageMaker data events record it)."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail, iam_user
from streams.detect.graph.base import Call, ExtractorMeta, Fact, expect
from streams.detect.graph.extractors.sagemaker_endpoint import ENDPOINT, endpoint_arn

META = ExtractorMeta(
    id="sagemaker_endpoint_invocation", title="SageMaker endpoints invoked, by whom",
    services=("sagemaker.amazonaws.com", "runtime.sagemaker.amazonaws.com"),
    actions=("InvokeEndpoint", "InvokeEndpointAsync", "InvokeEndpointWithResponseStream"), kinds=("identity",),
)


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    name = call.text(call.param, "endpointName")
    if not name or not call.actor:
        return []
    endpoint = endpoint_arn(call, name)
    return [call.asset(endpoint, ENDPOINT, "use"),
            call.edge(call.actor, "identity", "invokes", endpoint, ENDPOINT,
                      detail={"sanctioned": event.get("ai_sanctioned"), "action": event["action"]})]


_ENDPOINT = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/churn"
EXAMPLES = [
    expect("a user calls an endpoint",
           cloudtrail("InvokeEndpoint", "runtime.sagemaker.amazonaws.com", identity=iam_user("dev"),
                      params={"endpointName": "churn"}),
           ("asset", "use", ENDPOINT, _ENDPOINT),
           ("edge", "open", f"arn:aws:iam::{ACCOUNT}:user/dev", "invokes", _ENDPOINT)),
    expect("no endpoint named", cloudtrail("InvokeEndpoint", "runtime.sagemaker.amazonaws.com", params={})),
]

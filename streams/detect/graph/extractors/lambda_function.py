"""Lambda functions and the role each runs as: what an agent's action group can do is what its
function's role can do."""

from __future__ import annotations

from streams.detect.examples import ACCOUNT, cloudtrail
from streams.detect.graph.base import Call, ExtractorMeta, Fact, execution_role, expect

META = ExtractorMeta(
    id="lambda_function", title="Lambda functions and their execution roles",
    services=("lambda.amazonaws.com",),
    actions=("CreateFunction20150331", "UpdateFunctionConfiguration20150331v2", "DeleteFunction20150331"),
    kinds=("lambda_function",),
)
KIND = "lambda_function"


def extract(event: dict) -> list[Fact]:
    call = Call.of(event)
    name = call.text(call.param, "functionName")
    function = call.text(call.response, "functionArn") or (
        name if name.startswith("arn:") else call.arn("lambda", f"function:{name}") if name else "")
    if not function:
        return []
    if event["action"].startswith("Delete"):
        return [call.asset(function, KIND, "delete")]
    facts: list[Fact] = [call.asset(function, KIND, "create" if event["action"].startswith("Create") else "update",
                                    name=name.rsplit(":", 1)[-1], provider="aws-lambda")]
    facts += execution_role(call, "role", function, KIND)
    return facts


_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:refunds"
EXAMPLES = [
    expect("a function and its role",
           cloudtrail("CreateFunction20150331", "lambda.amazonaws.com",
                      params={"functionName": "refunds", "role": f"arn:aws:iam::{ACCOUNT}:role/refunds-fn"},
                      response={"functionArn": _FUNCTION}),
           ("asset", "create", KIND, _FUNCTION),
           ("edge", "open", f"arn:aws:iam::{ACCOUNT}:role/refunds-fn", "execution_role", _FUNCTION)),
    expect("deleted", cloudtrail("DeleteFunction20150331", "lambda.amazonaws.com", params={"functionName": "refunds"}),
           ("asset", "delete", KIND, _FUNCTION)),
    expect("refused", cloudtrail("CreateFunction20150331", "lambda.amazonaws.com", params={"functionName": "refunds"},
                                 error="AccessDeniedException")),
]

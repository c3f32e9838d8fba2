"""Shadow AI in the cloud account: a principal the policy does not sanction runs a model.

CloudTrail records Bedrock runtime calls (InvokeModel, Converse and their streaming forms, agent and
knowledge-base runtime calls) and SageMaker endpoint invocations. Any of them by a principal that no
policy clause covers is shadow AI at best and LLMjacking (stolen credentials running paid models) at
worst. The provider and product come from the catalog, by the endpoint host the caller used.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streams.detect.base import Hit, RuleContext, RuleMeta, negative, positive
from streams.detect.examples import assumed_role, cloudtrail, iam_user
from streams.detect.remediation import manual
from streams.enrich.ai_usage import runtime_call
from streams.enrich.policy import Policy
from streams.normalize.cloudtrail_record import ct

__all__ = ["EXAMPLES", "EXAMPLE_POLICY", "META", "rule"]

META = RuleMeta(
    id="shadow_ai_cloud_runtime",
    title="Unsanctioned principal runs a cloud AI model",
    severity="high",
    status="stable",
    description="A Bedrock or SageMaker runtime call (model invocation, agent or knowledge-base query, "
                "endpoint invocation) was made by a principal that the sanctioned-use policy does not cover.",
    attack=("T1496",),
    atlas=("AML.T0040",),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("GOVERN 1.6", "MEASURE 2.7"),
    references=(
        "https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html",
        "https://atlas.mitre.org/techniques/AML.T0040",
    ),
    runbook="Identify the principal and its credentials (context: model, region, key id, outcome). A role "
            "that never ran models before, or calls from an unfamiliar network, suggest stolen credentials.",
    remediation="If the use is approved, add a policy clause for the principal; otherwise remove its "
                "bedrock:Invoke*/sagemaker:InvokeEndpoint permissions and rotate its credentials.",
    provider="aws-bedrock",
    families=("cloudtrail",),
    services=("bedrock*.amazonaws.com", "sagemaker.amazonaws.com", "runtime.sagemaker.amazonaws.com"),
    requires=("ai_use",),
    actions=(
        manual("iam", "RemoveModelInvokePermissions", "principal", "product", optional=("model_id", "region", "account"),
               description="Unless the use is approved (then add a policy clause), remove the principal's "
                           "bedrock:Invoke* / sagemaker:InvokeEndpoint permissions.", risk="medium"),
    ),
)

def rule(event: dict, ctx: RuleContext) -> Hit | None:
    """A finding when a model-runtime call's principal is not sanctioned for that AI service."""
    call = runtime_call(event, ctx.catalog) if ctx.catalog is not None else None
    if call is None:
        return None
    match, model = call
    actor, src_ip = event.get("actor", ""), event.get("src_ip", "")
    verdict = (ctx.policy or Policy.discovery()).evaluate(
        actor, src_ip, match.provider, match.product, now=datetime.fromtimestamp(event["time"] / 1000, UTC),
    )
    if verdict.sanctioned:
        return None
    identity = _identity(event)
    principal = actor or src_ip or "unknown"
    return Hit(
        title=f"Unsanctioned {event['action']} on {match.product}" + (f" ({model})" if model else ""),
        principal=principal,
        provider=match.provider,
        description=f"{principal} called {event['action']}" + (f" on {model}" if model else "")
                    + f" in {event.get('cloud_region') or 'an unknown region'}: {verdict.reason}.",
        context={
            "model_id": model, "action": event["action"], "product": match.product, "host": match.host,
            "region": event.get("cloud_region", ""), "account": event.get("cloud_account", ""),
            "outcome": event.get("outcome", ""), "error": event.get("status_detail", ""),
            "access_key_id": _text(identity.get("accessKeyId")), "identity_type": _text(identity.get("type")),
            "src_ip": src_ip, "policy_clause": verdict.clause, "policy_reason": verdict.reason,
            "sanctioned_alternatives": verdict.sanctioned_alternatives,
        },
    )


def _identity(event: dict) -> dict[str, Any]:
    try:
        identity = ct(event).record.get("userIdentity")
    except ValueError:  # raw that is not a JSON object: fall back to the normalized fields
        return {}
    return identity if isinstance(identity, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# --- examples ------------------------------------------------------------------------------------------

EXAMPLE_POLICY = """
version: 1
clauses:
  - id: bedrock-ml-platform
    providers: [aws-bedrock, aws-sagemaker]
    identities:
      - prefix: "arn:aws:sts::111122223333:assumed-role/MLPlatform/"
"""

_CLAUDE = {"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0"}
EXAMPLES = [
    positive("unsanctioned role invokes Claude on Bedrock",
             cloudtrail("InvokeModel", params=_CLAUDE, identity=assumed_role("webapp-prod"))),
    positive("IAM user streams a Converse call, denied",
             cloudtrail("ConverseStream", params=_CLAUDE, identity=iam_user("ci-bot"),
                        error="AccessDeniedException")),
    positive("unsanctioned role queries a knowledge base",
             cloudtrail("RetrieveAndGenerate", identity=assumed_role("intern-notebook"),
                        params={"retrieveAndGenerateConfiguration": {"knowledgeBaseConfiguration": {
                            "knowledgeBaseId": "KB12345678",
                            "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"}}})),
    positive("unsanctioned role invokes a SageMaker endpoint",
             cloudtrail("InvokeEndpoint", source="sagemaker.amazonaws.com", identity=assumed_role("analytics"),
                        params={"endpointName": "fraud-scorer-llm"})),
    negative("the ML platform role invokes a model (sanctioned)",
             cloudtrail("InvokeModel", params=_CLAUDE, identity=assumed_role("MLPlatform", "batch"))),
    negative("model listing is not a runtime call",
             cloudtrail("ListFoundationModels", identity=assumed_role("webapp-prod"))),
    negative("S3 read is not AI use",
             cloudtrail("GetObject", source="s3.amazonaws.com", identity=assumed_role("webapp-prod"),
                        params={"bucketName": "reports", "key": "q1.csv"})),
]

"""Shadow AI in the cloud account: a principal the policy does not sanction runs a model.

CloudTrail records Bedrock runtime calls (InvokeModel, Converse and their streaming forms, agent and
knowledge-base runtime calls) and SageMaker endpoint invocations. Any of them by a principal that no
policy clause covers is shadow AI at best and LLMjacking (stolen credentials running paid models) at
worst. The provider and product come from the catalog, by the endpoint host the caller used.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from streams.catalog import Catalog, CatalogMatch
from streams.detections.finding import Finding
from streams.policy import Policy
from streams.rules.aws import INVOKE_ACTIONS, is_bedrock
from streams.rules.base import RuleMeta, negative, positive
from streams.rules.examples import assumed_role, cloudtrail, iam_user
from streams.rules.record import ct

__all__ = ["EXAMPLES", "EXAMPLE_POLICY", "META", "RUNTIME_ACTIONS", "detect", "runtime_call"]

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
)

_AGENT_RUNTIME_ACTIONS = frozenset({
    "InvokeAgent", "InvokeInlineAgent", "Retrieve", "RetrieveAndGenerate", "RetrieveAndGenerateStream",
    "InvokeFlow",
})
_AGENTCORE_ACTIONS = frozenset({"InvokeAgentRuntime"})
_SAGEMAKER_ACTIONS = frozenset({"InvokeEndpoint", "InvokeEndpointAsync", "InvokeEndpointWithResponseStream"})
BEDROCK_RUNTIME_ACTIONS = INVOKE_ACTIONS | _AGENT_RUNTIME_ACTIONS | _AGENTCORE_ACTIONS
RUNTIME_ACTIONS = BEDROCK_RUNTIME_ACTIONS | _SAGEMAKER_ACTIONS

_SAGEMAKER_SOURCES = frozenset({"sagemaker.amazonaws.com", "runtime.sagemaker.amazonaws.com"})
# Stands in for an unreadable region when only the kind of endpoint matters (provider and product).
_CLASSIFYING_REGION = "us-east-1"


def runtime_call(event: dict, catalog: Catalog) -> tuple[CatalogMatch, str] | None:
    """(AI service, model id) of a CloudTrail model-runtime call; None for any other event."""
    if event.get("source_family") != "cloudtrail":
        return None
    action, service = event.get("action", ""), event.get("service", "")
    if action in _SAGEMAKER_ACTIONS and service in _SAGEMAKER_SOURCES:
        template = "runtime.sagemaker.{}.amazonaws.com"
    elif action in BEDROCK_RUNTIME_ACTIONS and is_bedrock(event):
        template = ("bedrock-agentcore.{}.amazonaws.com" if action in _AGENTCORE_ACTIONS
                    else "bedrock-agent-runtime.{}.amazonaws.com" if action in _AGENT_RUNTIME_ACTIONS
                    else "bedrock-runtime.{}.amazonaws.com")
    else:
        return None
    record = _record(event)
    # The host the client connected to (CloudTrail's tlsDetails) says best which endpoint it used.
    match = catalog.match(event.get("target_host", "")) if event.get("target_host") else None
    if match is None:
        region = event.get("cloud_region", "")
        host = template.format(region) if region else service
        match = catalog.match(host)
        if match is None:
            classified = catalog.match(template.format(_CLASSIFYING_REGION))
            if classified is None:
                return None
            match = replace(classified, host=host)
    return match, _model_id(record, event)


def detect(event: dict, catalog: Catalog, policy: Policy | None) -> list[Finding]:
    """One finding when a model-runtime call's principal is not sanctioned for that AI service."""
    call = runtime_call(event, catalog)
    if call is None:
        return []
    match, model = call
    actor, src_ip = event.get("actor", ""), event.get("src_ip", "")
    verdict = (policy or Policy.discovery()).evaluate(
        actor, src_ip, match.provider, match.product, now=datetime.fromtimestamp(event["time"] / 1000, UTC),
    )
    if verdict.sanctioned:
        return []
    record = _record(event)
    principal = actor or src_ip or "unknown"
    return [Finding(
        detection=META.id,
        title=f"Unsanctioned {event['action']} on {match.product}" + (f" ({model})" if model else ""),
        severity=META.severity,
        principal=principal,
        event=event,
        description=f"{principal} called {event['action']}" + (f" on {model}" if model else "")
                    + f" in {event.get('cloud_region') or 'an unknown region'}: {verdict.reason}.",
        remediation=META.remediation,
        provider=match.provider,
        context={
            "model_id": model, "action": event["action"], "product": match.product, "host": match.host,
            "region": event.get("cloud_region", ""), "account": event.get("cloud_account", ""),
            "outcome": event.get("outcome", ""), "error": event.get("status_detail", ""),
            "access_key_id": _text(_get(record, "userIdentity", "accessKeyId")),
            "identity_type": _text(_get(record, "userIdentity", "type")), "src_ip": src_ip,
            "policy_clause": verdict.clause, "policy_reason": verdict.reason,
            "sanctioned_alternatives": verdict.sanctioned_alternatives, "runbook": META.runbook,
        },
        techniques=META.techniques,
    )]


def _record(event: dict) -> dict[str, Any]:
    try:
        return ct(event).record
    except ValueError:  # raw that is not a JSON object: fall back to the normalized fields
        return {}


def _model_id(record: dict[str, Any], event: dict) -> str:
    params = record.get("requestParameters")
    params = params if isinstance(params, dict) else {}
    for path in (("modelId",), ("modelIdentifier",), ("endpointName",), ("agentRuntimeArn",),
                 ("retrieveAndGenerateConfiguration", "knowledgeBaseConfiguration", "modelArn"),
                 ("retrieveAndGenerateConfiguration", "externalSourcesConfiguration", "modelArn"),
                 ("foundationModel",)):
        value = _get(params, *path)
        if isinstance(value, str) and value:
            return value
    agent = _text(params.get("agentId"))
    if agent:
        alias = _text(params.get("agentAliasId"))
        return f"agent/{agent}/{alias}" if alias else f"agent/{agent}"
    knowledge_base = _text(params.get("knowledgeBaseId"))
    if knowledge_base:
        return f"knowledge-base/{knowledge_base}"
    return event.get("target_resource", "")


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


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

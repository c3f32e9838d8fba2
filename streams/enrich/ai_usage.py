"""Which AI service an event used: the one answer the inventory, the usage tables and the shadow-AI
rules share.

Gateway traffic (egress proxies, API gateways, Envoy, Zeek SNI and DNS) used the AI service whose host
the catalog knows; a CloudTrail model-runtime call (Bedrock model, agent and knowledge-base runtime,
AgentCore, SageMaker endpoints) used the service of the endpoint it reached, with the model it named.
Sanctioned or not: the inventory wants both, the policy decides the rest.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import unquote

from streams.enrich.catalog import Catalog, CatalogMatch
from streams.normalize.base import get_path
from streams.normalize.cloudtrail_record import ct

__all__ = ["INVOKE_ACTIONS", "MODEL_USE_ACTIONS", "AiUse", "is_bedrock", "match_event", "model_from_url",
           "runtime_call", "usage_of"]

# Bedrock runtime calls that run a foundation or custom model.
INVOKE_ACTIONS = frozenset({
    "InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream",
    "InvokeModelWithBidirectionalStream", "StartAsyncInvoke",
})


def is_bedrock(event: dict) -> bool:
    """Bedrock control plane, runtime and agents (``bedrock``, ``bedrock-agent``... sources)."""
    service = event.get("service", "")
    return service.startswith("bedrock") and service.endswith(".amazonaws.com")


_AGENT_RUNTIME_ACTIONS = frozenset({
    "InvokeAgent", "InvokeInlineAgent", "Retrieve", "RetrieveAndGenerate", "RetrieveAndGenerateStream",
    "InvokeFlow",
})
_AGENTCORE_ACTIONS = frozenset({"InvokeAgentRuntime"})
_SAGEMAKER_ACTIONS = frozenset({"InvokeEndpoint", "InvokeEndpointAsync", "InvokeEndpointWithResponseStream"})
BEDROCK_MODEL_USE_ACTIONS = INVOKE_ACTIONS | _AGENT_RUNTIME_ACTIONS | _AGENTCORE_ACTIONS
# Every CloudTrail call that uses an AI model or agent.
MODEL_USE_ACTIONS = BEDROCK_MODEL_USE_ACTIONS | _SAGEMAKER_ACTIONS

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
    elif action in BEDROCK_MODEL_USE_ACTIONS and is_bedrock(event):
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
        value = get_path(params, *path)
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


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def match_event(event: dict, catalog: Catalog) -> CatalogMatch | None:
    """The catalogued AI service of a gateway event's host (or URL), None when there is none."""
    host = event.get("target_host", "")
    if host:
        return catalog.match(host)
    url = event.get("target_url", "")
    return catalog.match(url) if url else None


@dataclass(frozen=True, slots=True)
class AiUse:
    """One use of an AI service, as the AI inventory and per-minute usage tables count it."""

    time: int
    provider: str
    product: str
    category: str
    host: str
    model_id: str
    principal: str
    src_ip: str
    action: str
    source_family: str
    source_format: str
    bytes_in: int | None
    bytes_out: int | None

    def as_dict(self) -> dict:
        return asdict(self)


def usage_of(event: dict, catalog: Catalog) -> AiUse | None:
    """Which AI service ``event`` used (gateway traffic to a catalogued host, or a cloud model runtime
    call in CloudTrail), or None when it is not AI use. Sanctioned or not: the inventory wants both."""
    family = event.get("source_family")
    if family == "gateway":
        match = match_event(event, catalog)
        model = model_from_url(event.get("target_url", "")) if match else ""
    elif family == "cloudtrail":
        call = runtime_call(event, catalog)
        if call is None:
            return None
        match, model = call
    else:
        return None
    if match is None:
        return None
    return AiUse(
        time=event["time"], provider=match.provider, product=match.product, category=match.category,
        host=match.host, model_id=model, principal=event.get("actor") or event.get("src_ip") or "",
        src_ip=event.get("src_ip", ""), action=event.get("action", ""), source_family=family,
        source_format=event.get("source_format", ""), bytes_in=event.get("bytes_in"),
        bytes_out=event.get("bytes_out"),
    )


# Model or deployment names that APIs put in the request path (request bodies are redacted upstream).
_MODEL_IN_PATH = (
    # Bedrock runtime: /model/{modelId}/invoke, /converse-stream ...
    re.compile(r"/model/([^/?#]+)/(?:invoke|invoke-with-response-stream|converse|converse-stream|count-tokens)\b"),
    # Gemini API and Vertex AI: .../models/{model}:generateContent
    re.compile(r"/models/([^/?#:]+):(?:generateContent|streamGenerateContent|predict|rawPredict|"
               r"streamRawPredict|countTokens|embedContent|batchEmbedContents)\b"),
    # Azure OpenAI: /openai/deployments/{deployment}/chat/completions
    re.compile(r"/openai/deployments/([^/?#]+)/"),
    # SageMaker runtime: /endpoints/{endpointName}/invocations
    re.compile(r"/endpoints/([^/?#]+)/(?:invocations|async-invocations|invocations-response-stream)\b"),
)


def model_from_url(url: str) -> str:
    """The model, deployment or endpoint named in an AI API request path, '' when it names none."""
    for pattern in _MODEL_IN_PATH:
        found = pattern.search(url)
        if found:
            return unquote(found.group(1))
    return ""



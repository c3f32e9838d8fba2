"""Shadow AI egress: a user or address reaches an AI service that the sanctioned-use policy does not cover.

Reads gateway-family events (egress proxies, API gateways, Envoy, Zeek SNI and DNS): the event's host
is looked up in the AI service catalog, and the policy decides whether this actor, or failing an actor
this source address, may use that provider and product. Also home of ``usage_of``, the one function
that says which AI service an event used, for the AI inventory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from urllib.parse import unquote

import orjson

from streams.catalog import Catalog, CatalogMatch
from streams.detections import bedrock_runtime
from streams.detections.finding import Finding
from streams.normalize import normalize_message
from streams.policy import Policy
from streams.rules.base import RuleMeta, negative, positive

__all__ = ["EXAMPLES", "EXAMPLE_POLICY", "META", "AiUse", "detect", "gateway_event", "usage_of"]

META = RuleMeta(
    id="shadow_ai_egress",
    title="Unsanctioned AI service use",
    severity="medium",
    status="stable",
    description="Traffic from the network reached a host of an AI service (model API, assistant, model hub, "
                "AI gateway) from a user or address that the sanctioned-use policy does not cover.",
    attack=("T1567",),
    atlas=("AML.T0040",),
    owasp_llm=("LLM02:2025",),
    nist_ai_rmf=("GOVERN 1.6", "MAP 4.1"),
    references=("https://atlas.mitre.org/techniques/AML.T0040",),
    runbook="Check who the principal is and what the service is used for (context: host, product, why the "
            "policy did not cover it, what is sanctioned instead); ask the owner before blocking.",
    remediation="Move the use to a sanctioned AI service, or add a policy clause (with an expiry) if this use "
                "is approved; block the host at the egress proxy if it is not.",
    families=("gateway",),
)

GroupsOf = Callable[[str], Sequence[str]]
"""Directory lookup: the groups a principal belongs to (for group clauses of the policy)."""


def detect(event: dict, catalog: Catalog, policy: Policy | None, *,
           groups_of: GroupsOf | None = None) -> list[Finding]:
    """One finding when ``event`` reaches a catalogued AI service without a sanctioning clause."""
    if event.get("source_family") not in META.families:
        return []
    match = _match_event(event, catalog)
    if match is None:
        return []
    actor, src_ip = event.get("actor", ""), event.get("src_ip", "")
    principal = actor or src_ip
    verdict = (policy or Policy.discovery()).evaluate(
        actor, src_ip, match.provider, match.product,
        groups=tuple(groups_of(actor)) if groups_of and actor else (),
        # Expiry is judged at the event's time, so a replay or backfill reaches the same verdict.
        now=datetime.fromtimestamp(event["time"] / 1000, UTC),
    )
    if verdict.sanctioned:
        return []
    return [Finding(
        detection=META.id,
        title=f"Unsanctioned use of {match.product} ({match.provider})",
        severity=META.severity,
        principal=principal or "unknown",
        event=event,
        description=f"{principal or 'An unknown client'} reached {match.host}, "
                    f"a {match.category.replace('_', ' ')} of {match.provider}: {verdict.reason}.",
        remediation=META.remediation,
        provider=match.provider,
        context={
            "host": match.host, "product": match.product, "category": match.category,
            "catalog_rule": match.rule, "catalog_source": match.source,
            "src_ip": src_ip, "actor": actor, "source_format": event.get("source_format", ""),
            "policy_clause": verdict.clause, "policy_reason": verdict.reason,
            "sanctioned_alternatives": verdict.sanctioned_alternatives, "runbook": META.runbook,
        },
        techniques=META.techniques,
    )]


def _match_event(event: dict, catalog: Catalog) -> CatalogMatch | None:
    host = event.get("target_host", "")
    if host:
        return catalog.match(host)
    url = event.get("target_url", "")
    return catalog.match(url) if url else None


# --- inventory -----------------------------------------------------------------------------------------

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
        match = _match_event(event, catalog)
        model = model_from_url(event.get("target_url", "")) if match else ""
    elif family == "cloudtrail":
        call = bedrock_runtime.runtime_call(event, catalog)
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


# --- examples ------------------------------------------------------------------------------------------

def gateway_event(raw: str) -> dict:
    """A raw gateway log line or JSON record -> its normalized event, through the real normalizer."""
    result = normalize_message("gateway", raw.encode())
    if result.failures or len(result.events) != 1:
        raise ValueError(f"gateway example did not normalize to one event: {result.failures}")
    return result.events[0]


def _zeek_ssl(server_name: str, src_ip: str, uid: str) -> str:
    return orjson.dumps({
        "_path": "ssl", "ts": 1741515332.12, "uid": uid, "id.orig_h": src_ip, "id.orig_p": 51234,
        "id.resp_h": "104.18.7.192", "id.resp_p": 443, "version": "TLSv13", "server_name": server_name,
        "established": True,
    }).decode()


def _zeek_dns(query: str, src_ip: str, uid: str) -> str:
    return orjson.dumps({
        "_path": "dns", "ts": 1741515333.5, "uid": uid, "id.orig_h": src_ip, "id.orig_p": 41772,
        "id.resp_h": "10.0.0.53", "id.resp_p": 53, "proto": "udp", "trans_id": 4242, "query": query,
        "qtype_name": "A", "rcode_name": "NOERROR", "answers": ["104.18.7.192"],
    }).decode()


EXAMPLE_POLICY = """
version: 1
clauses:
  - id: copilot-engineering
    providers: [github-copilot]
    networks: [10.20.0.0/16]
  - id: bedrock-ml
    providers: [aws-bedrock]
    identities:
      - prefix: "arn:aws:sts::111122223333:assumed-role/MLPlatform/"
"""

EXAMPLES = [
    positive("Zeek SNI to the OpenAI API from a workstation",
             gateway_event(_zeek_ssl("api.openai.com", "10.30.1.15", "CexA1"))),
    positive("Zeek DNS query for a Bedrock FIPS runtime endpoint",
             gateway_event(_zeek_dns("bedrock-runtime-fips.us-east-1.amazonaws.com", "10.30.1.16", "CexA2"))),
    positive("Squid CONNECT to Claude by a named proxy user",
             gateway_event("1741515334.007     90 10.30.1.17 TCP_TUNNEL/200 3902 CONNECT claude.ai:443 bob "
                           "HIER_DIRECT/160.79.104.10 -")),
    positive("Copilot from outside the engineering network",
             gateway_event(_zeek_ssl("api.githubcopilot.com", "10.30.1.18", "CexA3"))),
    negative("Copilot from the engineering network (sanctioned)",
             gateway_event(_zeek_ssl("api.githubcopilot.com", "10.20.4.2", "CexA4"))),
    negative("look-alike host that only starts with an AI domain",
             gateway_event(_zeek_ssl("api.openai.com.auth-check.site", "10.30.1.15", "CexA5"))),
    negative("neighbour on the same parent domain",
             gateway_event(_zeek_ssl("fonts.googleapis.com", "10.30.1.15", "CexA6"))),
    negative("TLS without SNI: no host to judge",
             gateway_event('{"_path":"ssl","ts":1741515332.5,"uid":"CexA7","id.orig_h":"10.30.1.15",'
                           '"id.orig_p":1,"id.resp_h":"104.18.7.192","id.resp_p":443,"established":true}')),
]

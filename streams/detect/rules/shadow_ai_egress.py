"""Shadow AI egress: a user or address reaches an AI service that the sanctioned-use policy does not cover.

Reads gateway-family events (egress proxies, API gateways, Envoy, Zeek SNI and DNS): the event's host
is looked up in the AI service catalog, and the policy decides whether this actor, or failing an actor
this source address, may use that provider and product (``streams.enrich.ai_usage`` says which AI
service an event used, for this rule and for the AI inventory alike).
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from streams.detect.base import Hit, RuleContext, RuleMeta, negative, positive
from streams.detect.remediation import manual
from streams.enrich.ai_usage import match_event
from streams.enrich.policy import Policy
from streams.normalize import normalize_message

__all__ = ["EXAMPLES", "EXAMPLE_POLICY", "META", "gateway_event", "rule"]

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
    requires=("ai_use",),
    actions=(
        manual("egress-proxy", "BlockHost", "host", optional=("principal", "product"),
               description="Unless the use is approved (then add a policy clause with an expiry), block the AI "
                           "service's host at the egress proxy or DNS resolver.", risk="medium"),
    ),
)

def rule(event: dict, ctx: RuleContext) -> Hit | None:
    """A finding when ``event`` reaches a catalogued AI service without a sanctioning clause."""
    match = match_event(event, ctx.catalog) if ctx.catalog is not None else None
    if match is None:
        return None
    actor, src_ip = event.get("actor", ""), event.get("src_ip", "")
    principal = actor or src_ip
    verdict = (ctx.policy or Policy.discovery()).evaluate(
        actor, src_ip, match.provider, match.product,
        groups=tuple(ctx.groups_of(actor)) if ctx.groups_of and actor else (),
        # Expiry is judged at the event's time, so a replay or backfill reaches the same verdict.
        now=datetime.fromtimestamp(event["time"] / 1000, UTC),
    )
    if verdict.sanctioned:
        return None
    return Hit(
        title=f"Unsanctioned use of {match.product} ({match.provider})",
        principal=principal or "unknown",
        provider=match.provider,
        description=f"{principal or 'An unknown client'} reached {match.host}, "
                    f"a {match.category.replace('_', ' ')} of {match.provider}: {verdict.reason}.",
        context={
            "host": match.host, "product": match.product, "category": match.category,
            "catalog_rule": match.rule, "catalog_source": match.source,
            "src_ip": src_ip, "actor": actor, "source_format": event.get("source_format", ""),
            "policy_clause": verdict.clause, "policy_reason": verdict.reason,
            "sanctioned_alternatives": verdict.sanctioned_alternatives,
        },
    )


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

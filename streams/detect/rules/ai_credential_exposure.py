"""An AI provider API key travelled where logs could see it: in a URL, a logged header or a record.

Keys never reach this module: normalization already replaced each one with a
``[REDACTED:<kind>:fp=<fingerprint>]`` marker. This detection reads the markers of AI key kinds
(``openai``, ``anthropic``, ``huggingface`` ...) in the event's URL and raw record, so the alert says
which kind of key leaked and its fingerprint, never the key. The fingerprint is keyed by the
installation (``streams.normalize.redact.Redactor``): the same key seen twice has the same one, and
nobody without the installation's key can test a guessed key against it.
"""

from __future__ import annotations

from streams.detect.base import Hit, RuleContext, RuleMeta, negative, positive
from streams.detect.remediation import manual
from streams.detect.rules.shadow_ai_egress import gateway_event
from streams.normalize.redact import AI_KEY_KINDS, redacted_secrets

__all__ = ["EXAMPLES", "EXAMPLE_POLICY", "KEY_PROVIDERS", "META", "rule"]

META = RuleMeta(
    id="ai_credential_exposure",
    title="AI provider API key exposed in gateway logs",
    severity="high",
    status="stable",
    description="A request seen by a gateway or proxy carried an AI provider API key in a place that gets "
                "logged (query string, path, logged header), so anyone with log access can reuse it.",
    attack=("T1552",),
    atlas=("AML.T0012",),
    owasp_llm=("LLM02:2025",),
    references=("https://atlas.mitre.org/techniques/AML.T0012",),
    runbook="Find the key's owner by its kind and fingerprint (context), check the provider's usage for the "
            "key since it was first logged, and find which client puts it in the URL.",
    remediation="Revoke and rotate the key at the provider; send keys in an Authorization header the gateway "
                "does not log, or better, through a sanctioned AI gateway that holds the key.",
    families=("gateway",),
    requires=("redaction_marker",),
    actions=(
        manual("ai-provider", "RevokeApiKey", "key_kind", "key_fingerprint", optional=("host",),
               description="Revoke the exposed key at its provider and issue a new one to its owner; the "
                           "fingerprint identifies it among the installation's redacted keys.",
               risk="medium", reversible=False),
    ),
)

# Redaction kind -> catalog provider slug, where the two differ.
KEY_PROVIDERS = {"google": "google-gemini", "langsmith": "langchain"}


def rule(event: dict, ctx: RuleContext) -> list[Hit]:
    """One finding per distinct AI key (kind, fingerprint) in the event. Exposure is not a matter of
    policy: a sanctioned user's key in a URL is as exposed as anyone's, so the policy is not consulted."""
    secrets = [secret for secret in redacted_secrets(f"{event.get('target_url', '')}\n{event.get('raw', '')}")
               if secret.kind in AI_KEY_KINDS]
    if not secrets:
        return []
    host = event.get("target_host", "")
    match = ctx.catalog.match(host) if host and ctx.catalog is not None else None
    principal = event.get("actor") or event.get("src_ip") or "unknown"
    where = f"a request to {host}" if host else "a logged request"
    return [Hit(
        title=f"{secret.kind} API key exposed in gateway logs (fp {secret.fingerprint})",
        principal=principal,
        provider=KEY_PROVIDERS.get(secret.kind, secret.kind),
        description=f"{principal} sent {where} carrying a {secret.kind} API key (fingerprint "
                    f"{secret.fingerprint}) where the gateway logged it.",
        context={
            "key_kind": secret.kind, "key_fingerprint": secret.fingerprint, "host": host,
            "host_provider": match.provider if match else "", "source_format": event.get("source_format", ""),
            "src_ip": event.get("src_ip", ""),
        },
        # One alert per leaked key per window, whoever and wherever it is seen.
        dedup_key=f"{META.id}|{secret.kind}|{secret.fingerprint}",
    ) for secret in secrets]


# --- examples ------------------------------------------------------------------------------------------

EXAMPLE_POLICY = """
version: 1
clauses:
  - id: everyone-may-use-gemini
    providers: [google-gemini]
    everyone: true
"""

# Made-up keys in the providers' formats (they were never issued).
_GEMINI_KEY = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"
_HF_TOKEN = "hf_" + "Q" * 6 + "aBcDeFgHiJkLmNoPqRsTuVwXyZ01"

EXAMPLES = [
    positive("Gemini key in the query string of a proxied request (even for a sanctioned service)",
             gateway_event(f"1741515340.100    210 10.30.1.20 TCP_MISS/200 2048 POST https://generativelanguage."
                           f"googleapis.com/v1beta/models/gemini-1.5-pro:generateContent?key={_GEMINI_KEY} "
                           f"carol HIER_DIRECT/142.250.74.10 application/json")),
    positive("Hugging Face token in an nginx request path",
             gateway_event(f'10.0.4.21 - - [09/Mar/2025:10:15:40 +0000] "GET /proxy/hf/{_HF_TOKEN}/models '
                           f'HTTP/1.1" 200 512 "-" "curl/8.5.0"')),
    negative("the same request without a key",
             gateway_event("1741515341.100    190 10.30.1.20 TCP_MISS/200 2048 POST https://generativelanguage."
                           "googleapis.com/v1beta/models/gemini-1.5-pro:generateContent carol "
                           "HIER_DIRECT/142.250.74.10 application/json")),
    negative("a generic bearer token is not an AI key",
             gateway_event('{"start_time":"2025-03-09T10:15:42.000Z","method":"GET","path":"/v1/orders",'
                           '"protocol":"HTTP/1.1","response_code":200,"bytes_received":10,"bytes_sent":20,'
                           '"duration":5,"authority":"shop.internal","downstream_remote_address":"10.1.4.17:5",'
                           '"x_forwarded_for":null,"request_id":"r-1",'
                           '"authorization":"Bearer abcdefghijklmnopqrstuvwxyz012345"}')),
]

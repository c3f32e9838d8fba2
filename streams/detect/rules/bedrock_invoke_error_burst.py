"""Many AccessDenied or ValidationException errors on Bedrock model calls from one principal.

Key-checking tools send deliberately invalid requests: a ValidationException proves the key may invoke
the model without paying for a completion. A run of AccessDenied says a key is being tried on models it
cannot use.
"""

from __future__ import annotations

from streams.detect import state as rule_state
from streams.detect.aws import INVOKE_ACTIONS, is_bedrock
from streams.detect.base import RuleContext, RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import CONTAIN_PRINCIPAL
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_invoke_error_burst",
    title="Burst of denied or invalid Bedrock model calls",
    severity="medium",
    status="experimental",
    description="Five or more InvokeModel/Converse calls by one principal failed with AccessDenied or "
                "ValidationException within five minutes.",
    attack=("T1496", "T1078.004"),
    atlas=("AML.T0040", "AML.T0034"),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("MEASURE 2.4",),
    references=(
        "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html",
        "https://atlas.mitre.org/techniques/AML.T0040",
    ),
    runbook="Compare with the principal's normal error rate; check the models targeted and the source IP. "
            "Malformed requests across several models are a probe, not a bug in an application.",
    remediation="If the principal is not a known application being debugged, revoke its credentials and "
                "block the source IP.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        *CONTAIN_PRINCIPAL,
    ),
)

WINDOW_MS = 5 * rule_state.MINUTE_MS
MIN_ERRORS = 5
PROBE_ERRORS = frozenset({"AccessDenied", "AccessDeniedException", "ValidationException"})
_CAP = 100


def rule(event: dict, ctx: RuleContext) -> bool:
    state = ctx.state
    if event["action"] not in INVOKE_ACTIONS or not is_bedrock(event):
        return False
    error = ct(event).error_code
    if error not in PROBE_ERRORS:
        return False
    now = event["time"]
    key = rule_state.principal_key(META.id, event)
    value = rule_state.load(state, key, now)
    if rule_state.counted_before(value, event):
        return False
    seen = rule_state.entry(event, error, ct(event).param("modelId") or "")
    errors = rule_state.within([*value.get("errors", []), seen], now, WINDOW_MS, _CAP)
    alerted = int(value.get("alerted_ms", 0))
    fire = len(errors) >= MIN_ERRORS and now - alerted > WINDOW_MS
    updated = {"errors": errors, "alerted_ms": now if fire else alerted, "counted": value.get("counted", [])}
    rule_state.remember(updated, event)
    rule_state.store(state, key, updated, now, WINDOW_MS)
    return fire


def context(event: dict, ctx: RuleContext) -> dict:
    state = ctx.state
    value = rule_state.load(state, rule_state.principal_key(META.id, event), event["time"])
    errors = value.get("errors", [])
    return {"errors": len(errors), "codes": sorted({code for _, _, code, _ in errors}),
            "models": sorted({model for _, _, _, model in errors if model})}


_MODELS = ["anthropic.claude-3-sonnet-20240229-v1:0", "meta.llama3-70b-instruct-v1:0",
           "mistral.mistral-large-2402-v1:0", "amazon.titan-text-express-v1", "cohere.command-r-v1:0"]
EXAMPLES = [
    positive("validation probes across five models",
             *[cloudtrail("InvokeModel", params={"modelId": model}, error="ValidationException", at=i)
               for i, model in enumerate(_MODELS)]),
    positive("denied converse calls",
             *[cloudtrail("Converse", params={"modelId": _MODELS[0]}, error="AccessDeniedException", at=20 * i)
               for i in range(MIN_ERRORS)]),
    negative("throttling is load, not probing",
             *[cloudtrail("InvokeModel", params={"modelId": _MODELS[0]}, error="ThrottlingException", at=i)
               for i in range(10)]),
    negative("four errors",
             *[cloudtrail("InvokeModel", params={"modelId": _MODELS[0]}, error="ValidationException", at=i)
               for i in range(MIN_ERRORS - 1)]),
    negative("errors spread out over an hour",
             *[cloudtrail("InvokeModel", params={"modelId": _MODELS[0]}, error="ValidationException", at=600 * i)
               for i in range(MIN_ERRORS)]),
]

"""A burst of Bedrock model enumeration: which models exist, where, and which are usable.

Fires when one principal makes many recon calls in a short window, spreads them over several regions,
or collects many errors while doing it (a stolen key being probed). It fires once per window.
"""

from __future__ import annotations

from streams.detect import state as rule_state
from streams.detect.aws import RECON_ACTIONS, is_bedrock
from streams.detect.base import RuleContext, RuleMeta, State, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import CONTAIN_PRINCIPAL

META = RuleMeta(
    id="bedrock_model_recon_burst",
    title="Bedrock model reconnaissance burst",
    severity="medium",
    status="experimental",
    description="One principal enumerated Bedrock models many times, across several regions, or with many "
                "errors within ten minutes: typical of tooling that checks what a stolen key can reach.",
    attack=("T1526", "T1580"),
    atlas=("AML.T0075", "AML.T0040"),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("MEASURE 2.4",),
    references=(
        "https://stratus-red-team.cloud/attack-techniques/AWS/aws.impact.bedrock-invoke-model/",
        "https://attack.mitre.org/techniques/T1526/",
    ),
    runbook="Look at the principal's source IPs and user agents in the window (context has the regions and "
            "counts). Scripted enumeration from an unknown IP or a new user agent points to stolen keys.",
    remediation="If the activity is not the owner's, deactivate the principal's keys or revoke its sessions "
                "and review what it invoked afterwards.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        *CONTAIN_PRINCIPAL,
    ),
)

WINDOW_MS = 10 * rule_state.MINUTE_MS
MIN_CALLS = 10
MIN_REGIONS = 3
MIN_ERRORS = 5
_CAP = 200


def _calls(event: dict, state: State) -> list:
    value = rule_state.load(state, rule_state.principal_key(META.id, event), event["time"])
    return rule_state.within(value.get("calls", []), event["time"], WINDOW_MS, _CAP)


def _summary(calls: list) -> tuple[int, int, int]:
    return len(calls), len({region for _, _, region, _ in calls}), sum(failed for _, _, _, failed in calls)


def rule(event: dict, ctx: RuleContext) -> bool:
    state = ctx.state
    if event["action"] not in RECON_ACTIONS or not is_bedrock(event):
        return False
    now = event["time"]
    key = rule_state.principal_key(META.id, event)
    value = rule_state.load(state, key, now)
    if rule_state.counted_before(value, event):
        return False
    call = rule_state.entry(event, event["cloud_region"], int(event["outcome"] == "failure"))
    calls = rule_state.within([*value.get("calls", []), call], now, WINDOW_MS, _CAP)
    count, regions, errors = _summary(calls)
    burst = count >= MIN_CALLS or regions >= MIN_REGIONS or errors >= MIN_ERRORS
    alerted = int(value.get("alerted_ms", 0))
    fire = burst and now - alerted > WINDOW_MS
    updated = {"calls": calls, "alerted_ms": now if fire else alerted, "counted": value.get("counted", [])}
    rule_state.remember(updated, event)
    rule_state.store(state, key, updated, now, WINDOW_MS)
    return fire


def title(event: dict, ctx: RuleContext) -> str:
    state = ctx.state
    count, regions, errors = _summary(_calls(event, state))
    return f"Bedrock model recon burst: {count} calls, {regions} regions, {errors} errors in 10 minutes"


def context(event: dict, ctx: RuleContext) -> dict:
    state = ctx.state
    calls = _calls(event, state)
    count, _, errors = _summary(calls)
    return {"calls": count, "regions": sorted({region for _, _, region, _ in calls}), "errors": errors,
            "window_minutes": WINDOW_MS // rule_state.MINUTE_MS}


EXAMPLES = [
    positive("ten availability checks in two minutes",
             *[cloudtrail("GetFoundationModelAvailability", at=10 * i) for i in range(MIN_CALLS)]),
    positive("model list in three regions", *[cloudtrail("ListFoundationModels", region=region, at=i)
                                              for i, region in enumerate(("us-east-1", "us-west-2", "eu-west-1"))]),
    positive("five denied listings", *[cloudtrail("ListFoundationModels", error="AccessDeniedException", at=i)
                                       for i in range(MIN_ERRORS)]),
    negative("a few listings, as a console page load does",
             *[cloudtrail("ListFoundationModels", at=i) for i in range(3)]),
    negative("ten listings spread over an hour",
             *[cloudtrail("ListFoundationModels", at=400 * i) for i in range(MIN_CALLS)]),
    negative("second burst inside the same window fires only once",
             *[cloudtrail("GetFoundationModelAvailability", at=i) for i in range(MIN_CALLS + 1)]),
]

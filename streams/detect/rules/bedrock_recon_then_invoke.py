"""Model enumeration or model-access enablement followed by an invocation from the same principal.

The LLMjacking sequence: find what models are usable, switch one on, call it, within minutes.
"""

from __future__ import annotations

from streams.detect import state as rule_state
from streams.detect.aws import INVOKE_ACTIONS, MODEL_ACCESS_ACTIONS, RECON_ACTIONS, is_bedrock
from streams.detect.base import RuleContext, RuleMeta, negative, positive
from streams.detect.examples import assumed_role, cloudtrail
from streams.detect.remediation import CONTAIN_PRINCIPAL
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_recon_then_invoke",
    title="Bedrock model invoked right after model reconnaissance",
    severity="high",
    status="experimental",
    description="A principal enumerated Bedrock models (three or more calls) or enabled model access, then "
                "invoked a model within fifteen minutes.",
    attack=("T1496", "T1526"),
    atlas=("AML.T0034", "AML.T0040", "AML.T0075"),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("MEASURE 2.4", "MANAGE 4.1"),
    references=(
        "https://stratus-red-team.cloud/attack-techniques/AWS/aws.impact.bedrock-invoke-model/",
        "https://atlas.mitre.org/techniques/AML.T0034",
    ),
    runbook="Establish whether the principal normally uses Bedrock. Check the source IP, user agent and "
            "whether invocation logging is on; the sequence is rare for applications, common for attackers "
            "testing stolen credentials.",
    remediation="Revoke the principal's credentials if the sequence is not explained, remove model access "
                "that was enabled, and set a Bedrock budget alarm.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        *CONTAIN_PRINCIPAL,
    ),
)

WINDOW_MS = 15 * rule_state.MINUTE_MS
MIN_RECON = 3
_CAP = 50


def rule(event: dict, ctx: RuleContext) -> bool:
    state = ctx.state
    action = event["action"]
    if not is_bedrock(event) or action not in (RECON_ACTIONS | MODEL_ACCESS_ACTIONS | INVOKE_ACTIONS):
        return False
    now = event["time"]
    key = rule_state.principal_key(META.id, event)
    value = rule_state.load(state, key, now)
    steps = value.get("steps", [])
    if rule_state.counted_before(value, event) or rule_state.has_entry(steps, event):
        return False
    if action not in INVOKE_ACTIONS:
        step = rule_state.entry(event, "access" if action in MODEL_ACCESS_ACTIONS else "recon")
        steps = rule_state.within([*steps, step], now, WINDOW_MS, _CAP)
        rule_state.store(state, key, {"steps": steps, "counted": value.get("counted", [])}, now, WINDOW_MS)
        return False
    steps = rule_state.within(steps, now, WINDOW_MS, _CAP)
    recon = sum(kind == "recon" for _, _, kind in steps)
    access = sum(kind == "access" for _, _, kind in steps)
    if recon >= MIN_RECON or access:
        # The sequence is used up: the next invoke needs fresh recon to fire again.
        # The steps it used up are remembered too: a redelivered recon call must not start a new sequence.
        used_up = {"steps": [], "last_sequence": {"recon": recon, "access": access},
                   "counted": value.get("counted", [])}
        for used in (*steps, rule_state.entry(event)):
            rule_state.remember(used_up, {"event_id": used[1]})
        rule_state.store(state, key, used_up, now, WINDOW_MS)
        return True
    # Not a sequence (yet): remember the verdict, so a redelivery is not judged against later recon.
    undecided = {"steps": steps, "counted": value.get("counted", [])}
    rule_state.remember(undecided, event)
    rule_state.store(state, key, undecided, now, WINDOW_MS)
    return False


def title(event: dict) -> str:
    return f"Bedrock {event['action']} right after model reconnaissance: {ct(event).param('modelId') or '?'}"


def context(event: dict, ctx: RuleContext) -> dict:
    state = ctx.state
    value = rule_state.load(state, rule_state.principal_key(META.id, event), event["time"])
    return {"model": ct(event).param("modelId") or "", "preceding": value.get("last_sequence", {}),
            "window_minutes": WINDOW_MS // rule_state.MINUTE_MS}


_MODEL = {"modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}
EXAMPLES = [
    positive("list, check availability, invoke",
             cloudtrail("ListFoundationModels", at=0),
             cloudtrail("GetFoundationModelAvailability", params=_MODEL, at=5),
             cloudtrail("GetFoundationModelAvailability", params=_MODEL, at=10),
             cloudtrail("InvokeModel", params=_MODEL, at=60)),
    positive("enable access then converse",
             cloudtrail("PutFoundationModelEntitlement", params=_MODEL, at=0),
             cloudtrail("Converse", params=_MODEL, at=120)),
    negative("invoke without recon", cloudtrail("InvokeModel", params=_MODEL)),
    negative("recon too long before the invoke",
             *[cloudtrail("ListFoundationModels", at=i) for i in range(3)],
             cloudtrail("InvokeModel", params=_MODEL, at=20 * 60)),
    negative("recon by someone else",
             *[cloudtrail("ListFoundationModels", at=i, identity=assumed_role("analyst", "bob")) for i in range(3)],
             cloudtrail("InvokeModel", params=_MODEL, at=30)),
]

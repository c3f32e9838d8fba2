"""Model enumeration or model-access enablement followed by an invocation from the same principal.

The LLMjacking sequence: find what models are usable, switch one on, call it, within minutes.
"""

from __future__ import annotations

from streams.detect import state as rule_state
from streams.detect.aws import INVOKE_ACTIONS, MODEL_ACCESS_ACTIONS, RECON_ACTIONS, is_bedrock
from streams.detect.base import Hit, RuleContext, RuleMeta, negative, positive
from streams.detect.examples import assumed_role, cloudtrail
from streams.detect.remediation import CONTAIN_PRINCIPAL
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_recon_then_invoke",
    title="Bedrock model invoked right after model reconnaissance",
    severity="high",
    status="experimental",
    description="A principal enumerated Bedrock models (three or more calls) or enabled model access, then "
                "invoked a model within fifteen minutes (each such invocation counts, in whatever order the "
                "calls reached aispm).",
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
# Steps and invocations are kept for an hour behind the principal's newest event (the stage's sweep
# grace): a step that arrives up to that late (read from another raw partition, in a CloudTrail file of
# another region delivered later) still finds the invocations it completes.
KEEP_MS = rule_state.HOUR_MS
_CAP = 50
# Invocations that no sequence explains yet, kept (as summaries) so a late step can raise them.
_PENDING_CAP = 20

# The verdict on an invocation depends only on the steps within the window before it, never on the
# order they arrived in: an invocation that arrives first is kept pending, and the late step that
# completes its sequence raises it (a finding about the invocation, so the alert counts the same
# invocations whichever order the partitions were read in).


def _sequence(steps: list, invoked_ms: int) -> dict[str, int] | None:
    """The recon and access steps within the window before an invocation, when they make a sequence."""
    kinds = [kind for at, _id, kind in steps if invoked_ms - WINDOW_MS <= at <= invoked_ms]
    recon, access = kinds.count("recon"), kinds.count("access")
    return {"recon": recon, "access": access} if recon >= MIN_RECON or access else None


def rule(event: dict, ctx: RuleContext) -> bool | list[Hit]:
    state = ctx.state
    action = event["action"]
    if not is_bedrock(event) or action not in (RECON_ACTIONS | MODEL_ACCESS_ACTIONS | INVOKE_ACTIONS):
        return False
    at = event["time"]
    key = rule_state.principal_key(META.id, event)
    value = rule_state.load(state, key, at)
    # Copies: the stored value is replaced whole, never edited in place (see streams/detect/state.py).
    steps, invokes = value.get("steps", []), [list(invoke) for invoke in value.get("invokes", [])]
    if (rule_state.counted_before(value, event) or rule_state.has_entry(steps, event)
            or rule_state.has_entry(invokes, event)):
        return False  # applied before (a redelivery): its verdict stands
    newest = max([at, *(entry[0] for entry in steps), *(entry[0] for entry in invokes)])
    if action in INVOKE_ACTIONS:
        sequence = _sequence(steps, at)
        invokes = [*invokes, [at, str(event.get("event_id", "")), sequence,
                              None if sequence else rule_state.summary(event, "modelId")]]
        verdict: bool | list[Hit] = sequence is not None
    else:
        steps = [*steps, rule_state.entry(event, "access" if action in MODEL_ACCESS_ACTIONS else "recon")]
        steps = rule_state.within(steps, newest, KEEP_MS, _CAP)
        raised = []
        for invoke in invokes:  # the pending invocations this step may complete
            invoked_ms, _id, sequence, pending = invoke
            if sequence is None and invoked_ms >= at and (found := _sequence(steps, invoked_ms)) is not None:
                invoke[2], invoke[3] = found, None
                raised.append(Hit(about=pending, title=title(pending),
                                  context={"model": ct(pending).param("modelId") or "", "preceding": found,
                                           "window_minutes": WINDOW_MS // rule_state.MINUTE_MS,
                                           "completed_by": str(event.get("event_id", ""))}))
        verdict = raised
    invokes = rule_state.within(invokes, newest, KEEP_MS, _CAP)
    pending = [index for index, invoke in enumerate(invokes) if invoke[3] is not None]
    for index in pending[:-_PENDING_CAP]:  # the oldest pending ones are let go first
        invokes[index][3] = None
        invokes[index][2] = {}
    rule_state.store(state, key, {"steps": steps, "invokes": invokes, "counted": value.get("counted", [])},
                     at, KEEP_MS)
    return verdict


def title(event: dict) -> str:
    return f"Bedrock {event['action']} right after model reconnaissance: {ct(event).param('modelId') or '?'}"


def context(event: dict, ctx: RuleContext) -> dict:
    value = rule_state.load(ctx.state, rule_state.principal_key(META.id, event), event["time"])
    event_id = str(event.get("event_id", ""))
    sequence = next((invoke[2] for invoke in value.get("invokes", []) if invoke[1] == event_id), None)
    return {"model": ct(event).param("modelId") or "", "preceding": sequence or {},
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
    positive("the invoke arrived before the recon that preceded it (another partition, a later file)",
             cloudtrail("InvokeModel", params=_MODEL, at=60),
             cloudtrail("ListFoundationModels", at=0),
             cloudtrail("GetFoundationModelAvailability", params=_MODEL, at=5),
             cloudtrail("GetFoundationModelAvailability", params=_MODEL, at=10)),
    negative("invoke without recon", cloudtrail("InvokeModel", params=_MODEL)),
    negative("recon after the invoke, late or not",
             cloudtrail("InvokeModel", params=_MODEL, at=0),
             *[cloudtrail("ListFoundationModels", at=10 + i) for i in range(3)]),
    negative("recon too long before the invoke",
             *[cloudtrail("ListFoundationModels", at=i) for i in range(3)],
             cloudtrail("InvokeModel", params=_MODEL, at=20 * 60)),
    negative("recon by someone else",
             *[cloudtrail("ListFoundationModels", at=i, identity=assumed_role("analyst", "bob")) for i in range(3)],
             cloudtrail("InvokeModel", params=_MODEL, at=30)),
]

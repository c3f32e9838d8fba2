"""The LLM-jacker erases their traces: Bedrock invocation logging and a guardrail deleted."""

from __future__ import annotations

from streams.demo.incidents.base import Incident, RecordSelector, event_names
from streams.demo.incidents.bedrock_llmjacking import attacker_call
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import AWS_ACCOUNT, LLMJACKING_IP

INCIDENT = Incident(
    "bedrock_logging_and_guardrail_deleted",
    "Bedrock invocation logging and a guardrail deleted",
    f"With the same leaked key from {LLMJACKING_IP}: DeleteModelInvocationLoggingConfiguration and "
    "DeleteGuardrail, just before the InvokeModel bursts (09:15).",
    (
        RecordSelector(
            "cloudtrail",
            (LLMJACKING_IP,),
            event_names("DeleteModelInvocationLoggingConfiguration", "DeleteGuardrail"),
        ),
    ),
    attack=("T1562.008",),
)

_GUARDRAIL_ARN = f"arn:aws:bedrock:us-east-1:{AWS_ACCOUNT}:guardrail/q7x2m9k4w1zt"


def inject(sim: Simulation) -> None:
    for moment, name, params in (
        (at_minute(75, sim.rand.between(0, 20)), "DeleteModelInvocationLoggingConfiguration", None),
        (at_minute(75, 40), "DeleteGuardrail", {"guardrailIdentifier": _GUARDRAIL_ARN}),
    ):
        attacker_call(sim, moment, name, read_only=False, params=params, label=INCIDENT.id)

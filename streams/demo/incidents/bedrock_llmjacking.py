"""LLM-jacking: someone holding the reporting job's leaked access key enables and invokes Bedrock models.

The attack has three steps: reconnaissance and model access (here), erasing the traces
(``bedrock_logging_and_guardrail_deleted``), then bursts of invocations (here again).
"""

from __future__ import annotations

from typing import Any

from streams.demo import cloudtrail
from streams.demo.cloudtrail import CLAUDE
from streams.demo.incidents.base import Incident, RecordSelector, event_names
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import ALL_AWS_REGIONS, LEAKED_KEY_USER, LLMJACKING_IP, VPC_NAT_IP

INCIDENT = Incident(
    "bedrock_llmjacking",
    "LLM-jacking with a leaked long-lived access key",
    f"The access key of IAM user {LEAKED_KEY_USER} (AKIA..., normally used from {VPC_NAT_IP}) is used "
    f"from {LLMJACKING_IP}: GetCallerIdentity, ListFoundationModels in 16 regions, "
    "GetFoundationModelAvailability, PutUseCaseForModelAccess, PutFoundationModelEntitlement (one denied "
    "with AccessDeniedException), then bursts of InvokeModel in us-east-1 and us-west-2 (09:10-09:45).",
    (
        RecordSelector(
            "cloudtrail",
            (LLMJACKING_IP,),
            event_names(
                "GetCallerIdentity",
                "ListFoundationModels",
                "GetFoundationModelAvailability",
                "ListFoundationModelAgreementOffers",
                "PutUseCaseForModelAccess",
                "CreateFoundationModelAgreement",
                "PutFoundationModelEntitlement",
                "GetModelInvocationLoggingConfiguration",
                "InvokeModel",
            ),
        ),
    ),
    attack=("T1078.004", "T1496"),
    anomalous_access=True,
)

_ATTACKER_BOTO = (
    "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.5.0-27-generic md/arch#x86_64 "
    "lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.84"
)
_MODELS = (CLAUDE, "anthropic.claude-3-opus-20240229-v1:0", "anthropic.claude-3-haiku-20240307-v1:0")


def attacker_call(
    sim: Simulation,
    at_us: int,
    name: str,
    *,
    source: str = "bedrock.amazonaws.com",
    label: str,
    **fields: Any,
) -> None:
    """A call with the leaked key from the attacker's address and tooling."""
    cloudtrail.reporting_key_event(
        sim, at_us, source, name, source_ip=LLMJACKING_IP, user_agent=_ATTACKER_BOTO, label=label, **fields
    )


def inject_reconnaissance(sim: Simulation) -> None:
    """Who am I, which models are there, and switching on access to them (09:10-09:14)."""
    rand = sim.rand
    label = INCIDENT.id
    attacker_call(
        sim,
        at_minute(70, rand.between(0, 10)),
        "GetCallerIdentity",
        source="sts.amazonaws.com",
        read_only=True,
        label=label,
    )
    at = at_minute(70, 20)
    for region in ALL_AWS_REGIONS:
        at += rand.between(1_000_000, 5_000_000)
        attacker_call(sim, at, "ListFoundationModels", read_only=True, region=region, label=label)
    at = at_minute(72)
    for model in _MODELS:
        at += rand.between(2_000_000, 9_000_000)
        attacker_call(
            sim, at, "GetFoundationModelAvailability", read_only=True, params={"modelId": model}, label=label
        )
    for moment, name, read_only, params, response in (
        (at_minute(72, 40), "ListFoundationModelAgreementOffers", True, {"modelId": CLAUDE}, None),
        (at_minute(73), "PutUseCaseForModelAccess", False, None, None),
        (
            at_minute(73, 20),
            "CreateFoundationModelAgreement",
            False,
            {"modelId": CLAUDE},
            {"modelId": CLAUDE.removesuffix(":0")},
        ),
    ):
        attacker_call(sim, moment, name, read_only=read_only, params=params, response=response, label=label)
    for index, (model, region) in enumerate(
        ((CLAUDE, "us-east-1"), (_MODELS[1], "us-west-2"), (_MODELS[2], "us-east-1"))
    ):
        denied = index == 1
        attacker_call(
            sim,
            at_minute(73, 35 + index * 9),
            "PutFoundationModelEntitlement",
            read_only=False,
            region=region,
            params={"modelId": model},
            response=None if denied else {"status": "SUCCESS"},
            error=("AccessDeniedException", "You don't have access to the model with the specified model ID.")
            if denied
            else None,
            label=label,
        )
    attacker_call(
        sim, at_minute(74, 30), "GetModelInvocationLoggingConfiguration", read_only=True, label=label
    )


def inject_invocations(sim: Simulation) -> None:
    """Bursts of InvokeModel in two regions, the last one throttled at first (09:17-09:45)."""
    rand = sim.rand
    for start_minute, seconds, calls, region in (
        (77, 300, 30, "us-east-1"),
        (90, 240, 25, "us-west-2"),
        (101, 180, 20, "us-east-1"),
    ):
        for call in range(calls):
            at = at_minute(start_minute) + rand.between(0, seconds * 1_000_000)
            throttled = region == "us-east-1" and start_minute == 101 and call < 2
            attacker_call(
                sim,
                at,
                "InvokeModel",
                read_only=True,
                region=region,
                params={"modelId": CLAUDE if call % 4 else _MODELS[2]},
                error=("ThrottlingException", "Too many requests, please wait before trying again.")
                if throttled
                else None,
                host=f"bedrock-runtime.{region}.amazonaws.com",
                label=INCIDENT.id,
            )

"""Bedrock provisioned throughput bought, changed or released: large committed spend, or capacity pulled."""

from __future__ import annotations

from streams.detect.aws import is_bedrock, succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="bedrock_provisioned_throughput_changed",
    title="Bedrock provisioned throughput created, updated or deleted",
    severity="medium",
    status="stable",
    description="CreateProvisionedModelThroughput, UpdateProvisionedModelThroughput or "
                "DeleteProvisionedModelThroughput succeeded. Creation commits to hourly model-unit charges "
                "(an attacker's way to run models at the victim's cost); deletion takes capacity from "
                "production applications.",
    attack=("T1496", "T1485"),
    atlas=("AML.T0034", "AML.T0029"),
    owasp_llm=("LLM10:2025",),
    nist_ai_rmf=("GOVERN 1.4", "MANAGE 2.4"),
    references=("https://docs.aws.amazon.com/bedrock/latest/userguide/prov-throughput.html",),
    runbook="Check the purchase or deletion against change records: model units, commitment term and model "
            "are in the context. Unplanned purchases with a commitment term cannot be cancelled, so act fast.",
    remediation="Delete unapproved no-commitment throughput at once, contact AWS support for committed "
                "purchases, and restrict bedrock:CreateProvisionedModelThroughput to a procurement role.",
    provider="aws-bedrock",
    services=("bedrock*.amazonaws.com",),
    actions=(
        aws("bedrock", "DeleteProvisionedModelThroughput", "delete-provisioned-model-throughput",
            opt("--provisioned-model-id", "name"),
            description="Delete unapproved provisioned throughput (a committed purchase keeps billing: contact "
                        "AWS support for those).", risk="high", reversible=False),
    ),
)

_ACTIONS = frozenset({"CreateProvisionedModelThroughput", "UpdateProvisionedModelThroughput",
                      "DeleteProvisionedModelThroughput"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and is_bedrock(event) and succeeded(event)


def title(event: dict) -> str:
    verb = {"Create": "created", "Update": "updated", "Delete": "deleted"}[event["action"][:6]]
    return f"Bedrock provisioned throughput {verb}"


def context(event: dict) -> dict:
    record = ct(event)
    return {"model": record.param("modelId") or "", "model_units": record.param("modelUnits"),
            "commitment": record.param("commitmentDuration") or "none",
            "name": record.param("provisionedModelName") or record.param("provisionedModelId") or ""}


EXAMPLES = [
    positive("throughput bought with a six-month commitment", cloudtrail(
        "CreateProvisionedModelThroughput",
        params={"modelUnits": 5, "provisionedModelName": "batch", "commitmentDuration": "SixMonths",
                "modelId": "anthropic.claude-v2:1"})),
    positive("throughput deleted", cloudtrail("DeleteProvisionedModelThroughput",
                                              params={"provisionedModelId": "prod-chat"})),
    negative("throughput listed", cloudtrail("ListProvisionedModelThroughputs")),
    negative("purchase refused", cloudtrail("CreateProvisionedModelThroughput", params={"modelUnits": 5},
                                            error="ServiceQuotaExceededException")),
]

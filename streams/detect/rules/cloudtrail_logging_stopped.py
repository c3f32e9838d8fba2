"""CloudTrail logging stopped on a trail or event data store: the audit trail of AI activity goes dark."""

from __future__ import annotations

from streams.detect.aws import succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail, iam_user
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="cloudtrail_logging_stopped",
    title="CloudTrail logging stopped",
    severity="high",
    status="stable",
    description="StopLogging or StopEventDataStoreIngestion succeeded: API calls, including model "
                "invocations and AI configuration changes, stop being recorded.",
    attack=("T1562.008",),
    atlas=("AML.T0034",),
    nist_ai_rmf=("MEASURE 2.4", "MANAGE 4.1"),
    references=(
        "https://attack.mitre.org/techniques/T1562/008/",
        "https://stratus-red-team.cloud/attack-techniques/AWS/aws.defense-evasion.cloudtrail-stop/",
    ),
    runbook="Restart logging first, then review the principal's other activity in the preceding hour and "
            "any gap in the trail.",
    remediation="StartLogging on the trail, use an organization trail that member accounts cannot stop, and "
                "deny cloudtrail:StopLogging by SCP.",
    services=("cloudtrail.amazonaws.com",),
    actions=(
        aws("cloudtrail", "StartLogging", "start-logging", opt("--name", "trail"),
            description="Start logging on the trail again.", risk="low", reversible=True),
    ),
)

_ACTIONS = frozenset({"StopLogging", "StopEventDataStoreIngestion"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and event["service"] == "cloudtrail.amazonaws.com" and succeeded(event)


def dedup_key(event: dict) -> str:
    record = ct(event)
    return f"{META.id}|{record.param('name') or record.param('eventDataStore')}"


def context(event: dict) -> dict:
    record = ct(event)
    return {"trail": record.param("name") or record.param("eventDataStore") or ""}


EXAMPLES = [
    positive("trail stopped", cloudtrail("StopLogging", "cloudtrail.amazonaws.com", identity=iam_user("ops-admin"),
                                         params={"name": "org-trail"})),
    positive("event data store ingestion stopped", cloudtrail(
        "StopEventDataStoreIngestion", "cloudtrail.amazonaws.com", params={"eventDataStore": "eds-1"})),
    negative("trail started", cloudtrail("StartLogging", "cloudtrail.amazonaws.com", params={"name": "org-trail"})),
    negative("stop refused", cloudtrail("StopLogging", "cloudtrail.amazonaws.com", params={"name": "org-trail"},
                                        error="InvalidTrailNameException")),
]

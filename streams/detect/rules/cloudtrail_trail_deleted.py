"""A CloudTrail trail or event data store deleted: the audit record of AI activity is gone for good."""

from __future__ import annotations

from streams.detect.aws import succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import manual
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="cloudtrail_trail_deleted",
    title="CloudTrail trail deleted",
    severity="high",
    status="stable",
    description="DeleteTrail or DeleteEventDataStore succeeded: events are no longer delivered (trail) or the "
                "stored history will be removed (event data store).",
    attack=("T1562.008", "T1070"),
    atlas=("AML.T0034",),
    nist_ai_rmf=("MEASURE 2.4", "MANAGE 4.1"),
    references=(
        "https://attack.mitre.org/techniques/T1562/008/",
        "https://stratus-red-team.cloud/attack-techniques/AWS/aws.defense-evasion.cloudtrail-delete/",
    ),
    runbook="Recreate the trail, then investigate the principal: deletion is rarely routine and is often "
            "the last step before abuse.",
    remediation="Recreate the trail from code, protect it with an organization trail and an SCP denying "
                "cloudtrail:DeleteTrail, and keep logs in a bucket with Object Lock.",
    services=("cloudtrail.amazonaws.com",),
    actions=(
        manual("cloudtrail", "CreateTrail", "trail", "region", "account",
               description="Recreate the trail from code (same name, bucket, selectors), then StartLogging.",
               risk="low"),
    ),
)

_ACTIONS = frozenset({"DeleteTrail", "DeleteEventDataStore"})


def rule(event: dict) -> bool:
    return event["action"] in _ACTIONS and event["service"] == "cloudtrail.amazonaws.com" and succeeded(event)


def context(event: dict) -> dict:
    record = ct(event)
    return {"trail": record.param("name") or record.param("eventDataStore") or ""}


EXAMPLES = [
    positive("trail deleted", cloudtrail("DeleteTrail", "cloudtrail.amazonaws.com", params={"name": "org-trail"})),
    negative("trail described", cloudtrail("DescribeTrails", "cloudtrail.amazonaws.com")),
    negative("delete conflict", cloudtrail("DeleteTrail", "cloudtrail.amazonaws.com", params={"name": "org-trail"},
                                           error="ConflictException")),
]

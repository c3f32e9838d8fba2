"""CloudTrail event selectors changed so that a trail records less: management events, writes, or sources dropped.

An attacker who cannot stop a trail can make it deaf: exclude management events, keep only reads, or
exclude the very services (Bedrock, KMS) they are about to use.
"""

from __future__ import annotations

from typing import Any

from streams.detect.aws import succeeded
from streams.detect.base import RuleMeta, negative, positive
from streams.detect.examples import cloudtrail
from streams.detect.remediation import aws, opt
from streams.normalize.cloudtrail_record import ct

META = RuleMeta(
    id="cloudtrail_event_selectors_reduced",
    title="CloudTrail event selectors reduce what is logged",
    severity="high",
    status="stable",
    description="PutEventSelectors succeeded with selectors that no longer record all management events: "
                "management events off, only read or only write events, or event sources excluded.",
    attack=("T1562.008",),
    atlas=("AML.T0034",),
    nist_ai_rmf=("MEASURE 2.4", "MANAGE 4.1"),
    references=(
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html",
        "https://stratus-red-team.cloud/attack-techniques/AWS/aws.defense-evasion.cloudtrail-event-selectors/",
    ),
    runbook="Compare the new selectors (context) with the trail's intended configuration and find out what "
            "the principal did while the trail was filtering.",
    remediation="Restore selectors that log all management events (read and write) with no excluded "
                "sources, and deny cloudtrail:PutEventSelectors by SCP outside the logging pipeline.",
    services=("cloudtrail.amazonaws.com",),
    actions=(
        aws("cloudtrail", "PutEventSelectors", "put-event-selectors", opt("--trail-name", "trail"),
            '--event-selectors=[{"ReadWriteType":"All","IncludeManagementEvents":true}]',
            description="Log all management events again, read and write (this replaces the trail's selectors: "
                        "add its approved data-event selectors back).", risk="low", reversible=True),
    ),
)


def _basic_gaps(selectors: list[Any]) -> list[str]:
    gaps: list[str] = []
    full = any(isinstance(s, dict) and s.get("includeManagementEvents") is not False
               and s.get("readWriteType", "All") == "All" for s in selectors)
    if not full:
        gaps.append("management events not logged for both reads and writes")
    excluded = sorted({source for s in selectors if isinstance(s, dict)
                       for source in s.get("excludeManagementEventSources") or []})
    if excluded:
        gaps.append(f"management events excluded for {', '.join(excluded)}")
    return gaps


def _field_selectors(selector: Any) -> list[dict[str, Any]]:
    fields = selector.get("fieldSelectors") if isinstance(selector, dict) else None
    return [field for field in fields if isinstance(field, dict)] if isinstance(fields, list) else []


def _advanced_gaps(selectors: list[Any]) -> list[str]:
    management = [s for s in selectors
                  if any(f.get("field") == "eventCategory" and "Management" in (f.get("equals") or [])
                         for f in _field_selectors(s))]
    if not management:
        return ["no advanced selector logs management events"]
    gaps: list[str] = []
    for selector in management:
        for field in _field_selectors(selector):
            if field.get("field") == "readOnly":
                gaps.append("management events limited to reads or to writes")
            if field.get("field") == "eventSource" and (field.get("notEquals") or field.get("notStartsWith")):
                excluded = (field.get("notEquals") or []) + (field.get("notStartsWith") or [])
                gaps.append(f"management events excluded for {', '.join(map(str, excluded))}")
    return sorted(set(gaps))


def gaps(event: dict) -> list[str]:
    record = ct(event)
    basic = record.param("eventSelectors")
    advanced = record.param("advancedEventSelectors")
    if isinstance(advanced, list) and advanced:
        return _advanced_gaps(advanced)
    if isinstance(basic, list) and basic:
        return _basic_gaps(basic)
    return []


def rule(event: dict) -> bool:
    return (event["action"] == "PutEventSelectors" and event["service"] == "cloudtrail.amazonaws.com"
            and succeeded(event) and bool(gaps(event)))


def context(event: dict) -> dict:
    return {"trail": ct(event).param("trailName") or "", "gaps": gaps(event)}


def _basic(include: bool = True, read_write: str = "All", exclude: tuple[str, ...] = ()) -> dict:
    return {"trailName": "org-trail", "eventSelectors": [{
        "dataResources": [], "excludeManagementEventSources": list(exclude),
        "includeManagementEvents": include, "readWriteType": read_write}]}


def _advanced(*fields: dict) -> dict:
    return {"trailName": "org-trail", "advancedEventSelectors": [{
        "name": "management", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}, *fields]}]}


EXAMPLES = [
    positive("management events off, reads only", cloudtrail(
        "PutEventSelectors", "cloudtrail.amazonaws.com", params=_basic(include=False, read_write="ReadOnly"))),
    positive("Bedrock excluded (advanced selectors)", cloudtrail(
        "PutEventSelectors", "cloudtrail.amazonaws.com",
        params=_advanced({"field": "eventSource", "notEquals": ["bedrock.amazonaws.com"]}))),
    positive("KMS excluded (basic selectors)", cloudtrail(
        "PutEventSelectors", "cloudtrail.amazonaws.com", params=_basic(exclude=("kms.amazonaws.com",)))),
    negative("all management events", cloudtrail("PutEventSelectors", "cloudtrail.amazonaws.com", params=_basic())),
    negative("advanced selectors for all management events",
             cloudtrail("PutEventSelectors", "cloudtrail.amazonaws.com", params=_advanced())),
    negative("selectors read", cloudtrail("GetEventSelectors", "cloudtrail.amazonaws.com",
                                          params={"trailName": "org-trail"})),
]

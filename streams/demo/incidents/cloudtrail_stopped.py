"""CloudTrail logging stopped from the session the Okta account takeover opened in AWS."""

from __future__ import annotations

from streams.demo import cloudtrail
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import ACCOUNT_TAKEOVER_IP, EMPLOYEE_BY_LOGIN

INCIDENT = Incident(
    "cloudtrail_stopped",
    "CloudTrail logging stopped from a taken-over account",
    f"tom.becker's administrator session, from {ACCOUNT_TAKEOVER_IP} right after the Okta takeover, "
    "calls DescribeTrails, GetTrailStatus and StopLogging on the organization trail (08:30).",
    (RecordSelector("cloudtrail", (ACCOUNT_TAKEOVER_IP,)),),
    attack=("T1562.008",),
    anomalous_access=True,
)


def inject(sim: Simulation) -> None:
    # A fresh administrator session, opened by the attacker's SSO into AWS.
    session = (sim.rand.aws_key("ASIA"), at_minute(29))
    for moment, name, params in (
        (at_minute(30), "DescribeTrails", {"trailNameList": [], "includeShadowTrails": True}),
        (at_minute(30, 40), "GetTrailStatus", {"name": cloudtrail.TRAIL_ARN}),
        (at_minute(31, 30), "StopLogging", {"name": cloudtrail.TRAIL_ARN}),
    ):
        cloudtrail.sso_event(
            sim,
            EMPLOYEE_BY_LOGIN["tom.becker"],
            moment,
            "cloudtrail.amazonaws.com",
            name,
            read_only=name != "StopLogging",
            params=params,
            console=True,
            source_ip=ACCOUNT_TAKEOVER_IP,
            session=session,
            label=INCIDENT.id,
        )

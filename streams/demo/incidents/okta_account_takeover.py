"""An Okta account taken over: a brute force from abroad, then a successful sign-in, MFA and SSO to AWS."""

from __future__ import annotations

from streams.demo import audit
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import ACCOUNT_TAKEOVER_IP, EMPLOYEE_BY_LOGIN, TAKEOVER_GEO, Browser

INCIDENT = Incident(
    "okta_account_takeover",
    "Okta brute force then success from a new country",
    f"14 failed sign-ins for tom.becker from {ACCOUNT_TAKEOVER_IP} ({TAKEOVER_GEO.country}), then a "
    "successful sign-in, MFA and SSO into AWS from the same address (08:20-08:25).",
    (RecordSelector("audit", (ACCOUNT_TAKEOVER_IP,)),),
    attack=("T1110", "T1078.004"),
    anomalous_access=True,
)

_ATTACKER = audit.Origin(
    ACCOUNT_TAKEOVER_IP,
    TAKEOVER_GEO,
    Browser(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
        "Windows 10",
        "CHROME",
    ),
    "m247 ltd",
)


def inject(sim: Simulation) -> None:
    rand = sim.rand
    tom = EMPLOYEE_BY_LOGIN["tom.becker"]
    label = INCIDENT.id
    at = at_minute(20)
    for _ in range(14):
        at += rand.between(4_000_000, 15_000_000)
        audit.okta(
            sim,
            at,
            tom,
            "user.session.start",
            result="FAILURE",
            reason="INVALID_CREDENTIALS",
            origin=_ATTACKER,
            label=label,
        )
    success = at_minute(24, 10) + rand.between(0, 1_000_000)
    audit.okta(sim, success, tom, "user.session.start", origin=_ATTACKER, label=label)
    audit.okta(
        sim,
        success + 21_000_000,
        tom,
        "user.authentication.auth_via_mfa",
        origin=_ATTACKER,
        targets=[audit.okta_verify(tom)],
        label=label,
    )
    audit.okta(
        sim,
        at_minute(28, 5) + rand.between(0, 1_000_000),
        tom,
        "user.authentication.sso",
        origin=_ATTACKER,
        targets=[audit.okta_app("Amazon Web Services")],
        label=label,
    )

"""An engineer's laptop calls unsanctioned AI APIs directly, bypassing the company's AI gateway."""

from __future__ import annotations

from streams.demo import gateway
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import EMPLOYEE_BY_LOGIN, SAAS_HOSTS, SHADOW_AI_LAPTOP_IP

# host -> connections that morning
_CALLS = (("api.anthropic.com", 20), ("generativelanguage.googleapis.com", 6), ("api.deepseek.com", 5))

INCIDENT = Incident(
    "shadow_ai_laptop",
    "Engineer's laptop calls unsanctioned AI APIs directly",
    f"nina.petrova's laptop ({SHADOW_AI_LAPTOP_IP}) resolves and connects to api.anthropic.com, "
    "generativelanguage.googleapis.com and api.deepseek.com all morning, bypassing the company AI "
    "gateway: Zeek DNS and TLS (SNI) records plus Squid CONNECT lines.",
    (RecordSelector("gateway", (SHADOW_AI_LAPTOP_IP,), tuple(host for host, _ in _CALLS)),),
)


def inject(sim: Simulation) -> None:
    rand = sim.rand
    laptop = EMPLOYEE_BY_LOGIN["nina.petrova"].laptop_ip
    for host, calls in _CALLS:
        for _ in range(calls):
            at = at_minute(5) + rand.between(0, 110 * 60_000_000)
            gateway.laptop_visit(sim, at, laptop, host, INCIDENT.id, dns_lookup=True)
    # Her ordinary traffic sits beside it.
    for _ in range(12):
        gateway.laptop_visit(
            sim, sim.anytime(), laptop, rand.weighted(SAAS_HOSTS), dns_lookup=rand.chance(0.4)
        )

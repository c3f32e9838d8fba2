"""A CI runner pod calls the OpenAI API directly instead of going through the AI gateway."""

from __future__ import annotations

from streams.demo import gateway
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import AI_HOST_ADDRESSES, CI_POD_IP

INCIDENT = Incident(
    "shadow_ai_ci_pod",
    "CI pod calls the OpenAI API directly",
    f"A CI runner pod ({CI_POD_IP}) opens TLS connections to api.openai.com around 08:40 instead of "
    "using the AI gateway: Zeek TLS (SNI) records.",
    (RecordSelector("gateway", (CI_POD_IP, "api.openai.com")),),
)


def inject(sim: Simulation) -> None:
    address = AI_HOST_ADDRESSES["api.openai.com"]
    for _ in range(8):
        at = at_minute(40) + sim.rand.between(0, 180_000_000)
        gateway.tls(sim, at, CI_POD_IP, address, "api.openai.com", INCIDENT.id)

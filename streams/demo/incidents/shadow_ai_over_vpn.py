"""A remote worker's ZPA client reaches Claude; the ZPA session that says who held the address is
shipped late (the log streaming service's backlog), after the shadow-AI alert was raised: the alert is
corrected (an OCSF Update naming the person)."""

from __future__ import annotations

from streams.demo import gateway
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.network_identity import zpa_session
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import REMOTE_ACCESS_IPS, VPN_SHADOW_AI_USER

HOST = "claude.ai"
ADDRESS = REMOTE_ACCESS_IPS[VPN_SHADOW_AI_USER]

INCIDENT = Incident(
    "shadow_ai_over_vpn",
    "Remote worker's laptop calls Claude over ZPA",
    f"{VPN_SHADOW_AI_USER}'s ZPA client ({ADDRESS}) connects to {HOST} from 08:20: Zeek TLS (SNI) and Squid "
    "CONNECT records. The ZPA session (08:12 to 09:41) arrives late, after the alert: a late binding "
    "that corrects it.",
    (RecordSelector("gateway", (ADDRESS, HOST)),),
)


def inject(sim: Simulation) -> None:
    rand = sim.rand
    for _ in range(5):
        gateway.laptop_visit(sim, at_minute(20) + rand.between(0, 60 * 60_000_000), ADDRESS, HOST, INCIDENT.id,
                             dns_lookup=False)
    # Not the incident's own records: the evidence, late (selectors find them by neither host nor label).
    zpa_session(sim, VPN_SHADOW_AI_USER, at_minute(12), at_minute(101), late=True)

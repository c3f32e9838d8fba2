"""A hot desk's workstation reaches ChatGPT while two people are signed in there: shadow AI that no one
person can be named for (identity resolution must say "ambiguous", never guess)."""

from __future__ import annotations

from streams.demo import gateway
from streams.demo.audit import okta
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import EMPLOYEE_BY_LOGIN, SHARED_DESK_IP, SHARED_DESK_USERS

HOST = "chatgpt.com"

INCIDENT = Incident(
    "shadow_ai_shared_desk",
    "Shared workstation calls ChatGPT",
    f"The hot desk's workstation ({SHARED_DESK_IP}) connects to {HOST} from 08:40, after "
    f"{' and '.join(SHARED_DESK_USERS)} both signed in to Okta there (08:10, 08:35): Zeek TLS (SNI) and "
    "Squid CONNECT records. The alert names no one: the address is ambiguous.",
    (RecordSelector("gateway", (SHARED_DESK_IP, HOST)),),
)


def inject(sim: Simulation) -> None:
    rand = sim.rand
    for login, minute in zip(SHARED_DESK_USERS, (10, 35), strict=True):
        okta(sim, at_minute(minute) + rand.between(0, 60_000_000), EMPLOYEE_BY_LOGIN[login], "user.session.start",
             proxied_from=SHARED_DESK_IP)
    for _ in range(6):
        gateway.laptop_visit(sim, at_minute(40) + rand.between(0, 50 * 60_000_000), SHARED_DESK_IP, HOST,
                             INCIDENT.id, dns_lookup=False)

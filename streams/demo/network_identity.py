"""Who holds which internal address: the records identity resolution learns from.

Every office laptop gets its DHCP lease (Zeek ``dhcp.log``) as it joins the network, and its first app
sign-on of the morning goes through the office proxy, which Okta trusts: the laptop's address appears in
the event's ``request.ipChain`` behind the office's public one. The remote sales people connect through
Zscaler Private Access (ZPA User Status logs). The hot desk's workstation gets a lease too; who signs in
there is in ``incidents.shadow_ai_shared_desk``.

Added to the demo after the rest, these draw from a random source of their own (``Simulation.branch``),
so every record the rest of the run makes keeps its bytes.
"""

from __future__ import annotations

from streams.demo import records
from streams.demo.audit import okta, okta_app
from streams.demo.simulation import Simulation
from streams.demo.world import (
    COMPANY_DOMAIN,
    EMPLOYEE_BY_LOGIN,
    EMPLOYEES,
    OFFICE_DHCP_SERVER_IP,
    OFFICE_NAT_IP,
    REMOTE_ACCESS_IPS,
    SHARED_DESK_IP,
    VPN_SHADOW_AI_USER,
    ZPA_CUSTOMER,
    device_mac,
    device_name,
)

LEASE_S = 8 * 3600
_INTERNAL_DOMAIN = "corp." + COMPANY_DOMAIN
_FIRST_APPS = ("Slack", "Google Workspace", "Atlassian Cloud", "GitHub Enterprise Cloud")
ZPA_AUTHENTICATED, ZPA_DISCONNECTED = "ZPN_STATUS_AUTHENTICATED", "ZPN_STATUS_DISCONNECTED"


def dhcp_lease(sim: Simulation, at_us: int, name: str, address: str, label: str = "") -> None:
    record = records.zeek_dhcp(sim.rand, at_us, mac=device_mac(name), host_name=name, domain=_INTERNAL_DOMAIN,
                               assigned=address, server=OFFICE_DHCP_SERVER_IP, lease_s=LEASE_S)
    sim.emit("gateway", at_us, record, label)


def zpa_session(sim: Simulation, login: str, login_us: int, logout_us: int | None, *, late: bool = False,
                label: str = "") -> None:
    """A ZPA session's records: the login, and the logout when ``logout_us`` is given."""
    person = EMPLOYEE_BY_LOGIN[login]
    session = sim.rand.alnum(32)
    for status, at in ((ZPA_AUTHENTICATED, login_us), (ZPA_DISCONNECTED, logout_us)):
        if at is None:
            continue
        record = records.zpa_user_status(
            sim.rand, at, customer=ZPA_CUSTOMER, user=person.email, session_id=session, status=status,
            private_ip=REMOTE_ACCESS_IPS[login], public_ip=person.egress_ip,
            login_us=login_us, logout_us=logout_us if status == ZPA_DISCONNECTED else None,
            host_name=device_name(login), geo=person.geo)
        sim.emit("gateway", at, record, label, late=late)


def routine_traffic(sim: Simulation) -> None:
    rand = sim.rand
    for person in EMPLOYEES:
        if person.egress_ip != OFFICE_NAT_IP:
            continue
        joined = sim.start_us + rand.between(0, 4 * 60_000_000)
        dhcp_lease(sim, joined, device_name(person.login), person.laptop_ip)
        okta(sim, joined + rand.between(20_000_000, 60_000_000), person, "user.authentication.sso",
             targets=[okta_app(rand.pick(_FIRST_APPS))], proxied_from=person.laptop_ip)
    dhcp_lease(sim, sim.start_us + rand.between(0, 4 * 60_000_000), "hotdesk-3-250", SHARED_DESK_IP)
    # Remote people on ZPA (the one whose session is logged late: incidents.shadow_ai_over_vpn).
    for login in sorted(REMOTE_ACCESS_IPS):
        if login == VPN_SHADOW_AI_USER:
            continue
        login_us = sim.start_us + rand.between(0, 30 * 60_000_000)
        logout = login_us + rand.between(40 * 60_000_000, 80 * 60_000_000) if rand.chance(0.5) else None
        zpa_session(sim, login, login_us, logout)

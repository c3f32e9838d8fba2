"""Deterministic demo traffic: two hours of a made-up company's logs with known incidents injected.

``generate(seed, scale)`` returns raw Kafka message values per source family, in the sources' real wire
formats (CloudTrail single-event JSON; Envoy, nginx, Squid, Zeek, Kong and API Gateway access logs;
Kubernetes, GCP, Azure and Okta audit events). The company (people, roles, networks) is fixed in
``streams.demo.world``; the seed decides timing, ids and the mix of background actions. The same seed and
scale always give byte-identical output.

A run is: each family's routine traffic (``cloudtrail``, ``gateway``, ``audit``), scaled by ``scale``; the
incidents (``streams.demo.incidents``), which do not scale; the malformed records (``malformed``); the
records that say who holds which address (``network_identity``: DHCP leases, Okta sign-ons through the
office proxy, ZPA sessions) and the incidents about that. A record marked ``late`` comes after the rest
of its family (a log source's backlog).
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.demo import audit, cloudtrail, gateway, incidents, malformed, network_identity
from streams.demo.simulation import FAMILIES, MALFORMED_LABEL, START_US, DemoRecord, Simulation

DAY_US = 86_400 * 1_000_000
IDENTITY_SALT = 1
CLOUD_AI_SALT = 2


@dataclass(frozen=True, slots=True)
class ExpectedCounts:
    records: dict[str, int]
    """Messages per family, malformed ones included."""
    malformed: dict[str, int]

    @property
    def valid(self) -> dict[str, int]:
        return {family: self.records[family] - self.malformed[family] for family in self.records}


def generate(seed: int = 7, scale: int = 1) -> dict[str, list[bytes]]:
    """Raw message values per family ("cloudtrail", "gateway", "audit"), each family in time order."""
    out: dict[str, list[bytes]] = {family: [] for family in FAMILIES}
    for record in generate_labelled(seed, scale):
        out[record.family].append(record.value)
    return out


def generate_labelled(seed: int = 7, scale: int = 1) -> list[DemoRecord]:
    """Every message with its ground truth, family by family, each family in time order."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    sim = Simulation(seed, scale)
    # One random source feeds every part, so this order is part of the output.
    cloudtrail.routine_traffic(sim)
    gateway.routine_traffic(sim)
    audit.routine_traffic(sim)
    incidents.inject_all(sim)
    malformed.inject(sim)
    # Added later (who holds which address, and the incidents about that), from a random source of their
    # own: every record above keeps its bytes.
    with sim.branch(IDENTITY_SALT):
        network_identity.routine_traffic(sim)
        incidents.inject_identity(sim)
    with sim.branch(CLOUD_AI_SALT):  # later still, alike: Vertex AI and Azure OpenAI assets
        audit.cloud_ai_assets(sim)
    return sim.records()


def generate_history(seed: int = 7, days: int = 7, scale: int = 1) -> list[DemoRecord]:
    """The same company's routine traffic on the ``days`` days before the demo window, at the same hours
    of the day: benign history (no incidents, no malformed records) to train and seed baselines with.
    Each day draws from its own seed, so days differ in timing and mix; family by family, in time order."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    by_family: dict[str, list[DemoRecord]] = {family: [] for family in FAMILIES}
    for day in range(days, 0, -1):
        sim = Simulation(seed * 1_000 + day, scale, start_us=START_US - day * DAY_US)
        cloudtrail.routine_traffic(sim)
        gateway.routine_traffic(sim)
        audit.routine_traffic(sim)
        for record in sim.records():
            by_family[record.family].append(record)
    return [record for family in FAMILIES for record in by_family[family]]


def expected_counts(seed: int = 7, scale: int = 1) -> ExpectedCounts:
    counts = {family: 0 for family in FAMILIES}
    broken = {family: 0 for family in FAMILIES}
    for record in generate_labelled(seed, scale):
        counts[record.family] += 1
        broken[record.family] += record.label == MALFORMED_LABEL
    return ExpectedCounts(counts, broken)

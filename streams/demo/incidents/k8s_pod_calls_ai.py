"""A service account starts a pod that calls AI APIs (beside ordinary pods of the same account)."""

from __future__ import annotations

from streams.demo import audit, gateway
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import AI_HOST_ADDRESSES, SUMMARIZER_POD_IP

INCIDENT = Incident(
    "k8s_pod_calls_ai",
    "Service account starts a pod that calls AI APIs",
    "The Airflow worker's service account (ml-batch/airflow-worker) creates pod ticket-summarizer-*, "
    f"which gets address {SUMMARIZER_POD_IP} and connects to api.anthropic.com and api.mistral.ai "
    "(Kubernetes audit create, binding and status records; Zeek TLS records). The same service account "
    "also starts ordinary ETL pods that call nothing outside.",
    (RecordSelector("audit", ("ticket-summarizer",)), RecordSelector("gateway", (SUMMARIZER_POD_IP,))),
)


def inject(sim: Simulation) -> None:
    rand = sim.rand
    name = f"ticket-summarizer-{rand.text('abcdefghijklmnopqrstuvwxyz0123456789', 8)}"
    audit.airflow_starts_pod(
        sim,
        at_minute(80) + rand.between(0, 30_000_000),
        name,
        "ticket-summarizer:1.4.2",
        {"LLM_PROVIDER": "anthropic", "FALLBACK_PROVIDER": "mistral"},
        SUMMARIZER_POD_IP,
        secret_env=("ANTHROPIC_API_KEY", "MISTRAL_API_KEY"),
        label=INCIDENT.id,
    )
    for host, calls in (("api.anthropic.com", 6), ("api.mistral.ai", 4)):
        for _ in range(calls):
            at = at_minute(81) + rand.between(0, 14 * 60_000_000)
            gateway.tls(sim, at, SUMMARIZER_POD_IP, AI_HOST_ADDRESSES[host], host, INCIDENT.id)

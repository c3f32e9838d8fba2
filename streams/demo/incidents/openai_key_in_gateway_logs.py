"""An OpenAI project key ends up in gateway logs: in a URL query string and in a request header."""

from __future__ import annotations

from streams.demo import formats, records
from streams.demo.incidents.base import Incident, RecordSelector
from streams.demo.simulation import Simulation, at_minute
from streams.demo.world import KEY_LEAK_LAPTOP_IP, KONG_HOST, KONG_WORKSPACE

INCIDENT = Incident(
    "openai_key_in_gateway_logs",
    "OpenAI project key exposed in gateway logs",
    f"omar.haddad ({KEY_LEAK_LAPTOP_IP}) sends an OpenAI project key (sk-proj-..., generated, fake) in a "
    "URL query string (nginx lines on the internal tools host) and in an 'api-key' request header "
    "(a Kong http-log record) around 09:02.",
    (RecordSelector("gateway", ("sk-proj-",)),),
    attack=("T1552",),
)

_AGENT = "python-requests/2.32.3"


def inject(sim: Simulation) -> None:
    rand = sim.rand
    key = rand.openai_project_key()
    at = at_minute(62, rand.between(0, 30))
    for attempt, path in enumerate(("/llm/v1/models", "/llm/v1/models", "/llm/v1/chat/completions")):
        method = "GET" if path.endswith("models") else "POST"
        moment = at + attempt * rand.between(2_000_000, 20_000_000)
        line = formats.nginx_combined(
            KEY_LEAK_LAPTOP_IP,
            moment,
            f"{method} {path}?api_key={key} HTTP/1.1",
            200 if attempt else 401,
            rand.between(90, 4000),
            "-",
            _AGENT,
        )
        sim.emit("gateway", moment, line, INCIDENT.id)

    moment = at + 45_000_000
    service = records.kong_service(
        "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "llm-proxy", "llm-proxy.ml.svc", 8000
    )
    route = records.kong_route("2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "llm-proxy", "/llm", service)
    headers = {
        "host": KONG_HOST,
        "user-agent": _AGENT,
        "accept": "*/*",
        "content-type": "application/json",
        "api-key": key,
        "x-request-id": rand.uuid4(),
    }
    record = records.kong_http_log(
        rand,
        moment,
        client_ip=KEY_LEAK_LAPTOP_IP,
        method="POST",
        uri="/llm/v1/chat/completions",
        querystring={},
        headers=headers,
        status=200,
        request_size=1830,
        response_size=2415,
        service=service,
        route=route,
        upstream_ip="10.30.4.40",
        consumer=None,
        workspace=KONG_WORKSPACE,
    )
    sim.emit("gateway", moment, record, INCIDENT.id)

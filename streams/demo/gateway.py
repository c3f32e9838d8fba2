"""Routine gateway, proxy and network traffic: Zeek DNS and TLS, Squid, Envoy (the AI gateway), nginx,
Kong and API Gateway.

Laptops reach SaaS through the Squid proxy; servers and pods reach AWS and GitHub directly; data
scientists use OpenAI and Bedrock through the company's Envoy AI gateway; partners call the Kong API;
customers call the shop's API Gateway.
"""

from __future__ import annotations

from streams.demo import cloudtrail, formats, records
from streams.demo.simulation import Rand, Simulation
from streams.demo.world import (
    AI_GATEWAY_HOST,
    AI_GATEWAY_IP,
    AI_GATEWAY_UPSTREAMS,
    CHROME_MAC,
    CI_POD_IP,
    DATA_SCIENTISTS,
    EMPLOYEES,
    KONG_HOST,
    KONG_WORKSPACE,
    OFFICE_RESOLVER_IP,
    SAAS_HOSTS,
    SUMMARIZER_POD_IP,
    TOOLS_HOST,
    host_address,
)

_SERVER_RESOLVER_IP = "10.30.0.2"
_DS_BOTO = "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/macos#24.1.0 lang/python#3.12.7 Botocore/1.35.36"


# --- records of one connection or request ------------------------------------------------------------


def tls(
    sim: Simulation,
    at_us: int,
    client_ip: str,
    server_ip: str,
    host: str,
    label: str = "",
    *,
    resumed: bool = False,
) -> None:
    """The TLS handshake Zeek saw."""
    record = records.zeek_ssl(sim.rand, at_us, client_ip, server_ip, host, resumed=resumed)
    sim.emit("gateway", at_us, record, label)


def dns(
    sim: Simulation, at_us: int, client_ip: str, resolver: str, host: str, answers: list[str], label: str = ""
) -> None:
    """The DNS answer Zeek saw."""
    sim.emit("gateway", at_us, records.zeek_dns(sim.rand, at_us, client_ip, resolver, host, answers), label)


def laptop_visit(
    sim: Simulation, at_us: int, laptop_ip: str, host: str, label: str = "", *, dns_lookup: bool
) -> None:
    """What one laptop connection to ``host`` leaves: a DNS answer, the TLS handshake, Squid's tunnel."""
    address = host_address(host)
    rand = sim.rand
    if dns_lookup:
        lookup = at_us - rand.between(2_000, 40_000)
        dns(sim, lookup, laptop_ip, OFFICE_RESOLVER_IP, host, [address], label)
    tls(sim, at_us, laptop_ip, address, host, label)
    elapsed = rand.between(80, 240_000)
    done = at_us + elapsed * 1000
    line = formats.squid_native(
        done,
        elapsed,
        laptop_ip,
        "TCP_TUNNEL/200",
        rand.between(900, 900_000),
        "CONNECT",
        f"{host}:443",
        f"HIER_DIRECT/{address}",
        "-",
    )
    sim.emit("gateway", done, line, label)


def ai_gateway_access(
    rand: Rand,
    at_us: int,
    *,
    client_ip: str,
    provider: str,
    method: str,
    path: str,
    status: int,
    bytes_received: int,
    bytes_sent: int,
    duration_ms: int,
    user_agent: str,
) -> dict:
    """The Envoy AI gateway's access log line for one request routed to ``provider`` ("openai", "bedrock")."""
    upstream_host, upstream_ip = AI_GATEWAY_UPSTREAMS[provider]
    return records.envoy_access(
        rand,
        at_us,
        client_ip=client_ip,
        authority=AI_GATEWAY_HOST,
        method=method,
        path=path,
        status=status,
        bytes_received=bytes_received,
        bytes_sent=bytes_sent,
        duration_ms=duration_ms,
        upstream_cluster=f"outbound|443||{upstream_host}",
        upstream_host=upstream_ip,
        route_name=provider,
        user_agent=user_agent,
        gateway_ip=AI_GATEWAY_IP,
    )


# --- routine traffic -----------------------------------------------------------------------------------


def routine_traffic(sim: Simulation) -> None:
    rand = sim.rand
    for _ in range(sim.count(300)):
        person = rand.pick(EMPLOYEES)
        laptop_visit(
            sim, sim.anytime(), person.laptop_ip, rand.weighted(SAAS_HOSTS), dns_lookup=rand.chance(0.4)
        )
    plain_http = (
        (
            "ocsp.digicert.com",
            "/MFEwTzBNMEswSTAJBgUrDgMCGgUABBSAUQYBMq2awn1Rh6Doh%2FsBYgFV7gQU",
            "application/ocsp-response",
        ),
        (
            "ctldl.windowsupdate.com",
            "/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab",
            "application/vnd.ms-cab-compressed",
        ),
        ("detectportal.firefox.com", "/canonical.html", "text/html"),
    )
    for _ in range(sim.count(30)):
        person = rand.pick(EMPLOYEES)
        host, path, mime = rand.pick(plain_http)
        at = sim.anytime()
        line = formats.squid_native(
            at,
            rand.between(5, 300),
            person.laptop_ip,
            "TCP_MISS/200",
            rand.between(300, 60_000),
            "GET",
            f"http://{host}{path}",
            f"HIER_DIRECT/{host_address(host)}",
            mime,
        )
        sim.emit("gateway", at, line)
    for _ in range(sim.count(8)):
        person = rand.pick(EMPLOYEES)
        at = sim.anytime()
        line = formats.squid_native(
            at,
            0,
            person.laptop_ip,
            "TCP_DENIED/403",
            3894,
            "CONNECT",
            f"{rand.pick(('mega.nz', 'www.dropbox.com', 'wetransfer.com'))}:443",
            "HIER_NONE/-",
            "text/html",
        )
        sim.emit("gateway", at, line)

    # Servers and pods talking to AWS and GitHub directly (no proxy).
    server_hosts = (
        "api.ecr.us-east-1.amazonaws.com",
        "sts.us-east-1.amazonaws.com",
        "s3.us-east-1.amazonaws.com",
        "github.com",
        "api.github.com",
        "dynamodb.us-east-1.amazonaws.com",
    )
    for _ in range(sim.count(80)):
        source = rand.pick(("10.244.1.", "10.244.2.", "10.244.7.", "10.30.2.")) + str(rand.between(2, 250))
        if source in (CI_POD_IP, SUMMARIZER_POD_IP):
            source = "10.244.1.9"
        host = rand.pick(server_hosts)
        tls(sim, sim.anytime(), source, host_address(host), host, resumed=rand.chance(0.5))
    # The CI runner pod itself also does ordinary things: a negative next to the incident.
    for _ in range(sim.count(4)):
        tls(
            sim,
            sim.at_minute(38, 0) + rand.between(0, 240_000_000),
            CI_POD_IP,
            host_address("github.com"),
            "github.com",
        )
    for _ in range(sim.count(40)):
        source = f"10.30.{rand.between(1, 7)}.{rand.between(2, 80)}"
        host = rand.pick(server_hosts)
        dns(sim, sim.anytime(), source, _SERVER_RESOLVER_IP, host, [host_address(host)])

    _sanctioned_ai(sim)
    _nginx(sim)
    _kong(sim)
    _api_gateway(sim)


def _sanctioned_ai(sim: Simulation) -> None:
    """Data scientists use OpenAI and Bedrock through the company's Envoy AI gateway."""
    rand = sim.rand
    handshakes = 0
    for index in range(sim.count(190)):
        person = rand.pick(DATA_SCIENTISTS)
        at = sim.anytime()
        bedrock = rand.chance(0.25)
        if bedrock:
            model = rand.pick((cloudtrail.CLAUDE, cloudtrail.CLAUDE, "amazon.titan-embed-text-v2:0"))
            path = f"/model/{model}/invoke"
            provider, agent = "bedrock", _DS_BOTO
        else:
            path = rand.pick(("/v1/chat/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/models"))
            provider, agent = "openai", "OpenAI/Python 1.54.4"
        method = "GET" if path.endswith("models") else "POST"
        duration = rand.between(180, 14_000) if method == "POST" else rand.between(40, 300)
        status = 200 if rand.chance(0.97) else 429
        record = ai_gateway_access(
            rand,
            at,
            client_ip=person.laptop_ip,
            provider=provider,
            method=method,
            path=path,
            status=status,
            bytes_received=rand.between(300, 24_000) if method == "POST" else 0,
            bytes_sent=rand.between(400, 60_000),
            duration_ms=duration,
            user_agent=agent,
        )
        sim.emit("gateway", at, record)
        if bedrock and status == 200:
            cloudtrail.role_event(
                sim,
                "ai-gateway",
                at + rand.between(3_000, 30_000),
                "bedrock.amazonaws.com",
                "InvokeModel",
                read_only=True,
                params={"modelId": model},
                host="bedrock-runtime.us-east-1.amazonaws.com",
            )
        # The gateway pools connections: a TLS handshake to the provider only now and then.
        if index % 8 == 0:
            handshakes += 1
            upstream_host, upstream_ip = AI_GATEWAY_UPSTREAMS[provider]
            tls(sim, at, AI_GATEWAY_IP, upstream_ip, upstream_host, resumed=handshakes % 3 != 0)
            if handshakes % 3 == 0:
                lookup = at - rand.between(2_000, 20_000)
                dns(sim, lookup, AI_GATEWAY_IP, _SERVER_RESOLVER_IP, upstream_host, [upstream_ip])


def _nginx(sim: Simulation) -> None:
    rand = sim.rand
    pages = (
        ("/wiki/Onboarding", 200),
        ("/wiki/Runbooks/orders-api", 200),
        ("/dashboards/sales", 200),
        ("/dashboards/ops?range=24h", 200),
        ("/assets/app.3f9c2e1.js", 200),
        ("/assets/app.91ab4c.css", 200),
        ("/favicon.ico", 304),
        ("/wiki/Old-Page", 404),
        ("/api/search?q=vpn+setup", 200),
    )
    for _ in range(sim.count(150)):
        person = rand.pick(EMPLOYEES)
        path, status = rand.pick(pages)
        at = sim.anytime()
        size = {304: 0, 404: rand.between(150, 600)}.get(status) or rand.between(180, 90_000)
        referer = f"https://{TOOLS_HOST}/" if path.startswith("/assets") else "-"
        line = formats.nginx_combined(
            person.laptop_ip, at, f"GET {path} HTTP/1.1", status, size, referer, CHROME_MAC.user_agent
        )
        sim.emit("gateway", at, line)
    for _ in range(sim.count(30)):
        at = sim.anytime()
        line = formats.nginx_combined(
            "10.40.12.7", at, "GET /healthz HTTP/1.1", 200, 2, "-", "kube-probe/1.30"
        )
        sim.emit("gateway", at, line)


def _kong(sim: Simulation) -> None:
    rand = sim.rand
    partners = (
        ("acme-logistics", "24.113.61.20"),
        ("initech-retail", "68.45.201.77"),
        ("hooli-payments", "99.84.12.150"),
    )
    service = records.kong_service(
        "6f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "partners-api", "partners-api.orders.svc", 8080
    )
    route = records.kong_route("8d2c4e6f-1a3b-4c5d-9e7f-0a1b2c3d4e5f", "partners-v2", "/partners/v2", service)
    for _ in range(sim.count(110)):
        partner, address = rand.pick(partners)
        at = sim.anytime()
        if rand.chance(0.7):
            method, uri, query = "GET", "/partners/v2/orders", {"page": str(rand.between(1, 30))}
        else:
            method, uri, query = "POST", "/partners/v2/shipments", {}
        headers = {
            "host": KONG_HOST,
            "user-agent": "partner-sync/3.2 (+okhttp/4.12.0)",
            "accept": "application/json",
            "authorization": "REDACTED",
            "x-request-id": rand.uuid4(),
        }
        record = records.kong_http_log(
            rand,
            at,
            client_ip=address,
            method=method,
            uri=uri,
            querystring=query,
            headers=headers,
            status=rand.weighted(((200, 90), (201, 4), (401, 3), (429, 2), (502, 1))),
            request_size=rand.between(200, 4000),
            response_size=rand.between(300, 40_000),
            service=service,
            route=route,
            upstream_ip="10.30.4.12",
            consumer={
                "id": "c0ffee00-" + partner[:4].encode().hex() + "-4e5f-8a9b-0c1d2e3f4a5b",
                "username": partner,
            },
            workspace=KONG_WORKSPACE,
        )
        sim.emit("gateway", at, record)


def _api_gateway(sim: Simulation) -> None:
    rand = sim.rand
    routes = (
        ("GET", "/orders/{orderId}", lambda: f"/orders/{rand.between(100000, 999999)}", 200),
        ("GET", "/orders", lambda: "/orders", 200),
        ("POST", "/orders", lambda: "/orders", 201),
        ("GET", "/health", lambda: "/health", 200),
    )
    agents = (
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/15E148 GlobexShop/5.4.1"
        ),
        "okhttp/4.12.0",
        "GlobexShop-Android/5.4.0",
    )
    for _ in range(sim.count(120)):
        method, resource, path, status = rand.pick(routes)
        if rand.chance(0.04):
            status = rand.pick((403, 404, 500))
        at = sim.anytime()
        record = records.api_gateway_access(
            rand,
            at,
            client_ip=rand.public_ip(),
            method=method,
            resource_path=resource,
            path=path(),
            status=status,
            response_length=rand.between(40, 9000),
            user_agent=rand.pick(agents),
            domain="api.globex-shop.example",
        )
        sim.emit("gateway", at, record)

"""Builders for one record of each real wire format, fed by one seeded random source.

Each builder returns what the source itself would put on the wire: a dict (serialized once, when the
simulation emits it) or a text line. Field names, nesting and value types follow the sources' own documentation.
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.demo import formats
from streams.demo.simulation import Rand
from streams.demo.world import (
    AWS_ACCOUNT,
    AWS_HOME_REGION,
    AZURE_SUBSCRIPTION,
    AZURE_TENANT,
    GCP_PROJECT,
    OKTA_ORG,
    SSO_ROLE_SUFFIX,
    Browser,
    Employee,
    Geo,
    ServiceRole,
    stable_alnum,
)

# --- AWS CloudTrail ---------------------------------------------------------------------------------

CLI_USER_AGENT = (
    "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.11.9 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{command}"
)
CONSOLE_USER_AGENT = "AWS Internal"


def sso_role_name(permission_set: str) -> str:
    return f"AWSReservedSSO_{permission_set}_{SSO_ROLE_SUFFIX[permission_set]}"


def _role_principal_id(role_name: str) -> str:
    return "AROA" + stable_alnum("role/" + role_name, 17).upper()


def assumed_role_identity(
    role_name: str,
    session: str,
    access_key: str,
    created_at_us: int,
    *,
    role_path: str = "/",
    mfa: bool = False,
    web_identity: dict | None = None,
) -> dict:
    role_id = _role_principal_id(role_name)
    issuer_arn = f"arn:aws:iam::{AWS_ACCOUNT}:role{role_path}{role_name}"
    context: dict[str, Any] = {
        "sessionIssuer": {
            "type": "Role",
            "principalId": role_id,
            "arn": issuer_arn,
            "accountId": AWS_ACCOUNT,
            "userName": role_name,
        },
        "webIdFederationData": web_identity or {},
        "attributes": {
            "creationDate": formats.iso_seconds(created_at_us),
            "mfaAuthenticated": str(mfa).lower(),
        },
    }
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{role_name}/{session}",
        "accountId": AWS_ACCOUNT,
        "accessKeyId": access_key,
        "sessionContext": context,
    }


def sso_identity(person: Employee, access_key: str, created_at_us: int) -> dict:
    return assumed_role_identity(
        sso_role_name(person.permission_set),
        person.email,
        access_key,
        created_at_us,
        role_path="/aws-reserved/sso.amazonaws.com/",
    )


def service_role_identity(role: ServiceRole, access_key: str, created_at_us: int) -> dict:
    web_identity = None
    if role.name == "ci-deployer":
        web_identity = {
            "federatedProvider": (
                f"arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
            ),
            "attributes": {},
        }
    return assumed_role_identity(
        role.name, role.session, access_key, created_at_us, web_identity=web_identity
    )


def iam_user_identity(user_name: str, access_key: str) -> dict:
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + stable_alnum("user/" + user_name, 17).upper(),
        "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/{user_name}",
        "accountId": AWS_ACCOUNT,
        "accessKeyId": access_key,
        "userName": user_name,
    }


_GLOBAL_ENDPOINTS = {"iam.amazonaws.com", "sts.amazonaws.com", "s3.amazonaws.com", "ce.amazonaws.com"}


def cloudtrail_event(
    rand: Rand,
    at_us: int,
    identity: dict,
    source: str,
    name: str,
    *,
    source_ip: str,
    user_agent: str,
    region: str = AWS_HOME_REGION,
    params: dict | None = None,
    response: dict | None = None,
    read_only: bool,
    error: tuple[str, str] | None = None,
    data_event: bool = False,
    resources: list[dict] | None = None,
    extra: dict | None = None,
    host: str | None = None,
    version: str = "1.09",
    console: bool = False,
) -> dict:
    """One CloudTrail event, keys in the order AWS writes them."""
    event: dict[str, Any] = {
        "eventVersion": version,
        "userIdentity": identity,
        "eventTime": formats.iso_seconds(at_us),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error:
        event["errorCode"], event["errorMessage"] = error
    event["requestParameters"] = params
    event["responseElements"] = response
    if extra:
        event["additionalEventData"] = extra
    event["requestID"] = rand.s3_request_id() if source == "s3.amazonaws.com" else rand.uuid4()
    event["eventID"] = rand.uuid4()
    event["readOnly"] = read_only
    if resources:
        event["resources"] = resources
    event["eventType"] = "AwsApiCall"
    event["managementEvent"] = not data_event
    event["recipientAccountId"] = AWS_ACCOUNT
    if console:
        event["sessionCredentialFromConsole"] = "true"
    event["eventCategory"] = "Data" if data_event else "Management"
    if host is None:
        service = source.split(".")[0]
        host = source if source in _GLOBAL_ENDPOINTS else f"{service}.{region}.amazonaws.com"
    event["tlsDetails"] = {
        "tlsVersion": "TLSv1.3",
        "cipherSuite": "TLS_AES_128_GCM_SHA256",
        "clientProvidedHostHeader": host,
    }
    return event


def cli_user_agent(source: str, name: str) -> str:
    service = source.split(".")[0]
    command = "".join(f"-{char.lower()}" if char.isupper() else char for char in name).lstrip("-")
    return CLI_USER_AGENT.format(command=f"{service}.{command}")


# --- Zeek -------------------------------------------------------------------------------------------


def zeek_dns(
    rand: Rand,
    at_us: int,
    orig_h: str,
    resolver: str,
    query: str,
    answers: list[str],
    *,
    qtype: tuple[int, str] = (1, "A"),
) -> dict:
    rtt_us = rand.between(300, 45_000)
    record: dict[str, Any] = {
        "_path": "dns",
        "_write_ts": formats.iso_micros(at_us + rtt_us + rand.between(50, 900)),
        "ts": formats.iso_micros(at_us),
        "uid": rand.zeek_uid(),
        "id.orig_h": orig_h,
        "id.orig_p": rand.ephemeral_port(),
        "id.resp_h": resolver,
        "id.resp_p": 53,
        "proto": "udp",
        "trans_id": rand.between(0, 65536),
        "rtt": rtt_us / 1_000_000,
        "query": query,
        "qclass": 1,
        "qclass_name": "C_INTERNET",
        "qtype": qtype[0],
        "qtype_name": qtype[1],
        "rcode": 0,
        "rcode_name": "NOERROR",
        "AA": False,
        "TC": False,
        "RD": True,
        "RA": True,
        "Z": 0,
    }
    if answers:
        record["answers"] = answers
        record["TTLs"] = [float(rand.between(30, 300)) for _ in answers]
    record["rejected"] = False
    return record


def zeek_ssl(
    rand: Rand, at_us: int, orig_h: str, resp_h: str, server_name: str, *, resumed: bool = False
) -> dict:
    return {
        "_path": "ssl",
        "_write_ts": formats.iso_micros(at_us + rand.between(20_000, 400_000)),
        "ts": formats.iso_micros(at_us),
        "uid": rand.zeek_uid(),
        "id.orig_h": orig_h,
        "id.orig_p": rand.ephemeral_port(),
        "id.resp_h": resp_h,
        "id.resp_p": 443,
        "version": "TLSv13",
        "cipher": "TLS_AES_128_GCM_SHA256",
        "curve": "x25519",
        "server_name": server_name,
        "resumed": resumed,
        "established": True,
        "ssl_history": "CsiI" if resumed else "Csi",
    }


# --- Envoy, Kong, API Gateway ---------------------------------------------------------------------


def envoy_access(
    rand: Rand,
    at_us: int,
    *,
    client_ip: str,
    authority: str,
    method: str,
    path: str,
    status: int,
    bytes_received: int,
    bytes_sent: int,
    duration_ms: int,
    upstream_cluster: str,
    upstream_host: str,
    route_name: str,
    user_agent: str,
    gateway_ip: str,
) -> dict:
    """Envoy's JSON access log with the key set Istio ships as its default JSON format."""
    return {
        "authority": authority,
        "bytes_received": bytes_received,
        "bytes_sent": bytes_sent,
        "connection_termination_details": None,
        "downstream_local_address": f"{gateway_ip}:443",
        "downstream_remote_address": f"{client_ip}:{rand.ephemeral_port()}",
        "duration": duration_ms,
        "method": method,
        "path": path,
        "protocol": "HTTP/1.1",
        "request_id": rand.uuid4(),
        "requested_server_name": authority,
        "response_code": status,
        "response_code_details": "via_upstream",
        "response_flags": "-",
        "route_name": route_name,
        "start_time": formats.iso_millis(at_us),
        "upstream_cluster": upstream_cluster,
        "upstream_host": f"{upstream_host}:443",
        "upstream_local_address": f"{gateway_ip}:{rand.ephemeral_port()}",
        "upstream_service_time": str(max(1, duration_ms - rand.between(1, 6))),
        "upstream_transport_failure_reason": None,
        "user_agent": user_agent,
        "x_forwarded_for": None,
    }


def kong_http_log(
    rand: Rand,
    at_us: int,
    *,
    client_ip: str,
    method: str,
    uri: str,
    querystring: dict,
    headers: dict,
    status: int,
    request_size: int,
    response_size: int,
    service: dict,
    route: dict,
    upstream_ip: str,
    consumer: dict | None,
    workspace: str,
) -> dict:
    """Kong's log serializer output (http-log plugin), one request per message."""
    proxy_ms = rand.between(8, 180)
    kong_ms = rand.between(0, 4)
    started_ms = formats.epoch_millis(at_us)
    query = "&".join(f"{key}={value}" for key, value in querystring.items())
    full_uri = f"{uri}?{query}" if query else uri
    record: dict[str, Any] = {
        "request": {
            "method": method,
            "uri": full_uri,
            "url": f"https://{headers.get('host', 'api')}:8443{full_uri}",
            "size": request_size,
            "querystring": querystring,
            "headers": headers,
        },
        "upstream_uri": full_uri,
        "response": {
            "status": status,
            "size": response_size,
            "headers": {
                "content-type": "application/json",
                "content-length": str(max(0, response_size - 280)),
                "connection": "close",
                "x-kong-upstream-latency": str(proxy_ms),
                "x-kong-proxy-latency": str(kong_ms),
                "via": "1.1 kong/3.8.0.0",
                "x-kong-request-id": rand.hex(32),
            },
        },
        "route": route,
        "service": service,
        "latencies": {"request": proxy_ms + kong_ms, "kong": kong_ms, "proxy": proxy_ms, "receive": 0},
        "tries": [
            {
                "balancer_start": started_ms + kong_ms,
                "balancer_start_ns": (started_ms + kong_ms) * 1_000_000,
                "ip": upstream_ip,
                "port": service["port"],
                "balancer_latency": 0,
                "balancer_latency_ns": 2041,
            }
        ],
        "client_ip": client_ip,
        "started_at": started_ms,
        "upstream_status": str(status),
        "source": "upstream",
        "workspace": workspace,
        "workspace_name": "default",
    }
    if consumer:
        record["consumer"] = consumer
        record["authenticated_entity"] = {"id": rand.uuid4()}
    return record


def kong_service(service_id: str, name: str, host: str, port: int) -> dict:
    """A Kong service entity as the log serializer embeds it, Kong's defaults for everything else."""
    return {
        "id": service_id,
        "name": name,
        "host": host,
        "port": port,
        "protocol": "http",
        "path": "/",
        "retries": 5,
        "connect_timeout": 60000,
        "read_timeout": 60000,
        "write_timeout": 60000,
        "enabled": True,
    }


def kong_route(route_id: str, name: str, path: str, service: dict) -> dict:
    """A Kong route entity (HTTPS only, path kept) as the log serializer embeds it."""
    return {
        "id": route_id,
        "name": name,
        "paths": [path],
        "protocols": ["https"],
        "strip_path": False,
        "preserve_host": False,
        "https_redirect_status_code": 426,
        "service": {"id": service["id"]},
    }


def api_gateway_access(
    rand: Rand,
    at_us: int,
    *,
    client_ip: str,
    method: str,
    resource_path: str,
    path: str,
    status: int,
    response_length: int,
    user_agent: str,
    domain: str,
) -> dict:
    """API Gateway (REST) access log in the JSON layout the console suggests, plus a few context vars."""
    return {
        "requestId": rand.uuid4(),
        "extendedRequestId": rand.alnum(14) + "=",
        "ip": client_ip,
        "caller": "-",
        "user": "-",
        "requestTime": formats.clf_time(at_us),
        "requestTimeEpoch": formats.epoch_millis(at_us),
        "httpMethod": method,
        "resourcePath": resource_path,
        "path": path,
        "status": str(status),
        "protocol": "HTTP/1.1",
        "responseLength": str(response_length),
        "domainName": domain,
        "userAgent": user_agent,
        "integrationLatency": str(rand.between(5, 240)),
    }


# --- Kubernetes audit -------------------------------------------------------------------------------


def k8s_audit(
    rand: Rand,
    at_us: int,
    *,
    user: dict,
    verb: str,
    request_uri: str,
    source_ip: str,
    user_agent: str,
    object_ref: dict,
    code: int = 200,
    level: str = "Metadata",
    request_object: dict | None = None,
    reason: str = "",
) -> dict:
    event: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": rand.uuid4(),
        "stage": "ResponseComplete",
        "requestURI": request_uri,
        "verb": verb,
        "user": user,
        "sourceIPs": [source_ip],
        "userAgent": user_agent,
        "objectRef": object_ref,
        "responseStatus": {"metadata": {}, "code": code},
    }
    if request_object is not None:
        event["requestObject"] = request_object
    event["requestReceivedTimestamp"] = formats.iso_micros(at_us)
    event["stageTimestamp"] = formats.iso_micros(at_us + rand.between(800, 40_000))
    event["annotations"] = {
        "authorization.k8s.io/decision": "allow" if code < 400 else "forbid",
        "authorization.k8s.io/reason": reason,
    }
    return event


def k8s_service_account(namespace: str, name: str, uid: str) -> dict:
    return {
        "username": f"system:serviceaccount:{namespace}:{name}",
        "uid": uid,
        "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"],
    }


# --- GCP Cloud Audit Logs ---------------------------------------------------------------------------


def gcp_audit(
    rand: Rand,
    at_us: int,
    *,
    principal: str,
    caller_ip: str,
    user_agent: str,
    service: str,
    method: str,
    resource_name: str,
    resource_type: str,
    labels: dict,
    permission: str,
    data_access: bool = False,
    granted: bool = True,
    request: dict | None = None,
    response: dict | None = None,
) -> dict:
    status = {} if granted else {"code": 7, "message": "PERMISSION_DENIED"}
    payload: dict[str, Any] = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "status": status,
        "authenticationInfo": {"principalEmail": principal},
        "requestMetadata": {
            "callerIp": caller_ip,
            "callerSuppliedUserAgent": user_agent,
            "requestAttributes": {"time": formats.iso_nanos(at_us, rand.between(0, 1000)), "auth": {}},
            "destinationAttributes": {},
        },
        "serviceName": service,
        "methodName": method,
        "authorizationInfo": [
            {
                "resource": resource_name,
                "permission": permission,
                "granted": granted,
                "resourceAttributes": {},
            }
        ],
        "resourceName": resource_name,
    }
    if request is not None:
        payload["request"] = request
    if response is not None:
        payload["response"] = response
    log = "data_access" if data_access else "activity"
    return {
        "protoPayload": payload,
        "insertId": rand.text("abcdefghijklmnopqrstuvwxyz0123456789", 12),
        "resource": {"type": resource_type, "labels": {"project_id": GCP_PROJECT, **labels}},
        "timestamp": formats.iso_nanos(at_us, rand.between(0, 1000)),
        "severity": ("INFO" if data_access else "NOTICE") if granted else "ERROR",
        "logName": f"projects/{GCP_PROJECT}/logs/cloudaudit.googleapis.com%2F{log}",
        "receiveTimestamp": formats.iso_nanos(
            at_us + rand.between(200_000, 1_500_000), rand.between(0, 1000)
        ),
    }


# --- Azure Activity log -----------------------------------------------------------------------------


def azure_activity(
    rand: Rand,
    at_us: int,
    *,
    resource_id: str,
    operation: str,
    result_type: str,
    caller: str,
    caller_ip: str,
    correlation_id: str,
    location: str,
    status_code: str,
    object_id: str,
    role: str,
    request_body: dict | None = None,
    response_body: dict | None = None,
) -> dict:
    """One Activity log record as diagnostic settings export it (storage, Event Hubs); ARM's request and
    response bodies as the JSON text it writes in ``properties``."""
    record: dict[str, Any] = {
        "time": formats.iso_7_digits(at_us),
        "resourceId": resource_id,
        "operationName": operation,
        "category": "Administrative",
        "resultType": result_type,
        "resultSignature": "Succeeded." + status_code if result_type == "Success" else "Started.",
        "durationMs": rand.between(40, 9000) if result_type == "Success" else 0,
        "callerIpAddress": caller_ip,
        "correlationId": correlation_id,
        "identity": {
            "authorization": {
                "scope": resource_id,
                "action": operation,
                "evidence": {
                    "role": role,
                    "roleAssignmentScope": f"/subscriptions/{AZURE_SUBSCRIPTION}",
                    "roleAssignmentId": rand.hex(32),
                    "roleDefinitionId": rand.hex(32),
                    "principalId": object_id.replace("-", ""),
                    "principalType": "User" if "@" in caller else "ServicePrincipal",
                },
            },
            "claims": {
                "http://schemas.microsoft.com/identity/claims/objectidentifier": object_id,
                "http://schemas.microsoft.com/identity/claims/tenantid": AZURE_TENANT,
                "name": caller,
            },
        },
        "level": "Informational",
        "location": location,
        "properties": {
            "statusCode": "OK" if result_type == "Success" else "Accepted",
            "serviceRequestId": rand.uuid4(),
            "eventCategory": "Administrative",
            "entity": resource_id,
            "message": operation,
            "hierarchy": f"{AZURE_TENANT}/{AZURE_SUBSCRIPTION}",
        },
        "tenantId": AZURE_TENANT,
    }
    if request_body is not None:
        record["properties"]["requestbody"] = orjson.dumps(request_body).decode()
    if response_body is not None:
        record["properties"]["responseBody"] = orjson.dumps(response_body).decode()
    return record


# --- Okta System Log --------------------------------------------------------------------------------


def okta_event(
    rand: Rand,
    at_us: int,
    *,
    actor: dict,
    event_type: str,
    legacy_type: str | None,
    display_message: str,
    outcome: dict,
    client_ip: str,
    geo: Geo,
    user_agent: Browser,
    targets: list[dict] | None,
    severity: str = "INFO",
    as_org: str = "globex fiber",
    session_id: str | None = None,
    proxied_from: str = "",
) -> dict:
    """``proxied_from``: the internal address behind the office proxy, which Okta lists in
    ``request.ipChain`` after the client address when the proxy is one of its trusted proxies."""
    raw_agent, os_name, browser = user_agent
    geo_context = {
        "city": geo.city,
        "state": geo.state,
        "country": geo.country,
        "postalCode": geo.postal_code,
        "geolocation": {"lat": geo.lat, "lon": geo.lon},
    }
    request_id = rand.alnum(27)
    return {
        "actor": actor,
        "client": {
            "userAgent": {"rawUserAgent": raw_agent, "os": os_name, "browser": browser},
            "zone": "null",
            "device": "Computer",
            "id": None,
            "ipAddress": client_ip,
            "geographicalContext": geo_context,
        },
        "device": None,
        "authenticationContext": {
            "authenticationProvider": None,
            "credentialProvider": None,
            "credentialType": None,
            "issuer": None,
            "interface": None,
            "authenticationStep": 0,
            "externalSessionId": session_id or "unknown",
        },
        "displayMessage": display_message,
        "eventType": event_type,
        "outcome": outcome,
        "published": formats.iso_millis(at_us),
        "securityContext": {
            "asNumber": 64512 if as_org == "globex fiber" else 65001,
            "asOrg": as_org,
            "isp": as_org,
            "domain": None,
            "isProxy": False,
        },
        "severity": severity,
        "debugContext": {
            "debugData": {
                "requestId": request_id,
                "requestUri": "/idp/idx/identify",
                "url": "/idp/idx/identify?",
                "origin": OKTA_ORG,
                "threatSuspected": "false",
            }
        },
        "legacyEventType": legacy_type,
        "transaction": {"type": "WEB", "id": request_id, "detail": {}},
        "uuid": rand.uuid4(),
        "version": "0",
        "request": {
            "ipChain": [
                {
                    "ip": client_ip,
                    "geographicalContext": geo_context,
                    "version": "V4",
                    "source": None,
                }
            ]
            + ([{"ip": proxied_from, "geographicalContext": None, "version": "V4", "source": None}]
               if proxied_from else [])
        },
        "target": targets,
    }


def okta_user_actor(person_id: str, email: str, name: str) -> dict:
    return {"id": person_id, "type": "User", "alternateId": email, "displayName": name, "detailEntry": None}


# --- network identity: Zeek DHCP, Zscaler ZPA ----------------------------------------------------------


def zeek_dhcp(
    rand: Rand, at_us: int, *, mac: str, host_name: str, domain: str, assigned: str, server: str,
    lease_s: int, renew: bool = False,
) -> dict:
    """One DHCP exchange as Zeek's ``dhcp.log`` writes it (a renewal is REQUEST/ACK only)."""
    duration_us = rand.between(2_000, 900_000)
    return {
        "_path": "dhcp",
        "_write_ts": formats.iso_micros(at_us + duration_us + rand.between(50, 900)),
        "ts": formats.iso_micros(at_us),
        "uids": [rand.zeek_uid()],
        "client_addr": assigned if renew else None,
        "server_addr": server,
        "mac": mac,
        "host_name": host_name,
        "client_fqdn": f"{host_name}.{domain}",
        "domain": domain,
        "requested_addr": assigned,
        "assigned_addr": assigned,
        "lease_time": float(lease_s),
        "msg_types": ["REQUEST", "ACK"] if renew else ["DISCOVER", "OFFER", "REQUEST", "ACK"],
        "duration": duration_us / 1_000_000,
    }


def zpa_user_status(
    rand: Rand, at_us: int, *, customer: str, user: str, session_id: str, status: str, private_ip: str,
    public_ip: str, login_us: int, logout_us: int | None, host_name: str, geo: Geo,
) -> dict:
    """One Zscaler Private Access User Status record (Log Streaming Service, JSON)."""
    return {
        "LogTimestamp": formats.ctime(at_us),
        "Customer": customer,
        "Username": user,
        "SessionID": session_id,
        "SessionStatus": status,
        "Version": "4.3.0.186",
        "ZEN": "US-NY-8179",
        "CertificateCN": f"{session_id[:12]}-{customer.split('.')[0]}",
        "PrivateIP": private_ip,
        "PublicIP": public_ip,
        "Latitude": geo.lat,
        "Longitude": geo.lon,
        "CountryCode": "US",
        "TimestampAuthentication": formats.iso_millis(login_us),
        "TimestampUnAuthentication": formats.iso_millis(logout_us) if logout_us else "",
        "TotalBytesRx": rand.between(200_000, 90_000_000) if logout_us else 0,
        "TotalBytesTx": rand.between(50_000, 9_000_000) if logout_us else 0,
        "Idp": "Okta",
        "Hostname": host_name,
        "Platform": "mac",
        "ClientType": "zpn_client_type_zapp",
        "TrustedNetworks": "",
        "TrustedNetworksNames": "",
        "SAMLAttributes": "",
        "PosturesHit": "",
        "PosturesMiss": "",
    }

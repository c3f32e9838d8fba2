"""The deliberately broken messages, per family, which a pipeline must turn into dead letters.

Each is a real record of the simulation broken the way shippers and sources break them: cut off, junk
bytes, a value of the wrong type where a timestamp or an event belongs, a line that is not a log line.
``Simulation.records`` puts them at random positions among the valid ones.
"""

from __future__ import annotations

import orjson

from streams.demo import audit, formats, gateway, records
from streams.demo.simulation import MALFORMED_LABEL, Simulation, at_minute
from streams.demo.world import CHROME_MAC, EMPLOYEE_BY_LOGIN, OFFICE_RESOLVER_IP, host_address

MALFORMED: dict[str, int] = {"cloudtrail": 6, "gateway": 7, "audit": 6}


def inject(sim: Simulation) -> None:
    rand = sim.rand
    junk = b"\xff\xfe\x00\x81" + bytes(rand.between(0, 256) for _ in range(40))
    ops = EMPLOYEE_BY_LOGIN["ivan.horvat"]
    key, created = sim.aws_sessions[ops.login]
    good = records.cloudtrail_event(
        rand,
        at_minute(50),
        records.sso_identity(ops, key, created),
        "ec2.amazonaws.com",
        "DescribeInstances",
        source_ip=ops.egress_ip,
        user_agent=records.CONSOLE_USER_AGENT,
        read_only=True,
    )
    encoded = orjson.dumps(good)
    cloudtrail = (
        encoded[: len(encoded) * 3 // 5],  # cut off mid-record
        orjson.dumps({**good, "eventTime": {"$date": 12345}}),  # an object where a timestamp belongs
        orjson.dumps({**good, "userIdentity": "AIDAEXAMPLEUSER"}),
        junk,
        orjson.dumps({**good, "eventTime": "yesterday 25:61"}),
        b'"StopLogging"',  # valid JSON, but a string where an event belongs
    )
    envoy = orjson.dumps(
        gateway.ai_gateway_access(
            rand,
            at_minute(51),
            client_ip="10.20.0.100",
            provider="openai",
            method="POST",
            path="/v1/embeddings",
            status=200,
            bytes_received=900,
            bytes_sent=3000,
            duration_ms=240,
            user_agent="OpenAI/Python 1.54.4",
        )
    )
    dns = records.zeek_dns(
        rand, at_minute(52), "10.20.0.101", OFFICE_RESOLVER_IP, "slack.com", [host_address("slack.com")]
    )
    gateway_values = (
        envoy[: len(envoy) // 2],
        f'10.20.0.102 - - [{formats.clf_time(at_minute(53))}] "GET /wiki/Home HTT'.encode(),
        b"%%%% not a log line %%%%",
        junk[::-1] + b"\xc3\x28",
        orjson.dumps({**dns, "ts": {"sec": 12345}}),
        f"{formats.squid_time(at_minute(54))}      0 10.20.0.103 TCP_TUNNEL/200".encode(),
        b'{"level":"info","msg":"upstream connected","component":"sidecar"}',
    )
    kube = records.k8s_audit(
        rand,
        at_minute(56),
        user=audit.KUBE_SCHEDULER,
        verb="get",
        request_uri="/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
        source_ip=audit.CONTROL_PLANE_IP,
        user_agent=audit.KUBE_SCHEDULER_AGENT,
        object_ref=audit.lease_ref("kube-system", "kube-scheduler"),
    )
    kube_bytes = orjson.dumps(kube)
    person = EMPLOYEE_BY_LOGIN["zoe.evans"]
    okta = records.okta_event(
        rand,
        at_minute(57),
        actor=records.okta_user_actor(person.okta_id, person.email, person.name),
        event_type="user.session.end",
        legacy_type="core.user_auth.logout_success",
        display_message="User logout from Okta",
        outcome={"result": "SUCCESS", "reason": None},
        client_ip=person.egress_ip,
        geo=person.geo,
        user_agent=CHROME_MAC,
        targets=None,
    )
    gcp = records.gcp_audit(
        rand,
        at_minute(58),
        principal=audit.GCP_ETL_ACCOUNT,
        caller_ip=audit.GCP_ETL_IP,
        user_agent="apache-beam/2.60.0",
        service="storage.googleapis.com",
        method="storage.objects.get",
        resource_name="projects/_/buckets/globex-analytics-exports/objects/x.avro",
        resource_type="gcs_bucket",
        labels={},
        permission="storage.objects.get",
        data_access=True,
    )
    kube_time = {key: value for key, value in kube.items() if key != "stageTimestamp"}
    audit_values = (
        kube_bytes[: len(kube_bytes) * 2 // 3],
        orjson.dumps({**okta, "published": {"$date": 12345}}),
        junk[:20] + b"\x80\x80",
        orjson.dumps({**kube_time, "requestReceivedTimestamp": {"seconds": 12345}}),
        orjson.dumps({**gcp, "timestamp": "not-a-timestamp", "protoPayload": "truncated by shipper"}),
        orjson.dumps({"time": {"ticks": 12345}, "operationName": 42, "category": ["Administrative"]}),
    )
    for family, values in (("cloudtrail", cloudtrail), ("gateway", gateway_values), ("audit", audit_values)):
        assert len(values) == MALFORMED[family], family
        for value in values:
            sim.emit(family, 0, value, MALFORMED_LABEL)  # placed at a random position by Simulation.records

"""Known secrets of every kind, in every field that can carry them, never leave normalization in clear.

The pure pipeline runs here (normalize + enrich with ``process_batch``, detection, alerts, OCSF, the
dead-letter rows and the messages of both topics, ``aispm detect``) and every output is searched for
each secret. ``known_secrets``, ``messages_with_secrets`` and ``leaks`` are meant for reuse: an
end-to-end test through the real broker and store can place the same secrets and search what landed.

Every secret is made up at run time (seeded, random enough to pass secret scanners' entropy checks);
none was ever issued.
"""

from __future__ import annotations

import base64
import logging
import random
import string
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.detect.alerts import MemoryLedger
from streams.detect.pipeline import Detectors
from streams.normalize.redact import Redactor
from streams.runtime.ingest import RawMessage, dead_letter_message, process_batch, route_events


@dataclass(frozen=True)
class KnownSecret:
    name: str
    needles: tuple[str, ...]
    """Strings that must appear in no output."""
    inline: str | None
    """How the secret is written inside a URL, a log line or a free-text field (no spaces), if it is."""
    header: tuple[str, str] | None
    """(header name, header value) when the secret travels in an HTTP header."""


def _random(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def known_secrets(seed: int = 7) -> list[KnownSecret]:
    """One made-up secret of each kind that logs are known to carry."""
    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits
    digits = string.digits
    b64url = alnum + "-_"

    basic = base64.b64encode(f"ops:{_random(rng, alnum, 6)}".encode()).decode()
    password = _random(rng, alnum, 14)
    key_id = "AKIA" + _random(rng, string.ascii_uppercase + "234567", 16)
    secret_key = _random(rng, alnum + "/+", 40)
    session_token = "IQoJb3JpZ2luX2Vj" + _random(rng, alnum + "/+", 180)
    github = {prefix: prefix + _random(rng, alnum, 36) for prefix in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")}
    github_fine_grained = "github_pat_" + _random(rng, alnum + "_", 82)
    slack_bot = f"xoxb-{_random(rng, digits, 11)}-{_random(rng, digits, 12)}-{_random(rng, alnum, 24)}"
    slack_user = (f"xoxp-{_random(rng, digits, 11)}-{_random(rng, digits, 11)}-{_random(rng, digits, 12)}-"
                  f"{_random(rng, alnum, 32)}")
    slack_webhook_path = f"T{_random(rng, alnum, 8)}/B{_random(rng, alnum, 8)}/{_random(rng, alnum, 24)}"
    claims = orjson.dumps({"sub": _random(rng, alnum, 12), "iat": 1741515332, "scope": "admin"})
    jwt_payload = base64.urlsafe_b64encode(claims).decode().rstrip("=")
    jwt_signature = _random(rng, b64url, 43)
    jwt = f"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{jwt_payload}.{jwt_signature}"
    openai = "sk-proj-" + _random(rng, alnum, 48)
    huggingface = "hf_" + _random(rng, string.ascii_letters, 34)

    def token(name: str, value: str, header: str = "X-Api-Token") -> KnownSecret:
        return KnownSecret(name, (value,), value, (header, value))

    return [
        KnownSecret("basic_auth", (basic,), None, ("Authorization", f"Basic {basic}")),
        KnownSecret("url_userinfo", (password,), f"https://deploy:{password}@git.internal.example/repo.git",
                    None),
        KnownSecret("aws_key_pair", (key_id, secret_key),
                    f"aws_access_key_id={key_id}&aws_secret_access_key={secret_key}", None),
        KnownSecret("aws_session_token", (session_token,), f"x-amz-security-token={session_token}",
                    ("X-Amz-Security-Token", session_token)),
        *(token(f"github_{prefix.rstrip('_')}", value, "Authorization") for prefix, value in github.items()),
        token("github_fine_grained_pat", github_fine_grained),
        token("slack_bot", slack_bot),
        token("slack_user", slack_user),
        KnownSecret("slack_webhook", (slack_webhook_path,),
                    f"https://hooks.slack.com/services/{slack_webhook_path}", None),
        KnownSecret("jwt", (jwt, jwt_payload, jwt_signature), jwt, ("Cookie", f"session={jwt}")),
        token("openai", openai, "X-Api-Key"),
        token("huggingface", huggingface),
    ]


# --- where secrets are placed ----------------------------------------------------------------------

_NGINX = '10.0.4.21 - - [09/Mar/2025:10:15:40 +0000] "GET {path} HTTP/1.1" 200 512 "{referer}" "{agent}"'
_SQUID = ("1741515340.100    210 10.30.1.20 TCP_MISS/200 2048 GET {url} carol HIER_DIRECT/142.250.74.10 "
          "application/json")
_CLOUDTRAIL = {
    "eventVersion": "1.09", "eventTime": "2025-03-09T10:15:40Z", "eventSource": "ssm.amazonaws.com",
    "eventName": "PutParameter", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
    "eventID": "", "requestID": "5d3f0e5c-3c1b-4a8e-9b7d-1c2e3f4a5b6c", "eventType": "AwsApiCall",
    "recipientAccountId": "111122223333",
    "userIdentity": {"type": "IAMUser", "accountId": "111122223333", "userName": "alice",
                     "arn": "arn:aws:iam::111122223333:user/alice", "accessKeyId": "AKIAI44QH8DHBEXAMPLE"},
}
_K8S = {"apiVersion": "audit.k8s.io/v1", "kind": "Event", "level": "RequestResponse", "auditID": "",
        "stage": "ResponseComplete", "verb": "create", "user": {"username": "alice@example.com"},
        "sourceIPs": ["10.0.0.5"], "objectRef": {"resource": "configmaps", "namespace": "ml", "name": "cfg",
                                                  "apiVersion": "v1"},
        "responseStatus": {"code": 201}, "requestReceivedTimestamp": "2025-03-09T10:15:40.000000Z",
        "stageTimestamp": "2025-03-09T10:15:40.100000Z"}
_OKTA = {"uuid": "", "published": "2025-03-09T10:15:40.000Z", "eventType": "user.session.start",
         "version": "0", "severity": "INFO", "displayMessage": "User login to Okta",
         "actor": {"id": "00u1", "type": "User", "alternateId": "jack@acme.io", "displayName": "Jack"},
         "outcome": {"result": "SUCCESS"}}
_GCP = {"insertId": "", "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
        "timestamp": "2025-03-09T10:15:40Z", "receiveTimestamp": "2025-03-09T10:15:41Z",
        "resource": {"type": "gce_instance", "labels": {"project_id": "p"}}}


def _gateway_placements(secret: KnownSecret, index: int) -> list[tuple[str, str]]:
    s = secret.inline
    header_name, header_value = secret.header or ("X-Trace", "none")
    placed = []
    if s is not None:
        placed += [
            ("nginx request path", _NGINX.format(path=f"/proxy/{s}/models", referer="-", agent="curl/8.5.0")),
            ("nginx query string",
             _NGINX.format(path=f"/v1/models?q={s}&page=2", referer="-", agent="curl/8.5.0")),
            ("nginx referer",
             _NGINX.format(path="/", referer=f"https://ref.example/?r={s}", agent="curl/8.5.0")),
            ("nginx user agent", _NGINX.format(path="/", referer="-", agent=f"curl/8.5.0 ({s})")),
            ("squid url", _SQUID.format(url=f"https://api.example.com/v1/x?q={s}")),
            ("squid url path", _SQUID.format(url=f"https://api.example.com/v1/{s}/x")),
        ]
        if s.startswith("https://"):
            placed.append(("squid url as given", _SQUID.format(url=s)))
    envoy = {"start_time": "2025-03-09T10:15:42.000Z", "method": "POST", "path": f"/v1/chat?q={s or 'x'}",
             "protocol": "HTTP/1.1", "response_code": 200, "bytes_received": 10, "bytes_sent": 20,
             "duration": 5, "authority": "api.openai.com", "downstream_remote_address": "10.1.4.17:5",
             "x_forwarded_for": None,
             "request_id": f"r-{index}", "user_agent": f"OpenAI/Python 1.52.0 {s or ''}",
             header_name.lower().replace("-", "_"): header_value,
             "request_body": orjson.dumps({"model": "gpt-4o", "messages": [
                 {"role": "user", "content": f"my credential is {s or header_value}"}]}).decode()}
    kong = {"request": {"id": f"k-{index}", "method": "POST", "uri": "/openai/v1/chat/completions",
                        "url": f"https://kong.internal:8443/openai/v1/chat/completions?q={s or 'x'}",
                        "size": 100,
                        "querystring": {"q": s or "x"},
                        "headers": {"host": "kong.internal:8443", "user-agent": f"OpenAI/Python {s or ''}",
                                    header_name.lower(): header_value},
                        "body": f"prompt with {s or header_value}"},
            "response": {"status": 200, "size": 10, "headers": {}}, "client_ip": "10.20.3.14",
            "started_at": 1741515332120, "service": {"host": "api.openai.com", "name": "openai"},
            "upstream_uri": "/v1/chat/completions", "latencies": {"request": 3}}
    apigw = {"requestId": f"a-{index}", "ip": "198.51.100.7", "requestTime": "09/Mar/2025:10:15:32 +0000",
             "httpMethod": "GET", "resourcePath": "/v1/chat", "path": f"/v1/chat/{s or 'x'}", "status": "200",
             "protocol": "HTTP/1.1", "responseLength": "512", "userAgent": f"python-requests/2.32 {s or ''}",
             "domainName": "llm.example.com"}
    placed += [("envoy fields, header and body", orjson.dumps(envoy).decode()),
               ("kong url, querystring, headers and body", orjson.dumps(kong).decode()),
               ("api gateway path and user agent", orjson.dumps(apigw).decode())]
    return placed


def _cloudtrail_placement(secret: KnownSecret, index: int) -> dict:
    s = secret.inline or secret.header[1]  # type: ignore[index]
    return {**_CLOUDTRAIL, "eventID": f"00000000-0000-4000-8000-{index:012d}",
            "userAgent": f"aws-cli/2.15 {s}",
            "requestParameters": {"name": "/app/config", "value": s, "overwrite": True,
                                  "headers": dict([secret.header]) if secret.header else {}},
            "errorMessage": f"parameter value {s} rejected", "additionalEventData": {"note": s}}


def _audit_placements(secret: KnownSecret, index: int) -> list[dict]:
    s = secret.inline or secret.header[1]  # type: ignore[index]
    k8s = {**_K8S, "auditID": f"k-{index}", "requestURI": f"/api/v1/namespaces/ml/configmaps?q={s}",
           "userAgent": f"kubectl/v1.30 {s}", "requestObject": {"kind": "ConfigMap", "data": {"setting": s}},
           "annotations": {"note": s}}
    okta = {**_OKTA, "uuid": f"o-{index}",
            "client": {"userAgent": {"rawUserAgent": f"Mozilla/5.0 {s}"}, "ipAddress": "136.24.229.58"},
            "debugContext": {"debugData": {"requestUri": f"/api/v1/authn?q={s}", "url": f"/login?q={s}"}}}
    gcp = {**_GCP, "insertId": f"g-{index}", "protoPayload": {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": "compute.googleapis.com",
        "methodName": "v1.compute.instances.setMetadata", "resourceName": f"projects/p/instances/{s}",
        "authenticationInfo": {"principalEmail": "some.user@company.com"},
        "requestMetadata": {"callerIp": "10.0.0.5", "callerSuppliedUserAgent": f"gcloud/460 {s}"},
        "request": {"metadata": {"items": [{"key": "startup", "value": s}]}}}}
    return [k8s, okta, gcp]


def messages_with_secrets(secrets: list[KnownSecret]) -> list[tuple[str, bytes, str]]:
    """(source family, Kafka message value, where the secrets sit) for every placement of every secret.

    Besides records that normalize, each secret also goes into a record that is not UTF-8, a malformed
    JSON line among good ones, and a message that is malformed as a whole: those become dead letters.
    """
    out: list[tuple[str, bytes, str]] = []
    for index, secret in enumerate(secrets):
        where = f"{secret.name}: "
        for place, line in _gateway_placements(secret, index):
            out.append(("gateway", line.encode(), where + place))
        out.append(("cloudtrail", orjson.dumps(_cloudtrail_placement(secret, index)),
                    where + "cloudtrail fields"))
        out.append(("cloudtrail", orjson.dumps({"Records": [_cloudtrail_placement(secret, 1000 + index)]}),
                    where + "cloudtrail Records file"))
        for record in _audit_placements(secret, index):
            out.append(("audit", orjson.dumps(record), where + "audit fields"))
        carried = secret.inline or ": ".join(secret.header)  # type: ignore[arg-type]
        not_utf8 = _NGINX.format(path=f"/x?q={carried}", referer="-", agent="\xff").encode("latin-1")
        out.append(("gateway", not_utf8, where + "a gateway line that is not UTF-8"))
        out.append(("cloudtrail", b'{"eventName": "X", "note": "\xfe ' + carried.encode() + b'"}',
                    where + "a CloudTrail record that is not UTF-8"))
        good = orjson.dumps(_audit_placements(secret, 2000 + index)[0])
        out.append(("audit", good + b'\n{"authorization": "' + carried.encode() + b'", "broken": \n' + good,
                    where + "a malformed JSON line between good ones"))
        out.append(("cloudtrail", b'{"authorization": "' + carried.encode() + b'", "broken": ',
                    where + "a message malformed as a whole"))
    return out


def leaks(blob: str | bytes, secrets: list[KnownSecret]) -> list[str]:
    """The names of the secrets one of whose needles appears in ``blob``."""
    text = blob.decode("latin-1") if isinstance(blob, bytes) else blob
    return [secret.name for secret in secrets if any(needle in text for needle in secret.needles)]


# --- the test --------------------------------------------------------------------------------------

SECRETS = known_secrets()
REDACTOR = Redactor(b"test-installation-key-0123456789abcdef")


def _raw_messages(placed: list[tuple[str, bytes, str]]) -> list[RawMessage]:
    return [RawMessage(family, f"aispm.raw.{family}", 0, offset, value, 1_741_515_340_000)
            for offset, (family, value, _) in enumerate(placed)]


def _dumps(value: object) -> str:
    def fallback(item: object) -> str:
        return item.decode("latin-1") if isinstance(item, bytes) else str(item)

    return orjson.dumps(value, default=fallback, option=orjson.OPT_NON_STR_KEYS).decode()


def test_the_secrets_are_what_the_redaction_rules_call_secrets() -> None:
    """Guard for the test itself: each made-up secret is a real-looking one (else 'no leak' means nothing)."""
    for secret in SECRETS:
        text = secret.inline or ": ".join(secret.header)  # type: ignore[arg-type]
        assert leaks(text, [secret]) == [secret.name]
        assert leaks(REDACTOR.redact_text(text), [secret]) == [], secret.name


@pytest.mark.parametrize("redact_bodies", [True, False], ids=["bodies-redacted", "bodies-kept"])
def test_no_output_of_the_pipeline_carries_a_secret(redact_bodies: bool,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    placed = messages_with_secrets(SECRETS)
    detectors = Detectors.default()
    out = process_batch(_raw_messages(placed), max_record_bytes=1 << 20, raw_cap=1 << 16,
                        redact_bodies=redact_bodies, enrich=detectors.enrich, redactor=REDACTOR)

    # The placements exercise both paths: most become events, the broken ones dead letters.
    assert len(out.events) >= 0.8 * (len(placed) - 4 * len(SECRETS))
    assert {"bad_encoding", "malformed_json"} <= {row["reason"] for row in out.dead_letters}
    detection = detectors.detect(out.events, {})
    alerts = detectors.alerts(detection.findings, MemoryLedger(), 3_600_000)
    assert {finding.detection for finding in detection.findings} >= {"ai_credential_exposure"}

    outputs = {
        "events": _dumps(out.events),
        "events topic": b"".join(message for _, message in route_events(out.events, 4, 50)),
        "dead-letter rows": _dumps(out.dead_letters),
        "dead-letter topic": b"\n".join(dead_letter_message(row) for row in out.dead_letters),
        "findings": _dumps([(f.title, f.description, f.context, f.principal, f.dedup_key)
                            for f in detection.findings]),
        "alerts (OCSF)": _dumps(alerts.ocsf),
        "alert rows": _dumps(alerts.rows),
        "logs": "\n".join(record.getMessage() for record in caplog.records),
    }
    found = {name: leaks(blob, SECRETS) for name, blob in outputs.items()}
    assert found == {name: [] for name in outputs}


def test_aispm_detect_prints_no_secret(tmp_path: Path) -> None:
    placed = messages_with_secrets(SECRETS)
    outputs = []
    for family in ("gateway", "cloudtrail", "audit"):
        path = tmp_path / f"{family}.log"
        path.write_bytes(b"\n".join(value for source, value, _ in placed if source == family) + b"\n")
        for fmt in ("jsonl", "table"):
            result = CliRunner().invoke(main, ["detect", "--source", family, "--format", fmt, str(path)],
                                        env={"AISPM_DATA_DIR": str(tmp_path / "data")})
            assert result.exit_code in (0, 3), result.output
            outputs += [result.stdout, result.stderr]
    assert "ai_credential_exposure" in "".join(outputs)
    assert [leaks(text, SECRETS) for text in outputs] == [[]] * len(outputs)

"""Gateway / egress normalizers on hand-written samples, on the real Zeek logs, and on bad input."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from schemas.event import OCSF_DNS_ACTIVITY, OCSF_HTTP_ACTIVITY, OCSF_NETWORK_ACTIVITY, validate_event
from streams.normalize import normalize_message
from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway import FORMATS, _common, split
from streams.normalize.gateway import normalize as gateway_normalize

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "samples" / "gateway"
ZEEK = REPO.parent / "shared" / "datasets" / "zed-sample-data-zeek"
ZEEK_RECORDS_CHECKED = 5000
META = RecordMeta(topic="raw.gateway", partition=2, offset=41)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms(iso: str) -> int:
    """Epoch ms of an ISO time (floored, in exact integer arithmetic), independent of the code under test."""
    return (datetime.fromisoformat(iso) - EPOCH) // timedelta(milliseconds=1)


def events_of(payload: str | bytes) -> list[dict]:
    """Events of one message; fails the test if any record of it failed."""
    result = normalize_message("gateway", payload.encode() if isinstance(payload, str) else payload, META)
    assert not result.failures, [(f.reason, f.detail) for f in result.failures]
    for event in result.events:
        validate_event(event)
        assert event["source_family"] == "gateway"
        assert (event["kafka_topic"], event["kafka_partition"], event["kafka_offset"]) == ("raw.gateway", 2, 41)
    return result.events


def sample_lines(name: str) -> list[str]:
    return (SAMPLES / name).read_text().splitlines()


def only_event(line: str) -> dict:
    events = events_of(line)
    assert len(events) == 1
    return events[0]


def failure_reasons(payload: str | bytes) -> list[str]:
    result = normalize_message("gateway", payload.encode() if isinstance(payload, str) else payload, META)
    assert not result.events
    return [failure.reason for failure in result.failures]


# --- every sample ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("file_name", "source_format", "expected_events"),
    [("apigw.jsonl", "aws_apigw", 5), ("envoy.jsonl", "envoy", 5), ("kong.jsonl", "kong", 4),
     ("nginx.log", "nginx", 9), ("squid.log", "squid", 8)],
)
def test_each_sample_file_normalizes_fully_as_its_format(file_name: str, source_format: str, expected_events: int):
    whole_file = events_of((SAMPLES / file_name).read_bytes())  # one message with every line
    line_by_line = [event for line in sample_lines(file_name) for event in events_of(line)]
    assert len(whole_file) == len(line_by_line) == expected_events
    assert {event["source_format"] for event in whole_file} == {source_format}
    assert [event["event_id"] for event in whole_file] == [event["event_id"] for event in line_by_line]
    assert len({event["event_id"] for event in whole_file}) == expected_events
    for event in whole_file:
        assert event["class_uid"] == OCSF_HTTP_ACTIVITY
        assert event["type_uid"] == OCSF_HTTP_ACTIVITY * 100 + event["activity_id"]
        assert event["service"] == event["target_host"]
        assert event["target_host"] == event["target_host"].lower()
        assert ":" not in event["target_host"]


def test_formats_lists_every_format_name():
    assert set(FORMATS) == {"aws_apigw", "envoy", "kong", "nginx", "squid", "zeek_ssl", "zeek_dns", "zeek_dhcp",
                            "zpa_user_status"}


def test_content_ids_are_stable_across_runs_and_differ_between_records():
    lines = sample_lines("squid.log")  # Squid has no request id: every id is a content hash
    first = [only_event(line)["event_id"] for line in lines]
    assert first == [only_event(line)["event_id"] for line in lines]
    assert len(set(first)) == len(lines)
    assert all(len(event_id) == 32 and int(event_id, 16) >= 0 for event_id in first)


# --- AWS API Gateway ---------------------------------------------------------------------------------

def test_apigw_console_template():
    event = only_event(sample_lines("apigw.jsonl")[0])
    assert event["source_format"] == "aws_apigw"
    assert event["event_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert event["time"] == ms("2025-03-09T10:15:32+00:00")
    assert (event["action"], event["activity_id"]) == ("POST", 6)
    assert (event["status_code"], event["outcome"]) == (200, "success")
    assert event["src_ip"] == "198.51.100.7"
    assert (event["actor"], event["actor_type"]) == ("", "")  # "-" is API Gateway's empty value
    assert event["bytes_out"] == 512 and event["bytes_in"] is None
    assert (event["target_host"], event["target_url"], event["target_resource"]) == ("", "/v1/chat", "/v1/chat")


def test_apigw_http_api_prefers_epoch_ms_and_builds_the_https_url():
    event = only_event(sample_lines("apigw.jsonl")[1])
    assert event["time"] == ms("2025-03-09T10:15:33.250+00:00")  # requestTimeEpoch, not the whole second
    assert event["target_host"] == "llm.example.com"  # lower-cased
    assert event["target_url"] == "https://llm.example.com/v1/completions"
    assert event["target_resource"] == "POST /v1/completions"
    assert (event["status_code"], event["outcome"], event["status_detail"]) == (429, "failure", "Too Many Requests")
    assert event["user_agent"] == "OpenAI/NodeJS/4.73.0"
    assert event["cloud_account"] == "111122223333"


def test_apigw_dotted_keys_and_lambda_authorizer_principal():
    event = only_event(sample_lines("apigw.jsonl")[2])
    assert (event["actor"], event["actor_type"]) == ("user|a1b2c3", "authorizer")
    assert event["src_ip"] == "192.0.2.44"
    assert event["user_agent"] == "python-requests/2.32.3"
    assert event["time"] == 1741515334017  # epoch ms given as a string
    assert event["status_detail"] == ""  # "error.message": "-"
    assert event["target_url"] == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/models"
    assert (event["action"], event["activity_id"]) == ("GET", 3)


def test_apigw_nested_identity_with_iam_caller():
    event = only_event(sample_lines("apigw.jsonl")[3])
    assert event["actor"] == "arn:aws:sts::111122223333:assumed-role/notebook-role/i-0abc123def4567890"
    assert event["actor_type"] == "iam"
    assert (event["src_ip"], event["user_agent"]) == ("10.0.12.9", "aws-sdk-python/1.35.0")
    assert (event["status_code"], event["outcome"]) == (502, "failure")
    assert event["status_detail"] == "Endpoint request timed out"
    assert event["bytes_out"] is None  # responseLength "-"


def test_apigw_look_alike_domain_is_kept_exactly():
    event = only_event(sample_lines("apigw.jsonl")[4])
    assert event["target_host"] == "api.openai.com.apigw-mirror.net"
    assert (event["actor"], event["actor_type"]) == ("q1w2e3r4t5", "api_key")


# --- Envoy -------------------------------------------------------------------------------------------

def test_envoy_istio_record_to_openai():
    event = only_event(sample_lines("envoy.jsonl")[0])
    assert event["source_format"] == "envoy"
    assert event["event_id"] == "3f1c6a1e-52c2-4b8e-9d0e-2f4a5b6c7d8e"
    assert event["time"] == ms("2025-03-09T10:15:32.120+00:00")
    assert event["target_host"] == event["service"] == "api.openai.com"
    assert event["target_url"] == "https://api.openai.com/v1/chat/completions"
    assert event["src_ip"] == "10.1.4.17"  # downstream_remote_address without its port
    assert (event["bytes_in"], event["bytes_out"]) == (1832, 5120)
    assert (event["status_code"], event["outcome"]) == (200, "success")
    assert event["target_resource"] == "outbound|443||api.openai.com"


def test_envoy_no_response_with_flag_is_a_failure_and_mtls_peer_is_the_actor():
    event = only_event(sample_lines("envoy.jsonl")[1])
    assert event["status_code"] is None  # response_code 0: nothing was sent back
    assert event["outcome"] == "failure"
    assert event["status_detail"].startswith("UF; upstream_reset_before_response_started")
    assert event["target_host"] == "api.anthropic.com"  # authority had :443
    assert event["target_url"] == "/v1/messages"  # no scheme logged: stays a path
    assert (event["actor"], event["actor_type"]) == ("spiffe://cluster.local/ns/ml/sa/batch-scorer", "mtls_peer")


def test_envoy_connect_tunnel_to_look_alike_host():
    line = sample_lines("envoy.jsonl")[2]
    event = only_event(line)
    assert (event["action"], event["activity_id"]) == ("CONNECT", 1)
    assert event["target_host"] == "api.openai.com.auth-check.site"
    assert event["target_url"] == "api.openai.com.auth-check.site:443"
    assert (event["bytes_in"], event["bytes_out"], event["status_code"]) == (2312, 10877, 200)
    assert event["user_agent"] == ""
    assert event["event_id"] != "-" and len(event["event_id"]) == 32  # request_id "-": content hash
    assert event["event_id"] == only_event(line)["event_id"]


def test_envoy_header_named_keys_original_path_and_redacted_key():
    event = only_event(sample_lines("envoy.jsonl")[3])
    assert event["event_id"] == "7d2e1f00-1c2b-4a59-8e7f-6a5b4c3d2e1f"
    assert event["target_host"] == "llm-gw.example.com"
    assert event["target_url"].startswith(
        "https://llm-gw.example.com/openai/v1/models?api_key=[REDACTED:api_key_param:fp=")
    assert "local-dev-secret" not in event["target_url"] and "local-dev-secret" not in event["raw"]
    assert event["src_ip"] == "198.51.100.8"  # first X-Forwarded-For hop when no downstream address
    assert (event["status_code"], event["outcome"]) == (401, "failure")


def test_envoy_epoch_seconds_start_time_and_string_numbers():
    event = only_event(sample_lines("envoy.jsonl")[4])
    assert event["time"] == 1741515336880
    assert event["target_host"] == "ollama.lab.internal"
    assert (event["bytes_in"], event["bytes_out"]) == (0, 337)
    assert event["src_ip"] == ""


# --- Kong --------------------------------------------------------------------------------------------

def test_kong_ai_route_maps_upstream_service_consumer_and_redacts_the_bearer_token():
    event = only_event(sample_lines("kong.jsonl")[0])
    assert event["source_format"] == "kong"
    assert event["event_id"] == "9e0f4a1b2c3d4e5f6a7b8c9d0e1f2a3b"
    assert event["time"] == 1741515332120
    assert event["target_host"] == event["service"] == "api.openai.com"  # the upstream, not kong.internal
    assert event["target_url"] == "https://kong.internal:8443/openai/v1/chat/completions"
    assert event["target_resource"] == "openai"
    assert (event["actor"], event["actor_type"]) == ("data-science-bot", "kong_consumer")
    assert (event["src_ip"], event["user_agent"]) == ("10.20.3.14", "OpenAI/Python 1.52.0")
    assert (event["bytes_in"], event["bytes_out"], event["status_code"]) == (1911, 4382, 200)
    assert "kong-test-token" not in event["raw"] and "Bearer [REDACTED:bearer:fp=" in event["raw"]


def test_kong_without_request_id_or_consumer():
    event = only_event(sample_lines("kong.jsonl")[1])
    assert len(event["event_id"]) == 32
    assert event["user_agent"] == "HTTPie/3.2.3"  # repeated header logged as a list
    assert (event["bytes_in"], event["bytes_out"]) == (138, 212)  # sizes as strings
    assert (event["actor"], event["status_code"], event["outcome"]) == ("", 403, "failure")
    assert event["target_host"] == "httpbin.org"


def test_kong_batch_array_is_one_event_per_request():
    events = events_of(sample_lines("kong.jsonl")[2])
    assert [event["target_host"] for event in events] == ["api.anthropic.com", "api-inference.huggingface.co"]
    assert [event["actor"] for event in events] == ["support-summarizer", ""]
    assert [event["status_code"] for event in events] == [529, 200]
    assert events[0]["raw"].startswith('{"request":{"id":"5a6b7c8d')  # each event keeps only its record


def test_split_treats_an_array_as_a_batch_and_anything_else_as_one_record():
    record = {"a": 1}
    assert split([record, record]) == [record, record]
    assert split(record) == [record]
    assert split([]) == [[]]  # kept, so that it is reported


def test_an_empty_batch_is_reported_not_dropped():
    assert failure_reasons(b"[]") == ["empty"]
    kong = sample_lines("kong.jsonl")[0]
    result = normalize_message("gateway", f"{kong}\n[]".encode(), META)
    assert [event["source_format"] for event in result.events] == ["kong"]
    assert [failure.reason for failure in result.failures] == ["empty"]


# --- nginx -------------------------------------------------------------------------------------------

def test_nginx_combined():
    event = only_event(sample_lines("nginx.log")[0])
    assert event["source_format"] == "nginx"
    assert event["time"] == ms("2025-03-09T10:15:32+00:00")
    assert (event["src_ip"], event["action"], event["target_url"]) == ("203.0.113.9", "GET", "/index.html")
    assert (event["status_code"], event["bytes_out"], event["outcome"]) == (200, 612, "success")
    assert event["user_agent"].startswith("Mozilla/5.0 (X11; Linux x86_64")
    assert event["target_host"] == "" and event["actor"] == ""


def test_nginx_main_with_forwarded_for_keeps_remote_addr_as_source():
    event = only_event(sample_lines("nginx.log")[1])
    assert event["src_ip"] == "10.0.4.21"
    assert (event["action"], event["target_url"], event["user_agent"]) == (
        "POST", "/v1/chat/completions", "OpenAI/Python 1.52.0")


def test_nginx_main_ext_host_and_basic_auth_user():
    event = only_event(sample_lines("nginx.log")[2])
    assert event["target_host"] == event["service"] == "api.anthropic.com"
    assert (event["actor"], event["actor_type"]) == ("alice", "http_basic")
    assert (event["status_code"], event["outcome"]) == (429, "failure")


def test_nginx_ingress_format_request_id_length_and_redacted_key():
    event = only_event(sample_lines("nginx.log")[3])
    assert event["event_id"] == "6c1e3d0b8f2a4e7f9a0b1c2d3e4f5a6b"
    assert (event["bytes_in"], event["bytes_out"]) == (1540, 2211)
    assert event["target_url"].startswith(
        "/v1beta/models/gemini-1.5-pro:generateContent?key=[REDACTED:api_key_param:fp=")
    assert "test-not-a-real-key" not in event["raw"]


def test_nginx_vhost_first_look_alike_and_forward_proxy_absolute_url():
    vhost = only_event(sample_lines("nginx.log")[4])
    assert (vhost["target_host"], vhost["src_ip"]) == ("api.openai.com.evil-proxy.net", "198.51.100.23")
    proxied = only_event(sample_lines("nginx.log")[5])
    assert proxied["target_host"] == "api-openai.com"
    assert proxied["target_url"] == "http://api-openai.com/v1/models"
    assert (proxied["status_code"], proxied["outcome"]) == (502, "failure")


def test_nginx_connect_tls_junk_and_ipv6_with_offset():
    connect = only_event(sample_lines("nginx.log")[6])
    assert (connect["action"], connect["target_host"], connect["target_url"]) == (
        "CONNECT", "api.openai.com", "api.openai.com:443")
    junk = only_event(sample_lines("nginx.log")[7])  # a TLS hello sent to a plain-HTTP port
    assert (junk["action"], junk["activity_id"], junk["status_code"]) == ("", 0, 400)
    assert junk["status_detail"] == "unparsed request line"
    ipv6 = only_event(sample_lines("nginx.log")[8])
    assert ipv6["src_ip"] == "2001:db8:4::17"
    assert ipv6["time"] == ms("2025-03-09T10:15:40+00:00")  # 12:15:40 +0200
    assert (ipv6["action"], ipv6["activity_id"], ipv6["bytes_out"]) == ("HEAD", 4, 0)


# --- Squid -------------------------------------------------------------------------------------------

def test_squid_connect_to_openai():
    event = only_event(sample_lines("squid.log")[0])
    assert event["source_format"] == "squid"
    assert event["time"] == 1741515332120
    assert (event["action"], event["activity_id"]) == ("CONNECT", 1)
    assert (event["target_host"], event["target_url"]) == ("api.openai.com", "api.openai.com:443")
    assert (event["actor"], event["actor_type"], event["src_ip"]) == ("alice", "proxy_user", "10.20.3.14")
    assert (event["status_code"], event["outcome"], event["bytes_out"]) == (200, "success", 6120)
    assert event["target_resource"] == "104.18.7.192"
    assert event["status_detail"] == "TCP_TUNNEL HIER_DIRECT"


def test_squid_time_keeps_exact_milliseconds():
    # Squid writes %ts.%03tu: seconds, a dot, then milliseconds.
    assert only_event(sample_lines("squid.log")[1])["time"] == 1741515333450


def test_squid_denied_look_alike_bumped_aborted_parent_and_no_request():
    denied, look_alike, bumped, aborted, parent, no_request = map(only_event, sample_lines("squid.log")[2:8])
    assert (denied["status_code"], denied["outcome"], denied["target_resource"]) == (403, "failure", "")
    assert denied["target_host"] == "api.anthropic.com" and denied["actor"] == "bob"
    assert look_alike["target_host"] == "api.openai.com.cdn-edge.top"
    assert bumped["target_host"] == "generativelanguage.googleapis.com"
    assert bumped["target_url"].startswith("https://generativelanguage.googleapis.com/v1beta/models/")
    assert (aborted["status_code"], aborted["outcome"]) == (None, "unknown")
    assert aborted["status_detail"] == "TCP_MISS_ABORTED HIER_DIRECT"
    assert (parent["target_host"], parent["target_resource"]) == ("ollama.lab.internal", "10.0.0.3")
    assert (no_request["action"], no_request["activity_id"], no_request["status_code"]) == ("", 0, 400)


def test_one_message_may_mix_nginx_and_squid_lines():
    message = "\n".join([sample_lines("nginx.log")[0], sample_lines("squid.log")[0]])
    assert [event["source_format"] for event in events_of(message)] == ["nginx", "squid"]


def test_one_message_may_mix_json_formats_as_json_lines():
    message = "\n".join([sample_lines("kong.jsonl")[0], sample_lines("envoy.jsonl")[0], sample_lines("apigw.jsonl")[0]])
    assert [event["source_format"] for event in events_of(message)] == ["kong", "envoy", "aws_apigw"]


# --- Zeek (real data) --------------------------------------------------------------------------------

def zeek_lines(log: str) -> list[bytes]:
    path = ZEEK / f"{log}.json.gz"
    if not path.is_file():
        pytest.fail(f"Zeek sample data missing: expected {path} (the shared datasets folder next to the repo)")
    with gzip.open(path, "rb") as stream:
        return list(itertools.islice(stream, ZEEK_RECORDS_CHECKED))


def test_zeek_ssl_first_records_all_normalize_with_the_right_fields():
    lines = zeek_lines("ssl")
    assert len(lines) == ZEEK_RECORDS_CHECKED
    ids = set()
    for line in lines:
        record = orjson.loads(line)
        event = only_event(line)
        ids.add(event["event_id"])
        assert event["source_format"] == "zeek_ssl"
        assert (event["class_uid"], event["activity_id"], event["action"]) == (
            OCSF_NETWORK_ACTIVITY, 6, "tls_client_hello")
        assert event["time"] == ms(record["ts"])
        assert event["src_ip"] == record["id.orig_h"]
        assert event["target_host"] == event["service"] == record.get("server_name", "").lower()
        assert event["target_resource"] == f"{record['id.resp_h']}:{record['id.resp_p']}"
        assert event["outcome"] == ("success" if record["established"] else "failure")
    assert len(ids) == ZEEK_RECORDS_CHECKED  # one ssl record per connection uid


def test_zeek_dns_first_records_all_normalize_with_the_right_fields():
    lines = zeek_lines("dns")
    ids = set()
    for line in lines:
        record = orjson.loads(line)
        event = only_event(line)
        ids.add(event["event_id"])
        assert event["source_format"] == "zeek_dns"
        assert (event["class_uid"], event["activity_id"], event["action"]) == (OCSF_DNS_ACTIVITY, 1, "dns_query")
        assert event["time"] == ms(record["ts"])
        assert event["src_ip"] == record["id.orig_h"]
        assert event["target_host"] == event["service"] == record.get("query", "").rstrip(".").lower()
        assert event["target_resource"] == ",".join(record.get("answers", []))
        rcode = record.get("rcode_name")
        assert event["outcome"] == {None: "unknown", "NOERROR": "success"}.get(rcode, "failure")
        assert event["status_detail"] == (rcode or "")
    # Many queries share a connection uid; the id tells them apart.
    distinct_queries = {
        (record["uid"], record.get("trans_id"), record["ts"]) for record in map(orjson.loads, lines)
    }
    assert len(ids) == len(distinct_queries) > len({orjson.loads(line)["uid"] for line in lines})


def test_zeek_known_records():
    dns = only_event(zeek_lines("dns")[0])
    assert dns["time"] == 1521911720865  # 2018-03-24T17:15:20.865716Z
    assert (dns["src_ip"], dns["target_host"]) == ("10.47.1.100", "ise.wrccdc.org")
    assert dns["target_resource"] == "ise.wrccdc.cpp.edu,134.71.3.16"
    assert (dns["outcome"], dns["status_detail"], dns["type_uid"]) == ("success", "NOERROR", 400301)
    ssl = zeek_lines("ssl")
    no_sni = only_event(ssl[0])
    assert (no_sni["target_host"], no_sni["target_resource"]) == ("", "10.47.3.200:443")
    assert no_sni["status_detail"] == "unable to get local issuer certificate"
    assert no_sni["type_uid"] == 400106
    with_sni = only_event(ssl[8])
    assert (with_sni["target_host"], with_sni["target_resource"]) == ("ise.wrccdc.org", "134.71.3.16:443")
    assert with_sni["event_id"].endswith(":ssl")


def test_zeek_epoch_seconds_ts_and_nested_id_fields():
    record = {"ts": 1741515332.12, "uid": "CAbc123", "id": {"orig_h": "10.0.0.5", "orig_p": 50000,
              "resp_h": "2001:db8::443", "resp_p": 443}, "server_name": "API.OpenAI.com.", "established": False,
              "last_alert": "handshake_failure"}
    event = only_event(orjson.dumps(record))
    assert event["source_format"] == "zeek_ssl"
    assert event["time"] == 1741515332120
    assert (event["src_ip"], event["target_host"]) == ("10.0.0.5", "api.openai.com")
    assert event["target_resource"] == "[2001:db8::443]:443"
    assert (event["outcome"], event["status_detail"]) == ("failure", "handshake_failure")


def test_zeek_dns_for_an_ai_host_without_path_field():
    record = {"ts": "2025-03-09T10:15:32.5Z", "uid": "CDns1", "id.orig_h": "10.0.0.7", "id.resp_h": "10.0.0.2",
              "trans_id": 4242, "query": "Api.Anthropic.com", "qtype_name": "A", "rcode_name": "NXDOMAIN"}
    event = only_event(orjson.dumps(record))
    assert (event["source_format"], event["target_host"]) == ("zeek_dns", "api.anthropic.com")
    assert (event["outcome"], event["target_resource"]) == ("failure", "")
    assert event["event_id"] == "CDns1:dns:4242:2025-03-09T10:15:32.5Z"


# --- bad input ---------------------------------------------------------------------------------------

NGINX_OK = '203.0.113.9 - - [09/Mar/2025:10:15:32 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"'
SQUID_OK = "1741515332.120    812 10.20.3.14 TCP_TUNNEL/200 6120 CONNECT api.openai.com:443 - HIER_DIRECT/1.2.3.4 -"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("hello world", "unknown_format"),
        ('{"foo": 1, "bar": [2]}', "unknown_format"),
        ('{"_path": "conn", "uid": "C1", "id.orig_h": "10.0.0.1", "ts": 1}', "unknown_format"),  # other Zeek log
        ("#separator \\x09", "unknown_format"),
        ("1521911720.865716\tCqKst53mF3det3eDV9\t10.47.1.100", "unknown_format"),  # Zeek TSV, not Squid
        ('{"request": {"method": "GET"', "malformed_json"),
        (NGINX_OK[:55], "truncated"),  # cut inside the request line
        (NGINX_OK[: NGINX_OK.rfind('"', 0, -1) + 5], "truncated"),  # cut inside the user agent
        (NGINX_OK.replace(" 200 ", " OK "), "wrong_type"),
        (NGINX_OK.replace(" 200 ", " 200 12 13 "), "malformed_line"),
        (NGINX_OK.replace("09/Mar/2025", "39/Mar/2025"), "bad_time"),
        (NGINX_OK.replace(" 200 ", " 1200 "), "bad_value"),
        ("a b c d e " + NGINX_OK[12:], "malformed_line"),
        (SQUID_OK.rsplit(" ", 4)[0], "truncated"),
        (SQUID_OK.replace("TCP_TUNNEL/200", "TCP_TUNNEL"), "malformed_line"),
        (SQUID_OK.replace("1741515332.120", "9741515332.120"), "bad_time"),
        (SQUID_OK.replace(" 6120 ", " -5 "), "bad_value"),
    ],
)
def test_bad_text_and_json_become_failures_with_a_reason(payload: str, reason: str):
    assert failure_reasons(payload) == [reason]


@pytest.mark.parametrize(
    ("file_name", "index", "change", "reason"),
    [
        ("kong.jsonl", 0, {"started_at": None}, "missing_field"),
        ("kong.jsonl", 0, {"started_at": "yesterday"}, "wrong_type"),
        ("kong.jsonl", 0, {"consumer": ["bot"]}, "wrong_type"),
        ("kong.jsonl", 0, {"client_ip": {"v4": "10.0.0.1"}}, "wrong_type"),
        ("kong.jsonl", 1, {"response": {"status": "teapot"}}, "wrong_type"),
        ("envoy.jsonl", 0, {"start_time": "yesterday noon"}, "bad_time"),
        ("envoy.jsonl", 0, {"start_time": True}, "bad_time"),
        ("envoy.jsonl", 0, {"bytes_sent": -1}, "bad_value"),
        ("envoy.jsonl", 0, {"response_code": 70000}, "bad_value"),
        ("envoy.jsonl", 0, {"method": ["POST"]}, "wrong_type"),
        ("apigw.jsonl", 0, {"requestTime": "-"}, "missing_field"),
        ("apigw.jsonl", 1, {"requestTimeEpoch": 99999999999999}, "bad_time"),
        ("apigw.jsonl", 0, {"status": "2OO"}, "wrong_type"),
        ("apigw.jsonl", 0, {"responseLength": 1e300}, "wrong_type"),  # beyond 64 bits
    ],
)
def test_recognised_json_with_bad_fields_fails_with_a_reason(file_name: str, index: int, change: dict, reason: str):
    document = orjson.loads(sample_lines(file_name)[index])
    document.update(change)
    assert failure_reasons(orjson.dumps(document)) == [reason]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"answers": "10.0.0.1"}, "wrong_type"),
        ({"ts": "20I8-03-24T17:15:20Z"}, "bad_time"),
        ({"ts": None}, "missing_time"),
        ({"uid": ""}, "missing_field"),
        ({"trans_id": "x"}, "wrong_type"),
    ],
)
def test_zeek_dns_with_bad_fields_fails_with_a_reason(change: dict, reason: str):
    record = orjson.loads(zeek_lines("dns")[0])
    record.update(change)
    assert failure_reasons(orjson.dumps(record)) == [reason]


def test_zeek_ssl_established_must_be_boolean():
    record = orjson.loads(zeek_lines("ssl")[0])
    record["established"] = "yes"
    assert failure_reasons(orjson.dumps(record)) == ["wrong_type"]


def test_truncated_zeek_line_is_malformed_json():
    line = zeek_lines("ssl")[0]
    assert failure_reasons(line[: len(line) // 2]) == ["malformed_json"]


def test_a_bad_line_costs_only_itself():
    message = f"{NGINX_OK}\ngarbage line\n{SQUID_OK}"
    result = normalize_message("gateway", message.encode(), META)
    assert [event["source_format"] for event in result.events] == ["nginx", "squid"]
    assert [(failure.reason, failure.raw) for failure in result.failures] == [("unknown_format", b"garbage line")]


def test_json_array_of_non_objects_fails_per_element():
    assert failure_reasons(b'[1, "text", null, [2]]') == ["unknown_format", "unknown_format", "unknown_format",
                                                          "unknown_format"]


def test_family_normalize_raises_only_normalize_error():
    for record in (None, 3, 2.5, True, ["x"], {}, "", " "):
        with pytest.raises(NormalizeError) as caught:
            gateway_normalize(record, "raw", META)
        assert caught.value.reason == "unknown_format"


# --- helpers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("authority", "host"),
    [
        ("API.OpenAI.com:443", "api.openai.com"),
        ("user:secret@api.openai.com:8443", "api.openai.com"),
        ("[2001:db8::1]:8443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("api.openai.com.", "api.openai.com"),
        ("-", ""),
        ("", ""),
    ],
)
def test_host_of(authority: str, host: str):
    assert _common.host_of(authority) == host


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://api.openai.com/v1/models", "api.openai.com"),
        ("http://u:p@Example.com:8080?x=1", "example.com"),
        ("https://h.example#frag", "h.example"),
        ("/v1/models", ""),
        ("api.openai.com:443", ""),
    ],
)
def test_host_of_url(url: str, host: str):
    assert _common.host_of_url(url) == host


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1286536309.450", 1286536309450), (1286536309.45, 1286536309450), (1521911720.865716, 1521911720865),
     ("1521911720", 1521911720000), (0, 0)],
)
def test_epoch_ms_from_decimal_is_exact(value, expected: int):
    assert _common.epoch_ms_from_decimal(value) == expected


@pytest.mark.parametrize("value", ["1e9", "12.3.4", "", "-5", float("inf"), float("nan"), None, True, [1]])
def test_epoch_ms_from_decimal_rejects_non_decimals(value):
    with pytest.raises(NormalizeError) as caught:
        _common.epoch_ms_from_decimal(value)
    assert caught.value.reason == "bad_time"


def test_http_status_and_outcome():
    assert _common.http_status("0") is None and _common.http_status(None) is None
    assert [_common.http_outcome(code) for code in (101, 204, 302, 404, 503, None)] == [
        "success", "success", "success", "failure", "failure", "unknown"]
    assert [_common.http_activity(method) for method in ("GET", "post", "PROPFIND", "")] == [3, 6, 99, 0]


def test_anonymised_ipv4_leading_zeros_are_removed():
    assert _common.address_ip("035.249.253.232:443") == "35.249.253.232"
    assert _common.address_ip("10.0.0.1") == "10.0.0.1"


# --- DHCP leases and ZTNA sessions (identity resolution's network sources) ------------------------------

def test_zeek_dhcp_lease_names_the_device_behind_the_address():
    events = events_of((SAMPLES / "zeek_dhcp.jsonl").read_bytes())
    assert [event["source_format"] for event in events] == ["zeek_dhcp"] * 4
    first, renew, release, nak = events
    assert first["class_uid"] == 4004 and first["activity_id"] == 1  # Assign
    assert first["src_ip"] == "10.20.1.57"
    assert first["target_host"] == "nina-mbp.globex.example"
    assert first["target_resource"] == "3c:22:fb:11:57:0a"
    assert first["status_detail"] == "lease 28800s"
    assert first["time"] == 1763625601101
    assert first["actor"] == ""
    assert renew["activity_id"] == 2 and renew["target_host"] == "nina-mbp"
    assert release["activity_id"] == 3 and release["src_ip"] == "10.20.2.9" and release["time"] == ms("2025-11-20T09:10:00.250+00:00")
    assert nak["activity_id"] == 4 and nak["outcome"] == "failure" and nak["src_ip"] == ""
    assert len({event["event_id"] for event in events}) == 4


def test_zpa_user_status_login_logout_and_refusal():
    login, logout, refused = events_of((SAMPLES / "zpa_user_status.jsonl").read_bytes())
    assert {event["source_format"] for event in (login, logout, refused)} == {"zpa_user_status"}
    assert (login["actor"], login["src_ip"], login["activity_id"]) == ("ben.carter@globex.example", "10.50.0.23", 1)
    assert login["time"] == ms("2025-11-20T08:02:11+00:00")
    assert (logout["activity_id"], logout["time"]) == (2, ms("2025-11-20T11:40:05+00:00"))
    assert logout["status_detail"] == "public_ip=192.0.2.61"
    assert refused["outcome"] == "failure" and refused["src_ip"] == ""
    assert refused["time"] == ms("2025-11-20T08:15:40+00:00")  # LogTimestamp, the ctime form
    assert login["event_id"] != logout["event_id"]


@pytest.mark.parametrize(("line", "reason"), [
    ('{"_path":"dhcp","uids":["C1"],"mac":"aa","assigned_addr":"10.0.0.1"}', "missing_time"),
    ('{"_path":"dhcp","ts":1.5,"uids":"C1","mac":"aa"}', "wrong_type"),
    ('{"_path":"dhcp","ts":1.5,"mac":"aa","lease_time":"forever"}', "bad_time"),
    ('{"_path":"dhcp","ts":1.5,"mac":"aa","msg_types":"ACK"}', "wrong_type"),
    ('{"SessionStatus":"ZPN_STATUS_AUTHENTICATED","Username":"a"}', "missing_time"),
    ('{"SessionStatus":"x","Username":"a","LogTimestamp":"Mon Foo 99 99:99:99 2019"}', "bad_time"),
])
def test_dhcp_and_zpa_bad_fields_fail_with_a_reason(line: str, reason: str):
    assert failure_reasons(line) == [reason]

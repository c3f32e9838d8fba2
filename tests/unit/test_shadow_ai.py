"""Shadow-AI detections (egress, cloud runtime, credential exposure) and the AI-use extractor."""

from __future__ import annotations

import hashlib
import json
from types import ModuleType

import orjson
import pytest

from schemas.event import validate_event
from streams.detect.alerts import AlertPlan, MemoryLedger
from streams.detect.base import RuleMeta
from streams.detect.examples import assumed_role, cloudtrail, iam_user, normalize_record
from streams.detect.rules import ai_credential_exposure, shadow_ai_cloud_runtime, shadow_ai_egress
from streams.detect.rules.shadow_ai_egress import gateway_event
from streams.enrich.ai_usage import model_from_url, usage_of
from streams.enrich.catalog import Catalog, default_catalog
from streams.enrich.policy import Policy
from streams.normalize import normalize_message
from streams.normalize.redact import AI_KEY_KINDS, default_redactor
from tests.conftest import dataset
from tests.unit.rule_runs import rule_findings

DETECTIONS = (shadow_ai_egress, shadow_ai_cloud_runtime, ai_credential_exposure)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def _zeek_ssl(server_name: str, src_ip: str = "10.30.1.15", uid: str = "Cx1") -> dict:
    return gateway_event(orjson.dumps({
        "_path": "ssl", "ts": 1741515332.12, "uid": uid, "id.orig_h": src_ip, "id.orig_p": 5,
        "id.resp_h": "104.18.7.192", "id.resp_p": 443, "server_name": server_name, "established": True,
    }).decode())


# --- every detection module: metadata and examples -------------------------------------------------------

@pytest.mark.parametrize("module", DETECTIONS, ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def test_detection_module_has_metadata_and_both_kinds_of_examples(module: ModuleType) -> None:
    assert isinstance(module.META, RuleMeta)
    assert {example.expect for example in module.EXAMPLES} == {True, False}
    for example in module.EXAMPLES:
        for event in example.events:
            validate_event(event)


@pytest.mark.parametrize(("module", "example"), [
    (module, example) for module in DETECTIONS for example in module.EXAMPLES
], ids=lambda value: getattr(value, "name", None) or value.__name__.rsplit(".", 1)[-1])
def test_detection_examples(module: ModuleType, example, catalog: Catalog) -> None:
    policy = Policy.from_text(module.EXAMPLE_POLICY)
    findings = rule_findings(module, example.events[-1], catalog, policy)
    assert bool(findings) == example.expect, example.name
    for finding in findings:
        assert finding.detection == module.META.id
        assert finding.severity == module.META.severity
        assert finding.principal and finding.provider
        assert finding.techniques == module.META.techniques


# --- shadow_ai_egress ------------------------------------------------------------------------------------

def test_egress_finding_explains_itself(catalog: Catalog) -> None:
    policy = Policy.from_text(shadow_ai_egress.EXAMPLE_POLICY)
    [finding] = rule_findings(shadow_ai_egress, _zeek_ssl("api.anthropic.com", "10.20.9.9"), catalog, policy)
    assert finding.principal == "10.20.9.9"
    assert finding.provider == "anthropic"
    assert finding.key() == "shadow_ai_egress|10.20.9.9|anthropic"
    assert finding.context["host"] == "api.anthropic.com"
    assert finding.context["product"] == "Claude API"
    assert finding.context["policy_reason"] == "no clause sanctions anthropic/Claude API"
    assert finding.context["sanctioned_alternatives"] == ["github-copilot"]  # 10.20/16 is the engineering net
    assert "Claude API" in finding.title and "no clause sanctions" in finding.description


def test_egress_prefers_the_actor_and_uses_directory_groups(catalog: Catalog) -> None:
    event = gateway_event("1741515334.007     90 10.30.1.17 TCP_TUNNEL/200 3902 CONNECT api.githubcopilot.com:443 "
                          "bob HIER_DIRECT/140.82.112.21 -")
    policy = Policy.from_text("version: 1\nclauses:\n  - id: eng\n    providers: [github-copilot]\n"
                              "    groups: [engineering]\n")
    [finding] = rule_findings(shadow_ai_egress, event, catalog, policy)
    assert finding.principal == "bob" and finding.context["src_ip"] == "10.30.1.17"
    directory = {"bob": ["engineering"]}
    assert rule_findings(shadow_ai_egress, event, catalog, policy, groups_of=lambda user: directory.get(user, [])) == []


def test_egress_without_policy_is_discovery_mode(catalog: Catalog) -> None:
    [finding] = rule_findings(shadow_ai_egress, _zeek_ssl("api.githubcopilot.com", "10.20.4.2"), catalog, None)
    assert "discovery mode" in finding.context["policy_reason"]


def test_egress_judges_expiry_at_event_time(catalog: Catalog) -> None:
    event = _zeek_ssl("chatgpt.com", "10.5.5.5")  # 2025-03-09
    policy = Policy.from_text("version: 1\nclauses:\n  - id: pilot\n    providers: [openai]\n"
                              "    networks: [10.5.0.0/16]\n    expires: 2025-03-31\n")
    assert rule_findings(shadow_ai_egress, event, catalog, policy) == []  # sanctioned then, whatever today's date is
    late = dict(event, time=event["time"] + 30 * 86_400_000)
    [finding] = rule_findings(shadow_ai_egress, late, catalog, policy)
    assert finding.context["policy_clause"] == "pilot" and "expired on 2025-03-31" in finding.context["policy_reason"]


def test_egress_reads_only_gateway_events(catalog: Catalog) -> None:
    event = cloudtrail("InvokeModel", params={"modelId": "m"},
                       tlsDetails={"clientProvidedHostHeader": "bedrock-runtime.us-east-1.amazonaws.com"})
    assert event["target_host"] == "bedrock-runtime.us-east-1.amazonaws.com"
    assert rule_findings(shadow_ai_egress, event, catalog, None) == []


# --- shadow_ai_cloud_runtime -----------------------------------------------------------------------------

def _stratus_events() -> list[dict]:
    records = json.loads(dataset("stratus-red-team-detonation-logs", "aws.impact.bedrock-invoke-model.json").read_text())
    return [normalize_record(record) for record in records]


def test_cloud_runtime_on_a_recorded_llmjacking_detonation(catalog: Catalog) -> None:
    events = _stratus_events()
    assert len(events) == 15
    findings = [finding for event in events for finding in rule_findings(shadow_ai_cloud_runtime, event, catalog, None)]
    assert len(findings) == 1  # the one InvokeModel; model-access and recon calls are not runtime calls
    [finding] = findings
    assert finding.principal == "arn:aws:sts::494659789341:assumed-role/test-role/cli"
    assert finding.context["model_id"] == "anthropic.claude-3-sonnet-20240229-v1:0"
    # The anonymised region still matches the catalog's region placeholder through the TLS host header.
    assert finding.context["host"] == "bedrock-runtime.megov-northeast-1r.amazonaws.com"
    assert finding.context["product"] == "Amazon Bedrock runtime"
    sanctioned = Policy.from_text("version: 1\nclauses:\n  - id: test\n    providers: [aws-bedrock]\n"
                                  "    services: [test-role]\n")
    assert [f for event in events for f in rule_findings(shadow_ai_cloud_runtime, event, catalog, sanctioned)] == []


@pytest.mark.parametrize(("action", "source", "params", "product", "model"), [
    ("InvokeModelWithResponseStream", "bedrock.amazonaws.com", {"modelId": "meta.llama3-70b-instruct-v1:0"},
     "Amazon Bedrock runtime", "meta.llama3-70b-instruct-v1:0"),
    ("Converse", "bedrock.amazonaws.com", {"modelId": "amazon.nova-lite-v1:0"}, "Amazon Bedrock runtime",
     "amazon.nova-lite-v1:0"),
    ("InvokeAgent", "bedrock.amazonaws.com", {"agentId": "AGENT123", "agentAliasId": "ALIAS9"},
     "Amazon Bedrock agent runtime", "agent/AGENT123/ALIAS9"),
    ("Retrieve", "bedrock.amazonaws.com", {"knowledgeBaseId": "KB42"}, "Amazon Bedrock agent runtime",
     "knowledge-base/KB42"),
    ("InvokeAgentRuntime", "bedrock-agentcore.amazonaws.com",
     {"agentRuntimeArn": "arn:aws:bedrock-agentcore:us-east-1:111122223333:runtime/r1"}, "Amazon Bedrock AgentCore",
     "arn:aws:bedrock-agentcore:us-east-1:111122223333:runtime/r1"),
    ("InvokeEndpointAsync", "sagemaker.amazonaws.com", {"endpointName": "llm-endpoint"}, "Amazon SageMaker runtime",
     "llm-endpoint"),
])
def test_cloud_runtime_actions(catalog: Catalog, action: str, source: str, params: dict, product: str,
                               model: str) -> None:
    event = cloudtrail(action, source, params=params, identity=iam_user("contractor"), region="eu-west-1")
    [finding] = rule_findings(shadow_ai_cloud_runtime, event, catalog, None)
    assert finding.context["product"] == product
    assert finding.context["model_id"] == model
    assert finding.context["region"] == "eu-west-1" and finding.context["access_key_id"].startswith("AKIA")


def test_cloud_runtime_without_region_still_classifies(catalog: Catalog) -> None:
    event = cloudtrail("InvokeModel", params={"modelId": "m1"}, identity=assumed_role("x"), region="")
    [finding] = rule_findings(shadow_ai_cloud_runtime, event, catalog, None)
    assert finding.provider == "aws-bedrock" and finding.context["product"] == "Amazon Bedrock runtime"
    assert finding.context["host"] == "bedrock.amazonaws.com"


def test_cloud_runtime_ignores_gateway_events(catalog: Catalog) -> None:
    assert rule_findings(shadow_ai_cloud_runtime, _zeek_ssl("bedrock-runtime.us-east-1.amazonaws.com"), catalog, None) == []


# --- ai_credential_exposure ------------------------------------------------------------------------------

OPENAI_KEY = "sk-proj-" + "Tq3VbN8xLmK2pR7sW4yZ1aC6dF9gH0jE5uI"  # made up, in OpenAI's project-key format
ANTHROPIC_KEY = "sk-ant-api03-" + "Xy7" * 10 + "AbCdEfGh"


def test_credential_exposure_end_to_end_never_carries_the_key(catalog: Catalog) -> None:
    line = (f"1741515400.250    330 10.30.2.40 TCP_MISS/200 5120 POST https://api.openai.com/v1/chat/completions"
            f"?api_key={OPENAI_KEY} erin HIER_DIRECT/104.18.7.192 application/json")
    normalized = normalize_message("gateway", line.encode())
    assert not normalized.failures
    [event] = normalized.events
    [finding] = rule_findings(ai_credential_exposure, event, catalog, None)
    fingerprint = default_redactor().fingerprint(OPENAI_KEY)  # keyed: the sha256 of the key is not it
    assert fingerprint != hashlib.sha256(OPENAI_KEY.encode()).hexdigest()[:12]
    assert finding.context["key_kind"] == "openai"
    assert finding.context["key_fingerprint"] == fingerprint
    assert finding.key() == f"ai_credential_exposure|openai|{fingerprint}"
    assert finding.principal == "erin" and finding.provider == "openai"
    assert finding.context["host_provider"] == "openai"

    plan = AlertPlan.of([finding], 3_600_000)
    [rendered] = plan.render(MemoryLedger().record(plan.events)).ocsf
    alert = orjson.dumps(rendered).decode()
    for text in (repr(finding), alert, repr(event)):
        assert OPENAI_KEY not in text
        assert OPENAI_KEY[8:30] not in text  # not even a fragment
    assert fingerprint in alert


def test_credential_exposure_one_finding_per_distinct_key(catalog: Catalog) -> None:
    record = {"start_time": "2025-03-09T10:16:00.000Z", "method": "POST", "path": f"/v1/messages?key={OPENAI_KEY}",
              "protocol": "HTTP/1.1", "response_code": 200, "bytes_received": 10, "bytes_sent": 20, "duration": 5,
              "authority": "api.anthropic.com", "downstream_remote_address": "10.1.4.17:5", "request_id": "r-9",
              "x_api_key": ANTHROPIC_KEY, "x_api_key_again": ANTHROPIC_KEY}
    event = gateway_event(orjson.dumps(record).decode())
    kinds = sorted(finding.context["key_kind"] for finding in rule_findings(ai_credential_exposure, event, catalog, None))
    assert kinds == ["anthropic", "openai"]
    assert ANTHROPIC_KEY not in event["raw"] and OPENAI_KEY not in event["raw"]


def test_every_ai_key_kind_names_a_catalogued_provider(catalog: Catalog) -> None:
    for kind in AI_KEY_KINDS:
        assert ai_credential_exposure.KEY_PROVIDERS.get(kind, kind) in catalog.providers, kind


# --- inventory -------------------------------------------------------------------------------------------

def test_usage_of_gateway_traffic(catalog: Catalog) -> None:
    envoy = gateway_event(orjson.dumps({
        "start_time": "2025-03-09T10:15:32.120Z", "method": "POST", "protocol": "HTTP/1.1", "response_code": 200,
        "path": "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke", "bytes_received": 1832,
        "bytes_sent": 5120, "duration": 812, "authority": "bedrock-runtime.us-west-2.amazonaws.com",
        "downstream_remote_address": "10.1.4.17:51234", "request_id": "r-1", "x_forwarded_proto": "https",
    }).decode())
    use = usage_of(envoy, catalog)
    assert use is not None
    assert (use.provider, use.product, use.category) == ("aws-bedrock", "Amazon Bedrock runtime", "cloud_ai_platform")
    assert use.model_id == "anthropic.claude-3-haiku-20240307-v1:0"
    assert use.principal == "10.1.4.17" and use.bytes_in == 1832 and use.bytes_out == 5120
    assert use.as_dict()["host"] == "bedrock-runtime.us-west-2.amazonaws.com"

    sni = usage_of(_zeek_ssl("chatgpt.com"), catalog)
    assert sni is not None and sni.product == "ChatGPT" and sni.model_id == ""
    assert usage_of(_zeek_ssl("www.example.com"), catalog) is None


def test_usage_of_cloud_runtime_calls(catalog: Catalog) -> None:
    use = usage_of(cloudtrail("Converse", params={"modelId": "amazon.nova-pro-v1:0"}), catalog)
    assert use is not None and use.provider == "aws-bedrock" and use.model_id == "amazon.nova-pro-v1:0"
    assert use.source_family == "cloudtrail" and use.action == "Converse"
    assert usage_of(cloudtrail("ListFoundationModels"), catalog) is None
    assert usage_of(cloudtrail("GetObject", "s3.amazonaws.com"), catalog) is None


@pytest.mark.parametrize(("url", "model"), [
    ("https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-text-express-v1/invoke", "amazon.titan-text-express-v1"),
    ("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.meta.llama3/converse-stream",
     "arn:aws:bedrock:us-east-1:1:inference-profile/us.meta.llama3"),
    ("https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent?key=[REDACTED:google:fp=0]",
     "gemini-1.5-flash"),
    (("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/"
     "gemini-2.0-flash:streamGenerateContent"), "gemini-2.0-flash"),
    ("https://contoso.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-06-01",
     "gpt-4o-prod"),
    ("https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/fraud-llm/invocations", "fraud-llm"),
    ("https://api.openai.com/v1/chat/completions", ""),
    ("", ""),
])
def test_model_from_url(url: str, model: str) -> None:
    assert model_from_url(url) == model

"""The AI service catalog: its data, its matcher, its validation errors and its CLI."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from streams.cli.catalog import catalog as catalog_command
from streams.enrich.catalog import (
    Catalog,
    ConfigFileError,
    catalog_from_data,
    catalog_from_text,
    default_catalog,
    hostname_of,
    load_catalog,
)
from tests.conftest import dataset

V2FLY = "v2fly-domain-list-community-ai"


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return default_catalog()


# --- the data ------------------------------------------------------------------------------------------

def test_bundled_catalog_is_broad(bundled: Catalog) -> None:
    rules = list(bundled.rules())
    assert len(rules) >= 150
    assert len(bundled.providers) >= 40
    categories = Counter(rule.category for rule in rules)
    for needed in ("model_api", "consumer_app", "model_hub", "ai_gateway", "coding_assistant", "cloud_ai_platform"):
        assert categories[needed] >= 3, f"too few {needed} patterns: {categories[needed]}"
    assert all(rule.source.startswith(("https://", "v2fly:data/", "litellm:")) for rule in rules)


def test_bundled_catalog_has_120_providers_each_pattern_with_its_source(bundled: Catalog) -> None:
    assert len(bundled.providers) >= 120, len(bundled.providers)
    kinds = Counter(rule.source.partition(":")[0] for rule in bundled.rules())
    assert set(kinds) == {"https", "v2fly", "litellm"}
    assert kinds["litellm"] >= 80
    for needed in ("anyscale", "baseten", "deepinfra", "novita", "nebius", "lambda", "hyperbolic", "modelscope",
                   "voyage", "jina", "reka", "together", "fireworks", "groq", "replicate", "huggingface"):
        assert needed in bundled.providers, needed


def test_litellm_sourced_patterns_are_the_literal_hosts_of_base_urls(bundled: Catalog) -> None:
    """A base URL names one host: a litellm-sourced rule is an exact, literal host, never a domain."""
    litellm_rules = [rule for rule in bundled.rules() if rule.source.startswith("litellm:")]
    assert litellm_rules
    for rule in litellm_rules:
        assert rule.kind == "full" and hostname_of(rule.pattern) == rule.pattern and "{" not in rule.pattern, rule
        version, _, path = rule.source.removeprefix("litellm:").partition(":")
        assert version == "1.110.2" and path.startswith("litellm/") and path.endswith((".py", ".json")), rule.source


def _v2fly_entries(list_name: str) -> tuple[set[str], set[str], set[str]]:
    """(domain entries, full entries, @ads entries) of one v2fly data list."""
    domains, fulls, ads = set(), set(), set()
    for line in dataset(V2FLY, "data", list_name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("include:", "regexp:", "keyword:")):
            continue
        value, *attrs = line.split()
        if "@ads" in attrs:
            ads.add(value.removeprefix("full:"))
        elif value.startswith("full:"):
            fulls.add(value.removeprefix("full:"))
        else:
            domains.add(value)
    return domains, fulls, ads


def test_v2fly_sourced_patterns_are_in_the_list_they_cite(bundled: Catalog) -> None:
    """A ``v2fly:data/<list>`` source is a claim; check each such pattern against that list."""
    checked = 0
    for rule in bundled.rules():
        if not rule.source.startswith("v2fly:data/") or "{" in rule.pattern:
            continue
        domains, fulls, _ = _v2fly_entries(rule.source.removeprefix("v2fly:data/"))
        listed = rule.pattern in domains or rule.pattern in fulls
        under_listed_domain = any(rule.pattern.endswith("." + domain) for domain in domains)
        assert listed or (rule.kind == "full" and under_listed_domain), (
            f"{rule.pattern} is not in v2fly list {rule.source}")
        checked += 1
    assert checked >= 150


def test_v2fly_tracker_entries_never_match(bundled: Catalog) -> None:
    trackers = set()
    for path in dataset(V2FLY, "data").iterdir():
        trackers |= _v2fly_entries(path.name)[2]
    flattened = [json.loads(line) for name in ("flattened_category-ai-not-cn.jsonl", "flattened_category-ai-cn.jsonl")
                 for line in dataset(V2FLY, name).read_text().splitlines() if line.strip()]
    trackers |= {item["value"] for item in flattened if "ads" in item["attrs"]}
    assert len(trackers) >= 5
    for host in trackers:
        assert bundled.match(host) is None, host
    for host in bundled.excluded:
        assert bundled.match(host) is None, host


# --- matching ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("host", "provider", "product"), [
    ("api.openai.com", "openai", "OpenAI API"),
    ("chatgpt.com", "openai", "ChatGPT"),
    ("files.oaiusercontent.com", "openai", "ChatGPT"),
    ("chatgpt-async-webps-prod-eastus-12.webpubsub.azure.com", "openai", "ChatGPT"),
    ("api.anthropic.com", "anthropic", "Claude API"),
    ("claude.ai", "anthropic", "Claude"),
    ("bedrock-runtime.us-east-1.amazonaws.com", "aws-bedrock", "Amazon Bedrock runtime"),
    ("bedrock-runtime-fips.us-gov-west-1.amazonaws.com", "aws-bedrock", "Amazon Bedrock runtime"),
    ("bedrock-runtime.eu-central-2.api.aws", "aws-bedrock", "Amazon Bedrock runtime"),
    ("vpce-0a1b2c3d-e4f5.bedrock-runtime.us-west-2.vpce.amazonaws.com", "aws-bedrock", "Amazon Bedrock runtime"),
    ("bedrock.ap-southeast-2.amazonaws.com", "aws-bedrock", "Amazon Bedrock control plane"),
    ("bedrock-fips.us-east-1.amazonaws.com", "aws-bedrock", "Amazon Bedrock control plane"),
    ("bedrock-agent.us-east-1.amazonaws.com", "aws-bedrock", "Amazon Bedrock Agents"),
    ("bedrock-agent-runtime.eu-west-1.amazonaws.com", "aws-bedrock", "Amazon Bedrock agent runtime"),
    ("bedrock-agent-runtime-fips.us-east-1.amazonaws.com", "aws-bedrock", "Amazon Bedrock agent runtime"),
    ("runtime.sagemaker.eu-west-1.amazonaws.com", "aws-sagemaker", "Amazon SageMaker runtime"),
    ("runtime-fips.sagemaker.us-gov-west-1.amazonaws.com", "aws-sagemaker", "Amazon SageMaker runtime"),
    ("my-resource.openai.azure.com", "azure-openai", "Azure OpenAI"),
    ("contoso-ai.services.ai.azure.com", "azure-ai-foundry", "Azure AI Foundry"),
    ("contoso-lang.cognitiveservices.azure.com", "azure-ai-services", "Azure AI services"),
    ("eastus.api.cognitive.microsoft.com", "azure-ai-services", "Azure AI services"),
    ("my-endpoint.swedencentral.inference.ml.azure.com", "azure-ml", "Azure Machine Learning"),
    ("us-central1-aiplatform.googleapis.com", "google-vertex-ai", "Vertex AI"),
    ("europe-west4-aiplatform.googleapis.com", "google-vertex-ai", "Vertex AI"),
    ("aiplatform.googleapis.com", "google-vertex-ai", "Vertex AI"),
    ("generativelanguage.googleapis.com", "google-gemini", "Gemini API"),
    ("gemini.google.com", "google-gemini", "Gemini"),
    ("api.githubcopilot.com", "github-copilot", "GitHub Copilot"),
    ("huggingface.co", "huggingface", "Hugging Face Hub"),
    ("cdn-lfs.huggingface.co", "huggingface", "Hugging Face Hub"),
    ("openrouter.ai", "openrouter", "OpenRouter"),
    ("gateway.ai.cloudflare.com", "cloudflare", "Cloudflare AI Gateway"),
    ("api.mistral.ai", "mistral", "Mistral API"),
    ("api2.cursor.sh", "cursor", "Cursor"),
    # from litellm's provider base URLs
    ("api.deepinfra.com", "deepinfra", "DeepInfra"),
    ("api.endpoints.anyscale.com", "anyscale", "Anyscale Endpoints"),
    ("inference.baseten.co", "baseten", "Baseten"),
    ("api.novita.ai", "novita", "Novita AI"),
    ("api.studio.nebius.ai", "nebius", "Nebius AI Studio"),
    ("api-inference.modelscope.cn", "modelscope", "ModelScope API-Inference"),
    ("api.voyageai.com", "voyage", "VoyageAI by MongoDB"),
    ("ark.cn-beijing.volces.com", "bytedance", "Volcengine Ark"),
    ("api.nova.amazon.com", "aws-amazon-nova", "Amazon Nova API"),
    ("api.v0.dev", "vercel", "v0"),
    # the exact API host wins over the v2fly domain around it
    ("api.xiaomimimo.com", "xiaomi", "Xiaomi MiMo API"),
    ("xiaomimimo.com", "xiaomi", "Xiaomi MiMo"),
    ("dui.ai", "aispeech", "AISpeech DUI"),
])
def test_matches_ai_hosts(bundled: Catalog, host: str, provider: str, product: str) -> None:
    found = bundled.match(host)
    assert found is not None, host
    assert (found.provider, found.product) == (provider, product)
    assert found.host == host


@pytest.mark.parametrize("written", [
    "API.OpenAI.COM", "api.openai.com.", "api.openai.com:443", "https://api.openai.com/v1/chat/completions",
    "HTTPS://sk-user@api.openai.com:8443/v1?x=1", "  api.openai.com\n", "api.openai.com/v1/models",
])
def test_accepts_case_trailing_dot_port_and_urls(bundled: Catalog, written: str) -> None:
    found = bundled.match(written)
    assert found is not None and found.product == "OpenAI API" and found.host == "api.openai.com"


@pytest.mark.parametrize("host", [
    # look-alikes
    "api.openai.com.evil.example", "notopenai.com", "openai.com-x.io", "openai.co", "api-openai.com",
    "api.openai.com.auth-check.site", "xn--api-openai.com", "claude.ai.example.net",
    # neighbours on the same parent domain
    "fonts.googleapis.com", "translate.googleapis.com", "www.googleapis.com", "s3.amazonaws.com",
    "ec2.us-east-1.amazonaws.com", "sts.amazonaws.com", "bedrock-runtime.amazonaws.com",
    "foo.generativelanguage.googleapis.com", "blob.core.windows.net", "azure.com", "amazonaws.com",
    # placeholders constrain their label
    "bedrock-runtime.not_a_region.amazonaws.com", "evil-aiplatform.googleapis.com",
    "a.b.openai.azure.com", "chatgpt-async-webps-staging-1.webpubsub.azure.com",
    # litellm-sourced rules are exact hosts: their neighbours and parents stay unmatched
    "deepinfra.com", "www.deepinfra.com", "x.api.deepinfra.com", "baseten.co", "app.baseten.co", "volces.com",
    "modelscope.cn", "sberbank.ru", "mongodb.com", "www.mongodb.com",
    # not hosts
    "", "   ", "10.1.2.3", "[2001:db8::1]:443", "2001:db8::1", "a..openai.com", "http://", "openai",
])
def test_does_not_match_lookalikes_neighbours_or_junk(bundled: Catalog, host: str) -> None:
    assert bundled.match(host) is None


def test_domain_rules_cover_subdomains_and_full_rules_only_their_host(bundled: Catalog) -> None:
    assert bundled.match("cdn.openai.com").rule == "openai.com"  # domain rule, any depth
    assert bundled.match("a.b.c.openai.com").rule == "openai.com"
    assert bundled.match("api.openai.com").rule == "api.openai.com"  # the more specific full rule wins
    assert bundled.match("generativelanguage.googleapis.com").rule_kind == "full"
    assert bundled.match("v1.generativelanguage.googleapis.com") is None


def test_most_specific_rule_wins_over_order() -> None:
    text = """
version: 1
placeholders: {region: '[a-z]+-[a-z]+-\\d'}
services:
  - {provider: a, product: Broad, category: model_api, source: "https://a.example/docs", domains: [example.com]}
  - {provider: b, product: Templated, category: model_api, source: "https://b.example/docs",
     hosts: ['api.{region}.example.com']}
  - {provider: c, product: Literal, category: model_api, source: "https://c.example/docs",
     hosts: ['api.us-east-1.example.com']}
"""
    compiled = catalog_from_text(text)
    assert compiled.match("api.us-east-1.example.com").product == "Literal"
    assert compiled.match("api.eu-west-1.example.com").product == "Templated"
    assert compiled.match("www.example.com").product == "Broad"
    assert compiled.match("x.api.us-east-1.example.com").product == "Broad"


def test_hostname_of() -> None:
    assert hostname_of("User@API.Example.com.:8443") == "api.example.com"
    assert hostname_of("https://[2001:db8::1]:443/") == "2001:db8::1"  # an IP: no label will match it
    assert hostname_of("https://x.example/%zz") == "x.example"
    assert hostname_of("a" * 64 + ".example.com") == ""
    assert hostname_of(None) == ""  # type: ignore[arg-type]


def test_lookup_cost_does_not_grow_with_the_catalog() -> None:
    """Matching walks labels, not entries: 20,000 services must not slow a lookup down measurably."""
    services = [{"provider": f"p{i}", "product": f"P{i}", "category": "model_api",
                 "source": f"https://p{i}.example/docs", "domains": [f"svc{i}.example.net"]} for i in range(20_000)]
    big = catalog_from_data({"version": 1, "services": services})
    assert len(big) == 20_000
    hosts = [f"host{i}.svc{i * 7 % 20_000}.example.net" for i in range(5_000)]
    started = time.perf_counter()
    for host in hosts:
        assert big._match(host) is not None  # the uncached path
    per_lookup = (time.perf_counter() - started) / len(hosts)
    # A scan over 20,000 entries costs milliseconds per host in Python; the trie, microseconds.
    assert per_lookup < 100e-6, f"{per_lookup * 1e6:.1f} us per lookup"


# --- validation ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "line", "field", "message"), [
    (("version: 1\nservices:\n  - provider: a\n    product: A\n    category: chatbot\n"
     "    source: https://a.example/\n    domains: [a.example]\n"), 5, "services.0.category", "Input should be"),
    (("version: 1\nservices:\n  - provider: a\n    product: A\n    category: model_api\n"
     "    domains: [a.example]\n"), 3, "services.0.source", "Field required"),
    (("version: 1\nservices:\n  - provider: a\n    product: A\n    category: model_api\n"
     "    source: somewhere\n    domains: [a.example]\n"), 6, "services.0.source", "should match pattern"),
    (("version: 1\nservices:\n  - provider: a\n    product: A\n    category: model_api\n"
     "    source: https://a.example/\n"), 3, "services.0", "at least one entry"),
    (("version: 1\nservices:\n  - provider: a\n    product: A\n    category: model_api\n"
     "    source: https://a.example/\n    hosts: ['{resource}.com']\n"), 3, "services.0", "whole TLD"),
    (("version: 1\nservices:\n  - provider: a\n    product: A\n    category: model_api\n"
     "    source: https://a.example/\n    hosts: ['{nope}.a.example']\n"), 3, "services.0", "known placeholders"),
    (("version: 1\nservices:\n  - provider: a\n    product: A\n    category: model_api\n"
     "    source: https://a.example/\n    domains: [a.example]\n"
     "  - provider: b\n    product: B\n    category: model_api\n"
     "    source: https://b.example/\n    domains: [a.example]\n"), 8, "services.1", "listed twice"),
    (("version: 1\nplaceholders: {bad: '('}\nservices:\n  - provider: a\n    product: A\n    category: model_api\n"
     "    source: https://a.example/\n    domains: [a.example]\n"), 2, "placeholders.bad", "invalid regular"),
    ("version: 1\nservices: [\n", 3, "", "invalid YAML"),
])
def test_invalid_catalogs_name_line_and_field(text: str, line: int, field: str, message: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        catalog_from_text(text, "cat.yaml")
    problem = caught.value.problems[0]
    assert (problem.origin, problem.line, problem.field) == ("cat.yaml", line, field), str(caught.value)
    assert message in problem.message
    assert str(caught.value).startswith(f"cat.yaml:{line}: ")


def test_missing_catalog_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_catalog(tmp_path / "nope.yaml")


# --- CLI -----------------------------------------------------------------------------------------------

def test_cli_match_prints_one_json_line_per_host() -> None:
    result = CliRunner().invoke(catalog_command, ["match", "api.anthropic.com", "fonts.googleapis.com",
                                                  "https://x.openai.azure.com/openai/deployments/d/chat"])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 3
    assert lines[0]["provider"] == "anthropic" and lines[0]["rule_kind"] == "full"
    assert lines[1] is None
    assert lines[2]["provider"] == "azure-openai" and lines[2]["host"] == "x.openai.azure.com"


def test_cli_list_formats(bundled: Catalog) -> None:
    as_json = CliRunner().invoke(catalog_command, ["list", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    rows = orjson.loads(as_json.output)
    assert len(rows) == len(bundled)
    assert {"provider", "product", "category", "kind", "pattern", "source"} <= rows[0].keys()
    table = CliRunner().invoke(catalog_command, ["list"])
    assert table.exit_code == 0 and "bedrock-runtime-fips.{aws_region}.amazonaws.com" in table.output


def test_cli_rejects_an_invalid_catalog_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nservices: []\n")
    result = CliRunner().invoke(catalog_command, ["match", "--catalog", str(path), "api.openai.com"])
    assert result.exit_code == 2
    assert f"{path}:2: services:" in result.output

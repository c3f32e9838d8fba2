"""scripts/catalog_candidates.py reads litellm's provider base URLs and v2fly's lists in their real formats
(fixtures under tests/samples/catalog/) and diffs the candidates against a catalog."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from streams.enrich.catalog import catalog_from_text
from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("catalog_candidates", REPO / "scripts" / "catalog_candidates.py")
candidates_script = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = candidates_script  # its dataclasses look their module up while being built
_spec.loader.exec_module(candidates_script)

SAMPLES = REPO / "tests" / "samples" / "catalog"
LITELLM = SAMPLES / "litellm"
V2FLY = SAMPLES / "v2fly"
PREFIX = "litellm:1.110.2:litellm/"

EXPECTED_LITELLM = {
    ("ai-gateway.helicone.ai", "helicone", "ai_gateway", PREFIX + "llms/openai_like/providers.json"),
    ("api.reka.ai", "reka", "model_api", PREFIX + "llms/openai_like/providers.json"),
    ("api.xiaomimimo.com", "xiaomi", "model_api", PREFIX + "llms/openai_like/providers.json"),
    ("api.perplexity.ai", "perplexity", "model_api", PREFIX + "litellm_core_utils/get_llm_provider_logic.py"),
    ("api.endpoints.anyscale.com", "anyscale", "model_api", PREFIX + "litellm_core_utils/get_llm_provider_logic.py"),
    ("api.deepinfra.com", "deepinfra", "model_api", PREFIX + "litellm_core_utils/get_llm_provider_logic.py"),
    ("api.together.ai", "together", "model_api", PREFIX + "litellm_core_utils/get_llm_provider_logic.py"),
    ("api.together.xyz", "together", "model_api", PREFIX + "litellm_core_utils/get_llm_provider_logic.py"),
    ("integrate.api.nvidia.com", "nvidia", "model_api", PREFIX + "litellm_core_utils/get_llm_provider_logic.py"),
    # provider -> default api_base branches (ollama's http://localhost default is no public endpoint)
    ("api.cerebras.ai", "cerebras", "model_api", PREFIX + "litellm_core_utils/get_llm_provider_logic.py"),
    ("ark.cn-beijing.volces.com", "bytedance", "model_api", PREFIX + "litellm_core_utils/get_llm_provider_logic.py"),
    # only the api_base assignment: the docstring link and the f-string are not base URLs
    ("api.fireworks.ai", "fireworks", "model_api", PREFIX + "llms/fireworks_ai/chat/transformation.py"),
    # *_API_BASE constants; DOCS_URL points at documentation and is left out
    ("api.voyageai.com", "voyage", "model_api", PREFIX + "llms/voyage/common_utils.py"),
    ("ai.mongodb.com", "voyage", "model_api", PREFIX + "llms/voyage/common_utils.py"),
}

SMALL_CATALOG = """
version: 1
services:
  - {provider: openai, product: OpenAI API, category: model_api, source: "https://a.example/", hosts: [api.openai.com]}
  - {provider: openai, product: ChatGPT, category: consumer_app, source: "v2fly:data/openai", domains: [chatgpt.com]}
  - {provider: groq, product: GroqCloud, category: model_api, source: "https://b.example/", domains: [groq.com]}
  - {provider: together, product: Together AI, category: model_api, source: "https://c.example/",
     domains: [together.xyz]}
  - {provider: some-reseller, product: Reseller, category: ai_gateway, source: "https://d.example/",
     hosts: [api.deepinfra.com]}
excluded:
  - {value: host.livekit.cloud, source: v2fly:data/openai, reason: shared infrastructure}
"""


def _as_rows(found: list) -> set[tuple[str, str, str, str]]:
    return {(item.host, item.provider, item.category, item.source) for item in found}


def test_litellm_candidates_from_a_package_folder() -> None:
    found = candidates_script.litellm_candidates(LITELLM)
    assert _as_rows(found) == EXPECTED_LITELLM
    assert len(found) == len(EXPECTED_LITELLM)  # no host listed twice for one provider
    products = {item.host: item.product for item in found}
    assert products["api.reka.ai"] == "Reka"  # litellm's display name without the "(`reka`)" suffix
    assert products["api.fireworks.ai"] == "Fireworks AI"
    assert products["ai-gateway.helicone.ai"] == "helicone"  # no display name: the provider's own name


def test_litellm_candidates_from_the_wheel_read_as_a_zip(tmp_path: Path) -> None:
    wheel = tmp_path / "litellm-1.110.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for file in LITELLM.rglob("*"):
            if file.is_file():
                archive.write(file, file.relative_to(LITELLM).as_posix())
    assert _as_rows(candidates_script.litellm_candidates(wheel)) == EXPECTED_LITELLM
    # the litellm/ folder itself is accepted too
    assert _as_rows(candidates_script.litellm_candidates(LITELLM / "litellm")) == EXPECTED_LITELLM


def test_litellm_path_that_is_not_litellm_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="neither a litellm wheel"):
        candidates_script.litellm_candidates(tmp_path)


def test_v2fly_candidates_keep_plain_and_full_entries_only() -> None:
    found, left_out = candidates_script.v2fly_candidates(V2FLY)
    assert _as_rows(found) == {
        ("h2o.ai", "", "consumer_app", "v2fly:data/category-ai-!cn"),  # a category list names no provider
        ("lmstudio.ai", "", "consumer_app", "v2fly:data/category-ai-!cn"),
        ("groq.com", "groq", "consumer_app", "v2fly:data/groq"),
        ("chatgpt.com", "openai", "consumer_app", "v2fly:data/openai"),
        ("openai.com", "openai", "consumer_app", "v2fly:data/openai"),
        ("openaiapi-site.azureedge.net", "openai", "consumer_app", "v2fly:data/openai"),
        ("chatgpt.livekit.cloud", "openai", "consumer_app", "v2fly:data/openai"),
        ("host.livekit.cloud", "openai", "consumer_app", "v2fly:data/openai"),
    }
    assert left_out == 3  # include:groq, the regexp line, the @ads tracker


def test_diff_sorts_candidates_into_new_provider_differs_and_covered() -> None:
    catalog = catalog_from_text(SMALL_CATALOG)
    litellm = candidates_script.litellm_candidates(LITELLM)
    v2fly, _ = candidates_script.v2fly_candidates(V2FLY)
    result = candidates_script.diff(litellm + v2fly, catalog)
    assert {(item.host, provider, rule) for item, provider, rule in result.provider_differs} == {
        ("api.deepinfra.com", "some-reseller", "api.deepinfra.com")}
    covered = {item.host for item in result.covered}
    assert covered == {"api.together.xyz", "groq.com", "chatgpt.com"}
    new = {item.host for item in result.new}
    assert "host.livekit.cloud" not in new | covered  # the catalog's excluded values are no candidates
    assert {"openai.com", "h2o.ai", "api.together.ai", "api.reka.ai", "chatgpt.livekit.cloud"} <= new
    assert len(new) + len(covered) + len(result.provider_differs) == len(litellm) + len(v2fly) - 1


def test_yaml_output_is_catalog_entries_that_validate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(SMALL_CATALOG)
    assert candidates_script.main(["--litellm", str(LITELLM), "--catalog", str(catalog_file), "--format", "yaml"]) == 0
    services = yaml.safe_load(capsys.readouterr().out)["services"]
    voyage = next(service for service in services if service["provider"] == "voyage")
    assert voyage == {"provider": "voyage", "product": "VoyageAI by MongoDB", "category": "model_api",
                      "source": PREFIX + "llms/voyage/common_utils.py", "hosts": ["ai.mongodb.com", "api.voyageai.com"]}
    # pasted into a catalog, the entries validate and match their hosts (litellm: is a recognised source)
    grown = catalog_from_text(yaml.safe_dump({"version": 1, "services": services}))
    assert grown.match("api.reka.ai").provider == "reka"


def test_text_output_names_each_section(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(SMALL_CATALOG)
    candidates_script.main(["--litellm", str(LITELLM), "--v2fly", str(V2FLY), "--catalog", str(catalog_file)])
    out = capsys.readouterr().out
    assert "# new: 17 hosts no catalog rule matches" in out
    assert "api.deepinfra.com\tdeepinfra\tsome-reseller\tapi.deepinfra.com\t" in out
    assert "# covered: 3; v2fly lines left out (regexp, keyword, include, @ads): 3" in out


@pytest.mark.parametrize(("name", "slug"), [
    ("fireworks_ai", "fireworks"), ("together_ai", "together"), ("nvidia_nim", "nvidia"), ("zai", "zhipu"),
    ("dashscope", "alibaba-qwen"), ("hostinger_router", "hostinger-router"), ("jetbrains-ai", "jetbrains"),
    ("bytedance", "bytedance"), ("nano-gpt", "nano-gpt"),
])
def test_provider_slug(name: str, slug: str) -> None:
    assert candidates_script.provider_slug(name) == slug

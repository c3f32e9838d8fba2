"""Candidate AI service catalog entries from maintained public lists, and their diff against catalog.yaml.

    python scripts/catalog_candidates.py --litellm PATH [--v2fly DIR] [--catalog FILE] [--format text|yaml|json]

``--litellm`` reads the provider base URLs that litellm (BerriAI/litellm, MIT) ships, from its wheel file or
an unpacked/installed ``litellm`` package folder. Get the wheel with pip's ordinary client and no install,
e.g. ``pip download litellm==1.110.2 --no-deps -d /tmp/litellm``; the script opens it as a zip and parses
its files as text (JSON and Python syntax trees), so nothing of litellm is imported or run. It reads
``llms/openai_like/providers.json`` (provider -> ``base_url``), the endpoint -> provider and provider ->
default ``api_base`` branches of ``litellm_core_utils/get_llm_provider_logic.py``, and base-URL constants (``api_base``, ``base_url``,
``API_BASE``, ...) in the provider modules ``llms/<provider>/``; display names come from
``provider_endpoints_support_backup.json``.

``--v2fly`` reads the ``data/`` lists of v2fly/domain-list-community (MIT), such as
``../shared/datasets/v2fly-domain-list-community-ai``: plain and ``full:`` entries; ``@ads`` entries,
``regexp:``, ``keyword:`` and ``include:`` lines are left out (counted).

Each candidate is a host with a provider slug, product, category guess and source (``litellm:<version>:<file>``
or ``v2fly:data/<list>``). The diff says, against the catalog, which candidate hosts no rule matches (new),
which a rule gives to another provider (provider differs), and how many are covered. ``--format yaml``
prints the new hosts as catalog service entries to review and paste. Nothing is written.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from streams.enrich.catalog import Catalog, hostname_of, load_catalog

# litellm's and v2fly's names for providers the catalog already knows under another slug.
ALIASES = {
    "ai21-chat": "ai21", "github": "github-models", "azure": "azure-openai", "azure-ai": "azure-ai-foundry",
    "bedrock": "aws-bedrock",
    "bedrock-mantle": "aws-bedrock", "bigmodel": "zhipu", "codestral": "mistral", "dashscope": "alibaba-qwen",
    "doubao": "bytedance", "dola": "bytedance", "trae": "bytedance", "gemini": "google-gemini",
    "google-deepmind": "google-gemini", "jetbrains-ai": "jetbrains", "meta-llama": "meta", "nvidia-nim": "nvidia",
    "sagemaker": "aws-sagemaker", "text-completion-codestral": "mistral", "vercel-ai-gateway": "vercel",
    "vertex-ai": "google-vertex-ai", "volcengine": "bytedance", "zai": "zhipu", "comfy-ui-launcher": "comfy", "chatgpt": "openai",
    "amazon-nova": "aws-amazon-nova", "xiaomi-mimo": "xiaomi", "v0": "vercel", "veniceai": "venice",
}
# Hosts in provider modules that are documentation, sign-in or example links, not an API base.
_NOT_AN_ENDPOINT = re.compile(r"(?:^|\.)(?:docs|www|console|learn|login|auth|status)\.|(?:^|\.)(?:litellm\.ai|"
                              r"github\.com|example\.com|cloud\.google\.com|your-[a-z0-9-]+\.com)$")
_HOSTNAME = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")
_BASE_URL_NAME = re.compile(r"(?i)api_?base|base_?url|api_?url|endpoint|^url$|_url$")
_GATEWAY_WORDS = re.compile(r"gateway|router|proxy")
_V2FLY_SUFFIX = re.compile(r"-ai-!cn$|-!cn$")


@dataclass(frozen=True, slots=True)
class Candidate:
    host: str
    provider: str  # '' when the list does not say (v2fly category lists)
    product: str
    category: str
    source: str


@dataclass(frozen=True, slots=True)
class Diff:
    new: list[Candidate]
    provider_differs: list[tuple[Candidate, str, str]]  # candidate, catalog provider, catalog rule
    covered: list[Candidate]


def provider_slug(name: str) -> str:
    """A catalog-style slug for a list's provider name (``fireworks_ai`` -> ``fireworks``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if slug in ALIASES:
        return ALIASES[slug]
    return ALIASES.get(slug.removesuffix("-ai"), slug.removesuffix("-ai") or slug)


def category_guess(provider: str, host: str) -> str:
    return "ai_gateway" if _GATEWAY_WORDS.search(f"{provider} {host}") else "model_api"


# --- litellm -----------------------------------------------------------------------------------------

class PackageFiles:
    """The text files of a litellm wheel or package folder, by their path inside the wheel (``litellm/...``)."""

    def __init__(self, path: Path) -> None:
        self._files: dict[str, Path | None] = {}
        self._zip: zipfile.ZipFile | None = None
        if path.is_file():
            self._zip = zipfile.ZipFile(path)
            self._files = dict.fromkeys(self._zip.namelist())
            return
        root = path.parent if (path / "llms").is_dir() else path
        if not (root / "litellm" / "llms").is_dir():
            raise SystemExit(f"{path}: neither a litellm wheel nor a folder holding litellm/llms/")
        for file in root.rglob("*"):
            relative = file.relative_to(root).as_posix()
            if file.is_file() and relative.startswith(("litellm/", "litellm-")):
                self._files[relative] = file

    def names(self) -> Iterator[str]:
        return iter(sorted(self._files))

    def read(self, name: str) -> str | None:
        if name not in self._files:
            return None
        if self._zip is not None:
            return self._zip.read(name).decode("utf-8")
        return self._files[name].read_text(encoding="utf-8")

    def version(self) -> str:
        for name in self.names():
            if re.fullmatch(r"litellm-[^/]+\.dist-info/METADATA", name):
                found = re.search(r"^Version: (\S+)", self.read(name) or "", re.MULTILINE)
                if found:
                    return found.group(1)
        return "unknown"


def _display_names(files: PackageFiles) -> dict[str, str]:
    text = files.read("litellm/provider_endpoints_support_backup.json")
    if text is None:
        return {}
    providers = json.loads(text).get("providers", {})
    return {name: re.sub(r"\s*\(`[^`]*`\)\s*$", "", entry.get("display_name") or name)
            for name, entry in providers.items()}


def _string_constants(node: ast.AST) -> Iterator[str]:
    """The whole string literals under ``node``; the pieces of an f-string are not URLs of their own."""
    if isinstance(node, ast.JoinedStr):
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    for child in ast.iter_child_nodes(node):
        yield from _string_constants(child)


def _equals(test: ast.expr, name: str) -> list[str]:
    """The strings in ``name == "..."``, or in an ``or``/``and`` of such comparisons; else []."""
    if isinstance(test, ast.BoolOp):
        return [value for part in test.values for value in _equals(part, name)]
    if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == name
            and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.comparators[0], ast.Constant) and isinstance(test.comparators[0].value, str)):
        return [test.comparators[0].value]
    return []


def provider_branches(source: str) -> Iterator[tuple[str, str]]:
    """(URL, provider) from the two kinds of branch in litellm's get_llm_provider_logic.py:
    ``if endpoint == "...": custom_llm_provider = "..."`` and
    ``elif custom_llm_provider == "...": api_base = api_base or ... or "https://..."``."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.If):
            continue
        endpoints = _equals(node.test, "endpoint")
        providers = [statement.value.value for statement in node.body
                     if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
                     and any(isinstance(target, ast.Name) and target.id == "custom_llm_provider"
                             for target in statement.targets)]
        if endpoints and providers:
            for endpoint in endpoints:
                yield endpoint, providers[0]
        named = _equals(node.test, "custom_llm_provider")
        if named:
            for statement in node.body:
                for url in base_url_constants(statement):
                    yield url, named[0]


def _target_name(target: ast.expr) -> str:
    if isinstance(target, ast.Name):
        return target.id
    return target.attr if isinstance(target, ast.Attribute) else ""


def base_url_constants(code: str | ast.AST) -> Iterator[str]:
    """https URLs assigned to, defaulted for or passed as a base-URL-like name in Python code."""
    for node in ast.walk(ast.parse(code) if isinstance(code, str) else code):
        pairs: list[tuple[str, ast.AST]] = []
        if isinstance(node, ast.Assign):
            pairs = [(_target_name(target), node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            pairs = [(_target_name(node.target), node.value)]
        elif isinstance(node, ast.arguments):
            positional = node.args[len(node.args) - len(node.defaults):]
            pairs = [(arg.arg, default) for arg, default in zip(positional, node.defaults)]
            pairs += [(arg.arg, default) for arg, default in zip(node.kwonlyargs, node.kw_defaults) if default]
        elif isinstance(node, ast.keyword) and node.arg:
            pairs = [(node.arg, node.value)]
        for name, value in pairs:
            if _BASE_URL_NAME.search(name):
                yield from (text for text in _string_constants(value) if text.strip().lower().startswith("https://"))


def litellm_candidates(path: Path) -> list[Candidate]:
    files = PackageFiles(path)
    version = files.version()
    names = _display_names(files)

    def candidate(url: str, provider: str, file: str) -> Candidate | None:
        host = hostname_of(url)
        if not _HOSTNAME.match(host) or _NOT_AN_ENDPOINT.search(host):
            return None
        slug = provider_slug(provider)
        return Candidate(host, slug, names.get(provider, provider), category_guess(slug, host),
                         f"litellm:{version}:{file}")

    found: list[Candidate | None] = []
    providers_file = "litellm/llms/openai_like/providers.json"
    for provider, entry in json.loads(files.read(providers_file) or "{}").items():
        if isinstance(entry, dict) and isinstance(entry.get("base_url"), str):
            found.append(candidate(entry["base_url"], provider, providers_file))
    logic_file = "litellm/litellm_core_utils/get_llm_provider_logic.py"
    for url, provider in provider_branches(files.read(logic_file) or ""):
        found.append(candidate(url, provider, logic_file))
    for name in files.names():
        parts = name.split("/")
        if len(parts) > 3 and parts[:2] == ["litellm", "llms"] and name.endswith(".py"):
            # deprecated_providers/ holds one module per provider; elsewhere the folder names the provider.
            provider = Path(name).stem if parts[2] == "deprecated_providers" else parts[2]
            for url in base_url_constants(files.read(name) or ""):
                found.append(candidate(url, provider, name))
    return _unique(found)


# --- v2fly -------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class V2flyEntry:
    value: str
    kind: str  # domain | full | regexp | keyword | include
    attrs: tuple[str, ...]


def v2fly_entries(text: str) -> Iterator[V2flyEntry]:
    """The lines of one v2fly data list (``[type:]value [@attr ...] [# comment]``)."""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        value, *attrs = line.split()
        kind, _, rest = value.partition(":") if ":" in value else ("domain", "", value)
        yield V2flyEntry(rest.lower(), kind, tuple(attr.removeprefix("@") for attr in attrs if attr.startswith("@")))


def v2fly_candidates(folder: Path) -> tuple[list[Candidate], int]:
    """Candidates from every list under ``folder/data`` (or ``folder``), and how many lines were left out."""
    data = folder / "data" if (folder / "data").is_dir() else folder
    found: list[Candidate | None] = []
    left_out = 0
    for path in sorted(data.iterdir()):
        provider = "" if path.name.startswith("category-") else provider_slug(_V2FLY_SUFFIX.sub("", path.name))
        for entry in v2fly_entries(path.read_text(encoding="utf-8")):
            if entry.kind not in ("domain", "full") or "ads" in entry.attrs:
                left_out += 1
                continue
            host = hostname_of(entry.value)
            product = provider.replace("-", " ").title() if provider else ""
            category = "model_api" if host.startswith("api.") else "consumer_app"
            found.append(Candidate(host, provider, product, category, f"v2fly:data/{path.name}") if host else None)
    return _unique(found), left_out


def _unique(candidates: Iterable[Candidate | None]) -> list[Candidate]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for item in candidates:
        if item is not None and (item.host, item.provider) not in seen:
            seen.add((item.host, item.provider))
            kept.append(item)
    return kept


# --- the diff ----------------------------------------------------------------------------------------

def diff(candidates: Iterable[Candidate], catalog: Catalog) -> Diff:
    excluded = set(catalog.excluded)
    new, differs, covered = [], [], []
    for item in candidates:
        if item.host in excluded:
            continue
        found = catalog.match(item.host)
        if found is None:
            new.append(item)
        elif item.provider and found.provider != item.provider:
            differs.append((item, found.provider, found.rule))
        else:
            covered.append(item)
    return Diff(new, differs, covered)


def as_services(candidates: Iterable[Candidate]) -> list[dict]:
    """New candidates as catalog ``services`` entries, one per provider, product, category and source."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for item in candidates:
        grouped.setdefault((item.provider or "?", item.product or "?", item.category, item.source), []).append(item.host)
    return [{"provider": provider, "product": product, "category": category, "source": source,
             "hosts": sorted(set(hosts))}
            for (provider, product, category, source), hosts in sorted(grouped.items())]


def render_text(result: Diff, left_out: int) -> str:
    lines = [f"# new: {len(result.new)} hosts no catalog rule matches"]
    lines += [f"{item.host}\t{item.provider or '?'}\t{item.category}\t{item.product}\t{item.source}"
              for item in sorted(result.new, key=lambda c: (c.provider, c.host))]
    lines.append(f"# provider differs: {len(result.provider_differs)} (host, candidate, catalog, rule, source)")
    lines += [f"{item.host}\t{item.provider}\t{provider}\t{rule}\t{item.source}"
              for item, provider, rule in sorted(result.provider_differs, key=lambda d: d[0].host)]
    lines.append(f"# covered: {len(result.covered)}; v2fly lines left out (regexp, keyword, include, @ads): {left_out}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--litellm", type=Path, help="a litellm wheel, or a folder holding litellm/llms/")
    parser.add_argument("--v2fly", type=Path, help="v2fly/domain-list-community, or its data/ folder")
    parser.add_argument("--catalog", type=Path, default=None, help="catalog.yaml (the bundled one by default)")
    parser.add_argument("--format", choices=("text", "yaml", "json"), default="text")
    args = parser.parse_args(argv)
    if not args.litellm and not args.v2fly:
        parser.error("give --litellm, --v2fly or both")
    candidates: list[Candidate] = []
    left_out = 0
    if args.litellm:
        candidates += litellm_candidates(args.litellm)
    if args.v2fly:
        found, left_out = v2fly_candidates(args.v2fly)
        candidates += found
    result = diff(candidates, load_catalog(args.catalog))
    if args.format == "yaml":
        sys.stdout.write(yaml.safe_dump({"services": as_services(result.new)}, sort_keys=False, width=120))
    elif args.format == "json":
        sys.stdout.write(json.dumps({
            "new": [asdict(item) for item in result.new],
            "provider_differs": [{**asdict(item), "catalog_provider": provider, "catalog_rule": rule}
                                 for item, provider, rule in result.provider_differs],
            "covered": len(result.covered), "v2fly_left_out": left_out}, indent=1) + "\n")
    else:
        sys.stdout.write(render_text(result, left_out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The AI service catalog: which hostnames belong to which AI provider, product and category.

The catalog is data (``catalog.yaml`` beside this file). It is validated once with pydantic and compiled
into a trie keyed by hostname labels read right to left (``com`` -> ``openai`` -> ``api``), so matching a
host costs one dictionary step per label whatever the size of the catalog. A label in a pattern can be a
literal, ``*`` (any one label) or a template with ``{placeholder}`` parts; templates are tried only at the
trie node where they sit, so lookup stays per label.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from streams.enrich.catalog.yaml_source import (
    ConfigFileError,
    ConfigProblem,
    LineIndex,
    load_yaml,
    problems_from_validation,
)

__all__ = [
    "Catalog", "CatalogMatch", "CatalogRule", "ConfigFileError", "catalog_from_data", "catalog_from_text",
    "default_catalog", "hostname_of", "load_catalog",
]

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.yaml")

Category = Literal[
    "model_api", "consumer_app", "model_hub", "ai_gateway", "coding_assistant", "cloud_ai_platform",
    "agent_platform", "media_generation", "llm_ops",
]
RuleKind = Literal["domain", "full"]


# --- the file format ---------------------------------------------------------------------------------

class _Service(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="provider slug, e.g. aws-bedrock")
    product: str = Field(min_length=1)
    category: Category
    source: str = Field(pattern=r"^(https://\S+|v2fly:data/\S+|litellm:\d[^:\s]*:litellm/\S+)$",
                        description="provider documentation URL, v2fly:data/<list> or litellm:<version>:<file>")
    domains: list[str] = Field(default_factory=list, description="match the domain and its subdomains")
    hosts: list[str] = Field(default_factory=list, description="match exactly these hosts")

    @model_validator(mode="after")
    def _has_patterns(self) -> _Service:
        if not self.domains and not self.hosts:
            raise ValueError("a service needs at least one entry in domains or hosts")
        return self


class _Excluded(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str
    source: str
    reason: str = Field(min_length=1)


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    placeholders: dict[str, str] = Field(default_factory=dict)
    services: list[_Service] = Field(min_length=1)
    excluded: list[_Excluded] = Field(default_factory=list)


# --- public records ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CatalogRule:
    """One catalog pattern and what it identifies."""

    pattern: str
    kind: RuleKind
    provider: str
    product: str
    category: Category
    source: str


@dataclass(frozen=True, slots=True)
class CatalogMatch:
    """A host that belongs to an AI service, and the rule that said so."""

    host: str
    provider: str
    product: str
    category: Category
    rule: str
    rule_kind: RuleKind
    source: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# --- compiled trie -----------------------------------------------------------------------------------

@dataclass(slots=True)
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    templated: dict[str, tuple[re.Pattern[str], _Node]] = field(default_factory=dict)
    full: CatalogRule | None = None
    domain: CatalogRule | None = None


_LITERAL_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$")
_TEMPLATE_PART = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# (depth, exact-host rule, literal labels): a longer suffix wins, then a full rule over a domain rule,
# then the path with more literal labels over one through placeholders.
_Score = tuple[int, int, int]


class Catalog:
    """A compiled catalog. Build with ``load_catalog``/``default_catalog``; thread-safe to share."""

    def __init__(self, services: list[_Service], placeholders: dict[str, str], excluded: list[str],
                 origin: str = "<catalog>") -> None:
        self._root = _Node()
        self._rules: list[CatalogRule] = []
        self.excluded: tuple[str, ...] = tuple(excluded)
        problems: list[ConfigProblem] = []
        compiled_placeholders = _compile_placeholders(placeholders, origin, problems)
        for position, service in enumerate(services):
            for kind, patterns in (("domain", service.domains), ("full", service.hosts)):
                for pattern in patterns:
                    rule = CatalogRule(pattern, kind, service.provider, service.product, service.category,
                                       service.source)
                    problem = self._insert(rule, compiled_placeholders)
                    if problem:
                        problems.append(ConfigProblem(origin, 0, f"services.{position}", problem))
                    else:
                        self._rules.append(rule)
        if problems:
            raise ConfigFileError(problems)
        # Egress logs repeat the same few thousand hosts; a bounded cache skips even the trie walk.
        self._cached_match = lru_cache(maxsize=65_536)(self._match)

    # -- building --

    def _insert(self, rule: CatalogRule, placeholders: dict[str, str]) -> str:
        """Add one rule to the trie; return a problem description, or '' when it went in."""
        labels = rule.pattern.split(".")
        if len(labels) < 2 or any(not label for label in labels):
            return f"{rule.pattern!r}: a pattern needs at least two non-empty labels"
        if not all(_LITERAL_LABEL.match(label) for label in labels[-2:]):
            return f"{rule.pattern!r}: the last two labels must be literal, so no pattern claims a whole TLD"
        node = self._root
        for label in reversed(labels):
            if _LITERAL_LABEL.match(label):
                node = node.literal.setdefault(label, _Node())
                continue
            regex = _label_regex(label, placeholders)
            if regex is None:
                return (f"{rule.pattern!r}: label {label!r} is neither literal, '*', "
                        f"nor a template of known placeholders")
            node = node.templated.setdefault(label, (re.compile(regex), _Node()))[1]
        existing = node.domain if rule.kind == "domain" else node.full
        if existing is not None:
            return (f"{rule.pattern!r} is listed twice ({existing.provider}/{existing.product} "
                    f"and {rule.provider}/{rule.product})")
        if rule.kind == "domain":
            node.domain = rule
        else:
            node.full = rule
        return ""

    # -- lookup --

    def _match(self, host_or_url: str) -> CatalogMatch | None:
        host = hostname_of(host_or_url)
        if not host:
            return None
        labels = host.split(".")
        labels.reverse()
        found = _best(self._root, labels, 0, 0)
        if found is None:
            return None
        rule = found[1]
        return CatalogMatch(host, rule.provider, rule.product, rule.category, rule.pattern, rule.kind, rule.source)

    def match(self, host_or_url: str) -> CatalogMatch | None:
        """The AI service ``host_or_url`` belongs to, or None. Accepts a host, host:port, or a URL."""
        return self._cached_match(host_or_url)

    # -- inspection --

    def rules(self) -> Iterator[CatalogRule]:
        return iter(self._rules)

    @property
    def providers(self) -> frozenset[str]:
        return frozenset(rule.provider for rule in self._rules)

    def __len__(self) -> int:
        return len(self._rules)


def _best(node: _Node, labels: list[str], depth: int, literals: int) -> tuple[_Score, CatalogRule] | None:
    best: tuple[_Score, CatalogRule] | None = None
    if node.domain is not None and depth:
        best = ((depth, 0, literals), node.domain)
    if depth == len(labels):
        if node.full is not None:
            best = ((depth, 1, literals), node.full)
        return best
    label = labels[depth]
    candidates = []
    child = node.literal.get(label)
    if child is not None:
        candidates.append(_best(child, labels, depth + 1, literals + 1))
    for regex, templated_child in node.templated.values():
        if regex.fullmatch(label):
            candidates.append(_best(templated_child, labels, depth + 1, literals))
    for candidate in candidates:
        if candidate is not None and (best is None or candidate[0] > best[0]):
            best = candidate
    return best


def _compile_placeholders(placeholders: dict[str, str], origin: str,
                          problems: list[ConfigProblem]) -> dict[str, str]:
    compiled = {}
    for name, regex in placeholders.items():
        try:
            re.compile(regex)
        except re.error as error:
            problems.append(ConfigProblem(origin, 0, f"placeholders.{name}",
                                          f"invalid regular expression: {error}"))
            continue
        compiled[name] = regex
    return compiled


def _label_regex(label: str, placeholders: dict[str, str]) -> str | None:
    """A regular expression for one templated label, or None if it names an unknown placeholder."""
    if label == "*":
        return r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
    parts = []
    position = 0
    for found in _TEMPLATE_PART.finditer(label):
        literal = label[position:found.start()]
        if literal and not re.fullmatch(r"[a-z0-9_-]+", literal):
            return None
        name = found.group(1)
        if name not in placeholders:
            return None
        parts.append(re.escape(literal))
        parts.append(f"(?:{placeholders[name]})")
        position = found.end()
    tail = label[position:]
    if not parts or (tail and not re.fullmatch(r"[a-z0-9_-]+", tail)):
        return None
    parts.append(re.escape(tail))
    return "".join(parts)


def hostname_of(host_or_url: str) -> str:
    """The lower-case hostname in a host, ``host:port``, ``user@host`` or URL; '' when there is none.

    A trailing dot (fully-qualified form) is dropped; IP literals and malformed names give ''.
    """
    text = host_or_url.strip().lower() if isinstance(host_or_url, str) else ""
    if not text:
        return ""
    if "://" in text:
        try:
            host = urlsplit(text).hostname or ""
        except ValueError:
            return ""
    else:
        host = re.split(r"[/?#]", text, maxsplit=1)[0].rpartition("@")[2]
        if host.startswith("[") or host.count(":") > 1:  # IPv6 literal
            return ""
        host = host.partition(":")[0]
    host = host.removesuffix(".")
    if not host or len(host) > 253:
        return ""
    labels = host.split(".")
    if any(not label or len(label) > 63 for label in labels):
        return ""
    return host


# --- loading -----------------------------------------------------------------------------------------

def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load, validate and compile a catalog file (the bundled one by default).

    Raises ``ConfigFileError`` naming the file, line and field of every problem.
    """
    source = Path(path) if path is not None else DEFAULT_CATALOG_PATH
    origin = str(source)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigFileError([ConfigProblem(origin, 0, "", f"cannot read: {error.strerror or error}")]) from None
    return catalog_from_text(text, origin)


def catalog_from_text(text: str, origin: str = "<catalog>") -> Catalog:
    """A catalog from YAML text; problems name ``origin``, line and field."""
    data, index = load_yaml(text, origin)
    return catalog_from_data(data, origin, index)


def catalog_from_data(data: Any, origin: str = "<catalog>", index: LineIndex | None = None) -> Catalog:
    """A catalog from already-parsed data (a mapping shaped like catalog.yaml)."""
    index = index or LineIndex({})
    try:
        parsed = _CatalogFile.model_validate(data)
    except ValidationError as error:
        raise ConfigFileError(problems_from_validation(error, index, origin)) from None
    try:
        return Catalog(list(parsed.services), dict(parsed.placeholders),
                       [item.value for item in parsed.excluded], origin)
    except ConfigFileError as error:
        # Give compile problems (bad pattern, duplicate) the line of the service they belong to.
        raise ConfigFileError([
            ConfigProblem(p.origin, p.line or index.line_of(_path_of(p.field)), p.field, p.message)
            for p in error.problems
        ]) from None


def _path_of(dotted: str) -> tuple[str | int, ...]:
    return tuple(int(part) if part.isdigit() else part for part in dotted.split(".")) if dotted else ()


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The bundled catalog, loaded and compiled once per process."""
    return load_catalog()

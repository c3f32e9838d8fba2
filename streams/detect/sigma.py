"""Sigma rules for CloudTrail, run by the same engine as the Python rules.

Each Sigma rule with ``logsource: {product: aws, service: cloudtrail}`` is parsed with pySigma and
compiled into a matcher over the raw CloudTrail record: field names are dotted paths into it
(``eventName``, ``userIdentity.type``, ``requestParameters.bucketName``; lists along a path match
if any element does). Matching follows Sigma: strings compare case-insensitively unless ``cased``,
``*``/``?`` are wildcards, a list of values is OR (AND with ``all``), keys of one map are AND.

Supported modifiers: ``contains startswith endswith all re i m s exists cased cidr gt gte lt lte neq``.
Anything else -- correlations and aggregations, ``timeframe``, keyword (field-less) searches,
``base64``/``base64offset``/``utf16``/``wide``/``windash``/``fieldref``/``expand`` and timestamp
modifiers, a logsource other than CloudTrail -- raises :class:`SigmaUnsupportedError`, whose message
names the rule (title, id), its file and the construct.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

try:
    from sigma.collection import SigmaCollection
    from sigma.conditions import (
        ConditionAND,
        ConditionFieldEqualsValueExpression,
        ConditionNOT,
        ConditionOR,
        ConditionValueExpression,
    )
    from sigma.exceptions import SigmaError
    from sigma.modifiers import modifier_mapping
    from sigma.rule import SigmaRule
    from sigma.types import (
        CompareOperators,
        SigmaBool,
        SigmaCasedString,
        SigmaCIDRExpression,
        SigmaCompareExpression,
        SigmaExists,
        SigmaNull,
        SigmaNumber,
        SigmaRegularExpression,
        SigmaRegularExpressionFlag,
        SigmaString,
    )
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError("Sigma support needs pySigma 2.x: pip install 'pySigma>=2,<3'") from missing

from streams.detect.base import Rule, RuleLoadError, RuleMeta
from streams.normalize.cloudtrail_record import ct

__all__ = ["SUPPORTED_MODIFIERS", "SigmaUnsupportedError", "load_sigma_rules", "sigma_rules_from_yaml"]

SUPPORTED_MODIFIERS = frozenset({
    "contains", "startswith", "endswith", "all", "re", "i", "ignorecase", "m", "multiline", "s", "dotall",
    "exists", "cased", "cidr", "gt", "gte", "lt", "lte", "neq",
})
_LEVELS = {"informational", "low", "medium", "high", "critical"}
_ATTACK_TAG = re.compile(r"^t\d{4}(\.\d{3})?$")
_ATLAS_TAG = re.compile(r"^aml\.t\d{4}(\.\d{3})?$")

Matcher = Callable[[dict], bool]


class SigmaUnsupportedError(RuleLoadError):
    """A Sigma rule this engine cannot run faithfully, or cannot read at all."""

    def __init__(self, title: str, rule_id: str, path: str, construct: str) -> None:
        self.title, self.rule_id, self.path, self.construct = title, rule_id, path, construct
        super().__init__(f"Sigma rule {title!r} (id {rule_id or 'none'}) in {path}: {construct}")


def load_sigma_rules(paths: Iterable[str | Path]) -> list[Rule]:
    """Rules from Sigma files and directories (``*.yml``/``*.yaml``, recursively), in path order."""
    rules: list[Rule] = []
    for path in _files(paths):
        rules.extend(sigma_rules_from_yaml(path.read_text(encoding="utf-8"), str(path)))
    return rules


def sigma_rules_from_yaml(text: str, path: str = "<string>") -> list[Rule]:
    """Every rule in one Sigma YAML text (one or more documents)."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        raise SigmaUnsupportedError("?", "", path, f"not valid YAML ({error})") from error
    return [_rule_from_document(document, path) for document in documents]


def _files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for item in map(Path, paths):
        if item.is_dir():
            yield from sorted(p for p in item.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        else:
            yield item


# --- checks on the document, before pySigma ---------------------------------------------------------

def _rule_from_document(document: Any, path: str) -> Rule:
    if not isinstance(document, dict):
        raise SigmaUnsupportedError("?", "", path, "a YAML document that is not a mapping")
    title, rule_id = str(document.get("title", "?")), str(document.get("id", ""))

    def unsupported(construct: str) -> SigmaUnsupportedError:
        return SigmaUnsupportedError(title, rule_id, path, construct)

    if "correlation" in document:
        raise unsupported("correlation rules (aggregation over several events) are not supported")
    if "filter" in document:
        raise unsupported("Sigma filters are not supported")
    if "action" in document:
        raise unsupported(f"collection action {document['action']!r} is not supported")
    logsource = document.get("logsource") or {}
    if not isinstance(logsource, dict) or (logsource.get("product"), logsource.get("service")) != ("aws", "cloudtrail"):
        found = logsource if isinstance(logsource, dict) else {}
        raise unsupported(f"logsource product={found.get('product')!r} service={found.get('service')!r} "
                          "(only product: aws, service: cloudtrail is supported)")
    detection = document.get("detection")
    if not isinstance(detection, dict):
        raise unsupported("no detection section")
    if "timeframe" in detection:
        raise unsupported("'timeframe' (aggregation over time) is not supported")
    conditions = detection.get("condition")
    for condition in conditions if isinstance(conditions, list) else [conditions]:
        if isinstance(condition, str) and "|" in condition:
            raise unsupported(f"aggregation in condition {condition!r} is not supported")
    for name, body in detection.items():
        if name != "condition":
            _check_detection(name, body, unsupported)

    try:
        collection = SigmaCollection.from_dicts([document])
        sigma_rule = collection.rules[0]
        if not isinstance(sigma_rule, SigmaRule):
            raise unsupported(f"{type(sigma_rule).__name__} is not a detection rule")
        matcher = _compile_rule(sigma_rule, unsupported)
    except SigmaError as error:
        raise unsupported(f"pySigma rejected it: {error}") from error
    return _as_rule(sigma_rule, matcher, path, title, rule_id)


def _check_detection(name: str, body: Any, unsupported: Callable[[str], SigmaUnsupportedError]) -> None:
    maps = body if isinstance(body, list) else [body]
    for item in maps:
        if not isinstance(item, dict):
            raise unsupported(f"keyword (field-less) search in detection {name!r} is not supported")
        for key in item:
            field, *modifiers = str(key).split("|")
            if not field:
                raise unsupported(f"keyword (field-less) search in detection {name!r} is not supported")
            for modifier in modifiers:
                if modifier not in modifier_mapping:
                    raise unsupported(f"unknown modifier {modifier!r} on field {field!r}")
                if modifier not in SUPPORTED_MODIFIERS:
                    raise unsupported(f"modifier {modifier!r} on field {field!r} is not supported")


# --- compiling the condition tree into a matcher ---------------------------------------------------

def _compile_rule(rule: SigmaRule, unsupported: Callable[[str], SigmaUnsupportedError]) -> Matcher:
    matchers = [_compile(condition.parsed, unsupported) for condition in rule.detection.parsed_condition]
    if len(matchers) == 1:
        return matchers[0]
    return lambda record: any(match(record) for match in matchers)


def _compile(node: Any, unsupported: Callable[[str], SigmaUnsupportedError]) -> Matcher:
    if isinstance(node, ConditionAND):
        parts = [_compile(arg, unsupported) for arg in node.args]
        return lambda record: all(part(record) for part in parts)
    if isinstance(node, ConditionOR):
        parts = [_compile(arg, unsupported) for arg in node.args]
        return lambda record: any(part(record) for part in parts)
    if isinstance(node, ConditionNOT):
        inner = _compile(node.args[0], unsupported)
        return lambda record: not inner(record)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        path = tuple(node.field.split("."))
        test = _value_test(node.value, unsupported)
        return lambda record: test(_values(record, path))
    if isinstance(node, ConditionValueExpression):
        raise unsupported("keyword (field-less) search is not supported")
    raise unsupported(f"condition element {type(node).__name__} is not supported")


def _values(record: Any, path: tuple[str, ...]) -> list[Any]:
    """Values at a dotted path; a list on the way fans out (any element may match)."""
    nodes = [record]
    for key in path:
        next_nodes: list[Any] = []
        for node in nodes:
            if isinstance(node, dict) and key in node:
                value = node[key]
                next_nodes.extend(value if isinstance(value, list) else [value])
        nodes = next_nodes
    return nodes


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b, CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b, CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}
_REGEX_FLAGS = {SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
                SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE, SigmaRegularExpressionFlag.DOTALL: re.DOTALL}


def _value_test(value: Any, unsupported: Callable[[str], SigmaUnsupportedError]) -> Callable[[list[Any]], bool]:
    """A test over all values found at the field's path."""
    if isinstance(value, SigmaNull):
        return lambda found: all(item is None for item in found)
    if isinstance(value, SigmaExists):
        wanted = bool(value.exists)
        return lambda found: any(item is not None for item in found) == wanted
    one = _scalar_test(value, unsupported)
    return lambda found: any(one(item) for item in found)


def _scalar_test(value: Any, unsupported: Callable[[str], SigmaUnsupportedError]) -> Callable[[Any], bool]:
    if isinstance(value, SigmaString):  # also SigmaCasedString
        pattern = value.to_regex().regexp.to_plain()
        flags = re.DOTALL | (0 if isinstance(value, SigmaCasedString) else re.IGNORECASE)
        compiled = re.compile(pattern, flags)
        return lambda item: (text := _as_text(item)) is not None and compiled.fullmatch(text) is not None
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= _REGEX_FLAGS[flag]
        compiled = re.compile(value.regexp.to_plain_regex(), flags)
        return lambda item: (text := _as_text(item)) is not None and compiled.search(text) is not None
    if isinstance(value, SigmaBool):
        return lambda item: item is value.boolean or (isinstance(item, str) and item.lower() == str(value.boolean).lower())
    if isinstance(value, SigmaNumber):
        number = float(value.number)
        return lambda item: _as_number(item) == number
    if isinstance(value, SigmaCompareExpression):
        bound, compare = float(value.number.number), _COMPARE[value.op]
        return lambda item: (n := _as_number(item)) is not None and compare(n, bound)
    if isinstance(value, SigmaCIDRExpression):
        network = value.network
        return lambda item: _in_network(item, network)
    raise unsupported(f"value type {type(value).__name__} is not supported")


def _in_network(item: Any, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    if not isinstance(item, str):
        return False
    try:
        return ipaddress.ip_address(item) in network
    except ValueError:
        return False


# --- the Rule object ---------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:70] or "rule"


def _as_rule(sigma_rule: SigmaRule, matcher: Matcher, path: str, title: str, rule_id: str) -> Rule:
    tags = [(tag.namespace.lower(), tag.name.lower()) for tag in sigma_rule.tags]
    level = str(sigma_rule.level).lower() if sigma_rule.level else "medium"
    description = (sigma_rule.description or "").strip()
    false_positives = "; ".join(str(item) for item in sigma_rule.falsepositives)
    try:
        meta = RuleMeta(
            id="sigma_" + _slug(sigma_rule.name or title),
            title=title[:120] if len(title) >= 5 else f"Sigma: {title}",
            severity=level if level in _LEVELS else "medium",  # type: ignore[arg-type]
            status="stable" if str(sigma_rule.status).lower() == "stable" else "experimental",
            description=description if len(description) >= 10 else f"Sigma rule: {title}",
            attack=tuple(dict.fromkeys(name.upper() for ns, name in tags if ns == "attack" and _ATTACK_TAG.match(name))),
            atlas=tuple(dict.fromkeys(name.upper() for ns, name in tags if ns == "atlas" and _ATLAS_TAG.match(name))),
            references=tuple(ref for ref in sigma_rule.references if str(ref).startswith("https://")),
            runbook=f"Sigma rule from {path}. Review the matching CloudTrail record."
                    + (f" Known false positives: {false_positives}." if false_positives else ""),
            remediation=str(sigma_rule.custom_attributes.get("remediation")
                            or "Follow the rule's description; revert the change if it was not approved."),
            source=path,
        )
    except ValueError as error:
        raise SigmaUnsupportedError(title, rule_id, path, f"metadata does not validate: {error}") from error
    context = {"sigma_id": rule_id, "sigma_file": path}
    return Rule(
        meta=meta,
        match_fn=lambda event, _ctx: matcher(ct(event).record),
        context_fn=lambda _event, _ctx: dict(context),
        origin=path,
    )

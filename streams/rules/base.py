"""What a rule is: validated metadata, a match function, optional finding helpers, and examples.

A rule module (one per file, file name = rule id) defines:

- ``META``: a :class:`RuleMeta` (validated when the module is imported);
- ``rule(event) -> bool`` or, for rules that remember, ``rule(event, state) -> bool``;
- optionally ``title``, ``dedup_key`` and ``context``, each taking ``(event)`` or ``(event, state)``;
- ``EXAMPLES``: :class:`Example` objects with the expected verdict.

:func:`rule_from_module` turns such a module into a :class:`Rule`; Sigma rules become the same object.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from streams.detections.finding import Finding, Severity

State = MutableMapping[str, dict]
"""Where stateful rules keep what they remember: a dict offline, a Faust table in the stream."""

AttackId = Annotated[str, StringConstraints(pattern=r"^T\d{4}(\.\d{3})?$")]
AtlasId = Annotated[str, StringConstraints(pattern=r"^AML\.T\d{4}(\.\d{3})?$")]
OwaspLlmId = Annotated[str, StringConstraints(pattern=r"^LLM(0[1-9]|10):2025$")]
NistAiRmfId = Annotated[str, StringConstraints(pattern=r"^(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+$")]
Url = Annotated[str, StringConstraints(pattern=r"^https://\S+$")]


class RuleMeta(BaseModel):
    """A rule's metadata. Construction validates it, so a malformed rule fails at import."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,79}$")]
    title: Annotated[str, StringConstraints(min_length=5, max_length=120)]
    severity: Severity
    status: Literal["experimental", "stable"]
    description: Annotated[str, StringConstraints(min_length=10)]
    attack: tuple[AttackId, ...] = ()
    """MITRE ATT&CK technique ids."""
    atlas: tuple[AtlasId, ...] = ()
    """MITRE ATLAS technique ids."""
    owasp_llm: tuple[OwaspLlmId, ...] = ()
    """OWASP Top 10 for LLM Applications (2025) entries, where one applies."""
    nist_ai_rmf: tuple[NistAiRmfId, ...] = ()
    """NIST AI RMF subcategories the rule gives evidence for, where one applies."""
    references: tuple[Url, ...] = ()
    runbook: Annotated[str, StringConstraints(min_length=10)]
    """What the analyst checks first when it fires."""
    remediation: Annotated[str, StringConstraints(min_length=10)]
    provider: str = ""
    """AI provider the rule is about (``aws-bedrock``, ``aws-sagemaker``), '' when none in particular."""
    source: str = ""
    """Where the rule came from when it is not a Python module (a Sigma file)."""
    families: tuple[str, ...] = Field(default=("cloudtrail",), min_length=1)
    """Normalized-event source families the rule reads."""

    @model_validator(mode="after")
    def _no_duplicate_ids(self) -> RuleMeta:
        for name in ("attack", "atlas", "owasp_llm", "nist_ai_rmf"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} lists an id twice: {values}")
        return self

    @property
    def techniques(self) -> tuple[str, ...]:
        return self.attack + self.atlas

    @property
    def tags(self) -> tuple[str, ...]:
        return self.attack + self.atlas + self.owasp_llm + self.nist_ai_rmf


@dataclass(frozen=True, slots=True)
class Example:
    """Events fed in order to a fresh state; ``expect`` is the verdict on the last one."""

    name: str
    expect: bool
    events: tuple[dict, ...]

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError(f"example {self.name!r} has no events")


def positive(name: str, *events: dict) -> Example:
    return Example(name, True, events)


def negative(name: str, *events: dict) -> Example:
    return Example(name, False, events)


EventFn = Callable[[dict, State], Any]


@dataclass(frozen=True, slots=True)
class Rule:
    meta: RuleMeta
    match_fn: EventFn
    stateful: bool = False
    title_fn: EventFn | None = None
    dedup_key_fn: EventFn | None = None
    context_fn: EventFn | None = None
    examples: tuple[Example, ...] = ()
    module_name: str = ""
    """The Python module's short name ('' for Sigma rules): must equal ``meta.id``."""
    origin: str = ""
    """File the rule was read from."""

    @property
    def id(self) -> str:
        return self.meta.id

    def applies_to(self, event: dict) -> bool:
        return event.get("source_family") in self.meta.families

    def matches(self, event: dict, state: State) -> bool:
        return self.applies_to(event) and bool(self.match_fn(event, state))

    def finding(self, event: dict, state: State) -> Finding:
        meta = self.meta
        context: dict[str, Any] = dict(self.context_fn(event, state)) if self.context_fn else {}
        context.setdefault("runbook", meta.runbook)
        if meta.owasp_llm or meta.nist_ai_rmf:
            context.setdefault("frameworks", {"owasp_llm": list(meta.owasp_llm),
                                              "nist_ai_rmf": list(meta.nist_ai_rmf)})
        return Finding(
            detection=meta.id,
            title=str(self.title_fn(event, state)) if self.title_fn else meta.title,
            severity=meta.severity,
            principal=event.get("actor") or event.get("src_ip") or "",
            event=event,
            description=meta.description,
            remediation=meta.remediation,
            provider=meta.provider,
            context=context,
            techniques=meta.techniques,
            dedup_key=str(self.dedup_key_fn(event, state)) if self.dedup_key_fn else "",
        )

    def verdicts(self, example: Example) -> bool:
        """Run one example through a fresh state; the verdict on its last event."""
        state: dict[str, dict] = {}
        verdict = False
        for event in example.events:
            verdict = self.matches(event, state)
        return verdict


class RuleLoadError(ValueError):
    """A rule module or file that cannot become a rule; the message names the rule and the problem."""


def _takes_state(fn: Callable[..., Any], where: str) -> bool:
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(params) not in (1, 2):
        raise RuleLoadError(f"{where} must take (event) or (event, state), not {len(params)} arguments")
    return len(params) == 2


def _with_state(fn: Callable[..., Any] | None, where: str) -> EventFn | None:
    if fn is None:
        return None
    if _takes_state(fn, where):
        return fn
    return lambda event, _state: fn(event)


def rule_from_module(module: ModuleType) -> Rule:
    """The rule a module defines; raises :class:`RuleLoadError` naming the module and what is wrong."""
    short_name = module.__name__.rsplit(".", 1)[-1]
    where = f"rule module {module.__name__}"
    meta = getattr(module, "META", None)
    match = getattr(module, "rule", None)
    if not isinstance(meta, RuleMeta):
        raise RuleLoadError(f"{where} has no META = RuleMeta(...)")
    if not callable(match):
        raise RuleLoadError(f"{where} has no rule(event) function")
    if meta.id != short_name:
        raise RuleLoadError(f"{where}: META.id {meta.id!r} differs from the file name {short_name!r}")
    examples = tuple(getattr(module, "EXAMPLES", ()))
    if not all(isinstance(example, Example) for example in examples):
        raise RuleLoadError(f"{where}: EXAMPLES must hold Example objects")
    return Rule(
        meta=meta,
        match_fn=_with_state(match, f"{where}: rule"),  # type: ignore[arg-type]
        stateful=_takes_state(match, f"{where}: rule"),
        title_fn=_with_state(getattr(module, "title", None), f"{where}: title"),
        dedup_key_fn=_with_state(getattr(module, "dedup_key", None), f"{where}: dedup_key"),
        context_fn=_with_state(getattr(module, "context", None), f"{where}: context"),
        examples=examples,
        module_name=short_name,
        origin=getattr(module, "__file__", "") or "",
    )

"""What a rule is: validated metadata, a match function, optional finding helpers, and examples.

A rule module (one per file in ``streams.detect.rules``, file name = rule id) defines:

- ``META``: a :class:`RuleMeta` (validated when the module is imported);
- ``rule(event)``, or ``rule(event, ctx)`` for a rule that needs its memory, the AI service catalog or
  the sanctioned-use policy: they come in one :class:`RuleContext` argument, never by import. It
  returns a verdict (``bool``), or, for findings whose title, principal, provider, key or context
  depend on what matched, a :class:`Hit` (or a list of them: one finding each; empty = no match);
- optionally ``title``, ``dedup_key`` and ``context``, each taking ``(event)`` or ``(event, ctx)``;
- ``EXAMPLES``: :class:`Example` objects with the expected verdict, and ``EXAMPLE_POLICY`` (policy
  YAML) when the examples are judged under a policy.

:func:`rule_from_module` turns such a module into a :class:`Rule`; Sigma rules become the same object.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import re
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.finding import Finding, Severity
from streams.detect.remediation import ActionTemplate, actions_for

if TYPE_CHECKING:
    from streams.enrich.catalog import Catalog
    from streams.enrich.identity import Resolution
    from streams.enrich.policy import Policy

State = MutableMapping[str, dict]
"""Where stateful rules keep what they remember: a dict offline, saved to ClickHouse in the stream."""

GroupsOf = Callable[[str], Sequence[str]]
"""Directory lookup: the groups a principal belongs to (for group clauses of the policy)."""


@dataclass(slots=True)
class RuleContext:
    """What a rule may read besides its event."""

    state: State = field(default_factory=dict)
    catalog: Catalog | None = None
    """The AI service catalog (None: the rule needs none)."""
    policy: Policy | None = None
    """The sanctioned-use policy in force (None: discovery mode, nothing is sanctioned)."""
    groups_of: GroupsOf | None = None
    identity: Callable[..., Resolution | None] | None = None
    """Who held an address at a time (``streams.enrich.identity``); None: no bindings known."""


def as_context(value: RuleContext | State) -> RuleContext:
    """``value`` as a context: a plain mapping is taken as the rules' state (no catalog, no policy)."""
    return value if isinstance(value, RuleContext) else RuleContext(state=value)


@dataclass(frozen=True, slots=True)
class Hit:
    """One finding of a rule, with what the event made different from the rule's metadata."""

    title: str = ""
    principal: str = ""
    provider: str = ""
    dedup_key: str = ""
    description: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    about: dict | None = None
    """The event the finding is about, when it is not the one being judged: an earlier event that a late
    arrival completed (a sequence rule whose steps arrive out of order). A summary of it is enough
    (:func:`streams.detect.state.summary`)."""

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
    actions: tuple[ActionTemplate, ...] = ()
    """Machine-readable remediation (streams/detect/remediation.py), each filled from the finding; a
    template the finding cannot fill is left out."""
    provider: str = ""
    """AI provider the rule is about (``aws-bedrock``, ``aws-sagemaker``), '' when none in particular."""
    source: str = ""
    """Where the rule came from when it is not a Python module (a Sigma file)."""
    families: tuple[str, ...] = Field(default=("cloudtrail",), min_length=1)
    """Normalized-event source families the rule reads."""
    services: tuple[str, ...] = ()
    """Services (CloudTrail ``eventSource``, the event's ``service``) whose events the rule reads, as
    glob patterns (``bedrock*.amazonaws.com``); () = every service. Events of other services never
    reach the rule."""
    requires: tuple[Literal["ai_use", "redaction_marker", "sso_session"], ...] = ()
    """What an event must have for the rule to be able to match it, checked on whole batches in the
    stream before any event is decoded: ``ai_use`` (enrichment found an AI service: ``ai_provider``),
    ``redaction_marker`` (a credential was redacted in its URL or raw record), ``sso_session`` (an IAM
    Identity Center role session: ``AWSReservedSSO_`` in an assumed role's actor)."""

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


EventFn = Callable[[dict, RuleContext], Any]


@dataclass(frozen=True, slots=True)
class Rule:
    meta: RuleMeta
    match_fn: EventFn
    stateful: bool = False
    """It takes a context (its memory, the catalog or the policy), not only the event."""
    title_fn: EventFn | None = None
    dedup_key_fn: EventFn | None = None
    context_fn: EventFn | None = None
    examples: tuple[Example, ...] = ()
    example_policy: str = ""
    """Policy YAML the examples are judged under ('' = discovery mode)."""
    module_name: str = ""
    """The Python module's short name ('' for Sigma rules): must equal ``meta.id``."""
    origin: str = ""
    """File the rule was read from."""

    @property
    def id(self) -> str:
        return self.meta.id

    def applies_to(self, event: dict) -> bool:
        return event.get("source_family") in self.meta.families and self.reads_service(event.get("service", ""))

    def reads_service(self, service: str) -> bool:
        return not self.meta.services or service_pattern(self.meta.services).fullmatch(service) is not None

    def summary(self) -> dict[str, Any]:
        """What `aispm rules list` shows of the rule."""
        meta = self.meta
        return {
            "id": meta.id, "title": meta.title, "severity": meta.severity, "status": meta.status,
            "attack": list(meta.attack), "atlas": list(meta.atlas), "owasp_llm": list(meta.owasp_llm),
            "nist_ai_rmf": list(meta.nist_ai_rmf), "stateful": self.stateful,
            "examples": {"positive": sum(e.expect for e in self.examples),
                         "negative": sum(not e.expect for e in self.examples)},
            "source": meta.source or self.origin,
        }

    def findings(self, event: dict, ctx: RuleContext | State) -> list[Finding]:
        """The rule's findings on ``event`` (its families are the caller's to check)."""
        ctx = as_context(ctx)
        verdict = self.match_fn(event, ctx)
        if isinstance(verdict, Hit):
            return [self.finding(event, ctx, verdict)]
        if isinstance(verdict, list):
            return [self.finding(event, ctx, hit) for hit in verdict]
        return [self.finding(event, ctx)] if verdict else []

    def matches(self, event: dict, ctx: RuleContext | State) -> bool:
        return self.applies_to(event) and bool(self.findings(event, ctx))

    def finding(self, event: dict, ctx: RuleContext | State, hit: Hit | None = None) -> Finding:
        meta = self.meta
        ctx = as_context(ctx)
        hit = hit or Hit()
        if hit.about is not None:
            event = hit.about
        context: dict[str, Any] = dict(self.context_fn(event, ctx)) if self.context_fn else {}
        context.update(hit.context)
        context.setdefault("runbook", meta.runbook)
        if meta.owasp_llm or meta.nist_ai_rmf:
            context.setdefault("frameworks", {"owasp_llm": list(meta.owasp_llm),
                                              "nist_ai_rmf": list(meta.nist_ai_rmf)})
        finding = Finding(
            detection=meta.id,
            title=hit.title or (str(self.title_fn(event, ctx)) if self.title_fn else meta.title),
            severity=meta.severity,
            principal=hit.principal or event.get("actor") or event.get("src_ip") or "",
            event=event,
            description=hit.description or meta.description,
            remediation=meta.remediation,
            provider=hit.provider or meta.provider,
            context=context,
            techniques=meta.techniques,
            dedup_key=hit.dedup_key or (str(self.dedup_key_fn(event, ctx)) if self.dedup_key_fn else ""),
        )
        return replace(finding, actions=actions_for(meta.actions, finding)) if meta.actions else finding

    def example_context(self) -> RuleContext:
        """A fresh context for one example: empty memory, the bundled catalog, the example policy."""
        from streams.enrich.catalog import default_catalog
        from streams.enrich.policy import Policy

        policy = Policy.from_text(self.example_policy) if self.example_policy else Policy.discovery()
        return RuleContext(catalog=default_catalog(), policy=policy)

    def verdicts(self, example: Example) -> bool:
        """Run one example through a fresh context; the verdict on its last event."""
        ctx, last = self._replayed(example)
        return self.matches(last, ctx)

    def example_findings(self, example: Example) -> list[Finding]:
        """Run one example through a fresh context; the findings on its last event."""
        ctx, last = self._replayed(example)
        return self.findings(last, ctx)

    def _replayed(self, example: Example) -> tuple[RuleContext, dict]:
        """A fresh context that has seen every event of ``example`` but the last, and that last event."""
        from dataclasses import replace

        from streams.enrich.identity import BindingTable, bindings_of

        bindings = BindingTable()  # as in the stream: what an event binds is known before rules read it
        ctx = replace(self.example_context(), identity=bindings.resolve)
        for event in example.events[:-1]:
            bindings.add(bindings_of(event))
            self.matches(event, ctx)
        bindings.add(bindings_of(example.events[-1]))
        return ctx, example.events[-1]


@functools.cache
def service_pattern(globs: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled pattern for a rule's service globs."""
    return re.compile("|".join(fnmatch.translate(glob) for glob in globs))


class RuleLoadError(ValueError):
    """A rule module or file that cannot become a rule; the message names the rule and the problem."""


def _takes_context(fn: Callable[..., Any], where: str) -> bool:
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(params) not in (1, 2):
        raise RuleLoadError(f"{where} must take (event) or (event, ctx), not {len(params)} arguments")
    return len(params) == 2


def _with_context(fn: Callable[..., Any] | None, where: str) -> EventFn | None:
    if fn is None:
        return None
    if _takes_context(fn, where):
        return fn
    return lambda event, _ctx: fn(event)


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
    example_policy = getattr(module, "EXAMPLE_POLICY", "")
    if not isinstance(example_policy, str):
        raise RuleLoadError(f"{where}: EXAMPLE_POLICY must be policy YAML text")
    return Rule(
        meta=meta,
        match_fn=_with_context(match, f"{where}: rule"),  # type: ignore[arg-type]
        stateful=_takes_context(match, f"{where}: rule"),
        title_fn=_with_context(getattr(module, "title", None), f"{where}: title"),
        dedup_key_fn=_with_context(getattr(module, "dedup_key", None), f"{where}: dedup_key"),
        context_fn=_with_context(getattr(module, "context", None), f"{where}: context"),
        examples=examples,
        example_policy=example_policy,
        module_name=short_name,
        origin=getattr(module, "__file__", "") or "",
    )

"""Sanctioned AI use: which identities, groups, networks and services may use which AI providers.

A policy is a YAML file of clauses. Each clause names AI providers (optionally narrowed to products),
who may use them (identities by exact value, prefix or regex; directory groups; source networks;
workload service names; or everyone) and an optional expiry date. A use is sanctioned when one unexpired
clause covers both the service and the user. Without a policy the pipeline runs in discovery mode:
every AI use is reported, so the first run shows what is in use before anyone writes rules.

Errors name the file, line and field (``policy.yaml:14: clauses.1.networks.0: ...``) because a policy
is edited by hand and a message without a line is a guessing game.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from streams.enrich.catalog.yaml_source import (
    ConfigFileError,
    ConfigProblem,
    load_yaml,
    problems_from_validation,
)

__all__ = ["ConfigFileError", "Policy", "PolicyFile", "Verdict"]

ANY_PROVIDER = "*"


# --- the file format ---------------------------------------------------------------------------------

def _cidr(network: str) -> str:
    try:
        ipaddress.ip_network(network, strict=True)
    except ValueError as error:
        raise ValueError(f"not a CIDR block: {error}") from None
    return network


class _IdentityRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    exact: str | None = None
    prefix: str | None = None
    regex: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _IdentityRule:
        given = [name for name in ("exact", "prefix", "regex") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("an identity needs exactly one of exact, prefix or regex")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except (re.error, OverflowError, RecursionError) as error:  # 'a{99999999999}', 2,000 '('
                raise ValueError(f"invalid regular expression: {error or type(error).__name__}") from None
        return self


class _Clause(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    providers: list[str] = Field(min_length=1, description="provider slugs from the catalog, or '*'")
    products: list[str] = Field(default_factory=list, description="narrow to these products; empty: all")
    identities: list[_IdentityRule] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    networks: list[Annotated[str, AfterValidator(_cidr)]] = Field(
        default_factory=list, description="CIDR blocks of source addresses")
    services: list[str] = Field(default_factory=list, description="workload names: role, service account")
    everyone: bool = False
    expires: date | None = Field(default=None, description="last day (UTC) the clause applies")

    @model_validator(mode="after")
    def _names_someone(self) -> _Clause:
        if not (self.everyone or self.identities or self.groups or self.networks or self.services):
            raise ValueError("a clause must say who it covers: identities, groups, networks, services "
                             "or everyone: true")
        return self


class _PolicyDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    clauses: list[_Clause] = Field(default_factory=list)


# --- verdicts ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one AI use is sanctioned, and why."""

    sanctioned: bool
    clause: str | None
    """The clause that allowed it; when not sanctioned, the expired clause that would have, if any."""
    reason: str
    sanctioned_alternatives: list[str] = field(default_factory=list)
    """What this user may use instead (``provider`` or ``provider/product``), from unexpired clauses."""


@dataclass(frozen=True, slots=True)
class _CompiledClause:
    id: str
    providers: frozenset[str]
    products: frozenset[str]
    """Case-folded product names; empty: every product of the providers."""
    product_names: tuple[str, ...]
    exact: frozenset[str]
    prefixes: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    groups: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    services: frozenset[str]
    everyone: bool
    expires: date | None

    def covers_service(self, provider: str, product: str) -> bool:
        if ANY_PROVIDER not in self.providers and provider not in self.providers:
            return False
        return not self.products or product.casefold() in self.products

    def who_matches(self, principal: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
                    groups: frozenset[str]) -> str:
        """How the user is covered (for the explanation), or '' when not covered."""
        if self.everyone:
            return "everyone"
        if principal:
            if principal in self.exact:
                return f"identity {principal!r}"
            for prefix in self.prefixes:
                if principal.startswith(prefix):
                    return f"identity prefix {prefix!r}"
            for pattern in self.patterns:
                if pattern.search(principal):
                    return f"identity regex {pattern.pattern!r}"
            for name in _service_names(principal):
                if name in self.services:
                    return f"service {name!r}"
        shared = sorted(groups & self.groups)
        if shared:
            return f"group {shared[0]!r}"
        if address is not None:
            for network in self.networks:
                if address.version == network.version and address in network:
                    return f"network {network}"
        return ""

    def offered(self) -> list[str]:
        providers = sorted(self.providers)
        if not self.products:
            return providers
        return [f"{provider}/{product}" for provider in providers for product in self.product_names]


class Policy:
    """A validated, compiled policy. Build with ``Policy.from_file``, ``from_text`` or ``discovery``."""

    def __init__(self, clauses: list[_Clause], origin: str = "<policy>", discovery: bool = False) -> None:
        self.origin = origin
        self.discovery_mode = discovery
        self._clauses = tuple(_compile(clause) for clause in clauses)

    @classmethod
    def discovery(cls) -> Policy:
        """No policy: every AI use is unsanctioned, so all of it gets reported."""
        return cls([], origin="<no policy>", discovery=True)

    @classmethod
    def from_text(cls, text: str, origin: str = "<policy>") -> Policy:
        data, index = load_yaml(text, origin)
        if data is None:
            raise ConfigFileError([ConfigProblem(origin, 0, "", "the policy file is empty")])
        try:
            document = _PolicyDocument.model_validate(data)
        except ValidationError as error:
            raise ConfigFileError(problems_from_validation(error, index, origin)) from None
        first_use: dict[str, int] = {}
        problems = []
        for position, clause in enumerate(document.clauses):
            line = index.line_of(("clauses", position, "id"))
            if clause.id in first_use:
                problems.append(ConfigProblem(
                    origin, line, f"clauses.{position}.id",
                    f"clause id {clause.id!r} is already used at line {first_use[clause.id]}"))
            first_use.setdefault(clause.id, line)
        if problems:
            raise ConfigFileError(problems)
        return cls(list(document.clauses), origin)

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as error:
            problem = ConfigProblem(str(source), 0, "", f"cannot read: {error.strerror or error}")
            raise ConfigFileError([problem]) from None
        return cls.from_text(text, str(source))

    @property
    def clause_ids(self) -> tuple[str, ...]:
        return tuple(clause.id for clause in self._clauses)

    def evaluate(
        self,
        principal: str,
        src_ip: str,
        provider: str,
        product: str,
        groups: tuple[str, ...] | list[str] | frozenset[str] = (),
        now: datetime | None = None,
    ) -> Verdict:
        """Is ``principal`` (from ``src_ip``, in ``groups``) allowed to use ``provider``/``product`` at ``now``?"""
        if self.discovery_mode:
            return Verdict(False, None, "no sanctioned-use policy is loaded (discovery mode): every AI use "
                                        "is reported")
        today = _utc_date(now)
        address = _parse_ip(src_ip)
        group_set = frozenset(groups)
        user = principal or src_ip or "an unknown user"
        service = f"{provider}/{product}" if product else provider

        expired_match: tuple[_CompiledClause, str] | None = None
        covering_service: list[str] = []
        alternatives: dict[str, None] = {}
        for clause in self._clauses:
            how = clause.who_matches(principal, address, group_set)
            expired = clause.expires is not None and today > clause.expires
            if clause.covers_service(provider, product):
                covering_service.append(clause.id)
                if how and not expired:
                    return Verdict(True, clause.id, f"{service} is allowed for {user} by clause "
                                                    f"{clause.id!r} ({how})")
                if how and expired_match is None:
                    expired_match = (clause, how)
            elif how and not expired:
                alternatives.update(dict.fromkeys(clause.offered()))

        sanctioned_instead = list(alternatives)
        if expired_match is not None:
            clause, how = expired_match
            return Verdict(False, clause.id, f"clause {clause.id!r} allowed {service} for {user} ({how}) but "
                                             f"expired on {clause.expires.isoformat() if clause.expires else ''}",
                           sanctioned_instead)
        if covering_service:
            reason = (f"{service} is sanctioned only for the users of clause(s) "
                      f"{', '.join(repr(c) for c in covering_service)}, which do not include {user}")
        else:
            reason = f"no clause sanctions {service}"
        return Verdict(False, None, reason, sanctioned_instead)


def _compile(clause: _Clause) -> _CompiledClause:
    return _CompiledClause(
        id=clause.id,
        providers=frozenset(clause.providers),
        products=frozenset(product.casefold() for product in clause.products),
        product_names=tuple(sorted(clause.products)),
        exact=frozenset(rule.exact for rule in clause.identities if rule.exact),
        prefixes=tuple(rule.prefix for rule in clause.identities if rule.prefix),
        patterns=tuple(re.compile(rule.regex) for rule in clause.identities if rule.regex),
        groups=frozenset(clause.groups),
        networks=tuple(ipaddress.ip_network(network) for network in clause.networks),
        services=frozenset(clause.services),
        everyone=clause.everyone,
        expires=clause.expires,
    )


def _utc_date(now: datetime | None) -> date:
    if now is None:
        return datetime.now(UTC).date()
    return (now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)).date()


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip()) if text else None
    except ValueError:
        return None


def _service_names(principal: str) -> list[str]:
    """The names a workload identity can be sanctioned by.

    ``arn:aws:sts::1:assumed-role/ml-inference/i-0abc`` -> ``ml-inference`` (any session of the role),
    ``system:serviceaccount:ml:scorer`` -> ``ml/scorer``, ``scorer@proj.iam.gserviceaccount.com`` ->
    ``scorer``, and the principal itself.
    """
    names = [principal]
    if principal.startswith("arn:"):
        if ":assumed-role/" in principal:
            names.append(principal.split(":assumed-role/", 1)[1].split("/", 1)[0])
        elif ":role/" in principal:
            names.append(principal.rsplit("/", 1)[1])
    elif principal.startswith("system:serviceaccount:"):
        namespace, _, name = principal[len("system:serviceaccount:"):].partition(":")
        names.append(f"{namespace}/{name}")
    elif principal.endswith(".gserviceaccount.com"):
        names.append(principal.split("@", 1)[0])
    return names


# --- reloading ---------------------------------------------------------------------------------------

class PolicyFile:
    """A policy file that is re-read when it changes. Call ``current()`` wherever a policy is needed.

    A changed mtime or size triggers a read; the policy is re-parsed only if the content hash changed.
    A missing file means discovery mode. An invalid edit keeps the last good policy in force (and sets
    ``last_error``) rather than dropping to discovery mode mid-stream; an invalid file with no good
    version before it raises ``ConfigFileError``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.last_error: ConfigFileError | None = None
        self._stamp: tuple[int, int] | None = None
        self._digest: str | None = None
        self._policy: Policy | None = None
        self.loads = 0
        """How many times the file was parsed (a test and metrics hook)."""

    def current(self) -> Policy:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._digest, self._policy, self.last_error = None, None, None, None
            return Policy.discovery()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp and self._policy is not None:
            return self._policy
        try:
            data = self.path.read_bytes()
        except OSError:  # replaced or removed between stat and read: try again on the next call
            return self._policy or Policy.discovery()
        digest = hashlib.sha256(data).hexdigest()
        self._stamp = stamp
        if digest == self._digest and self._policy is not None:
            return self._policy
        try:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as error:
                line = data.count(b"\n", 0, error.start) + 1
                problem = ConfigProblem(str(self.path), line, "", f"not UTF-8 at byte {error.start}")
                raise ConfigFileError([problem]) from None
            policy = Policy.from_text(text, str(self.path))
        except ConfigFileError as error:
            self.last_error = error
            if self._policy is None:
                raise
            return self._policy
        self.loads += 1
        self._policy, self._digest, self.last_error = policy, digest, None
        return policy


def policy_source(path: Path | None) -> Callable[[], Policy]:
    """The current sanctioned-use policy: reloaded when its file changes; discovery mode without one.

    Reads the file at once, so a broken policy at start is a configuration error raised here.
    """
    if path is None:
        return Policy.discovery
    policy_file = PolicyFile(path)
    policy_file.current()
    return policy_file.current

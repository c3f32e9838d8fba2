"""Who is behind an address: time-bounded bindings of IPs to identities, and resolution against them.

A ``Binding`` says "``ip`` belonged to ``identity`` from ``valid_from`` to ``valid_to``, according to
``source``, this sure". They are learned from normalized events (``bindings_of``):

- Okta System Log: the actor at ``client.ipAddress`` and at the private addresses of ``request.ipChain``
  (a sign-in binds for a working day, any other call for an hour); ``securityContext.isProxy`` marks the
  address as shared egress, which never names one person;
- CloudTrail human sessions: console sign-ins, IAM users and IAM Identity Center (SSO) sessions at
  ``sourceIPAddress`` when it is an address (not ``bedrock.amazonaws.com``);
- Kubernetes audit users at their source IP, GCP and Azure callers at theirs;
- Zeek DHCP leases (the device: host name or MAC, for the lease time) and ZPA user sessions (the user,
  from login to logout).

``BindingTable.resolve(ip, time_ms)`` answers with the one identity bound at that time, or an ambiguous
``Resolution`` naming the candidates when several identities (or a shared egress) held the address:
an ambiguous address is never guessed. People win over devices: a DHCP lease names the laptop, a sign-in
or a VPN session the person using it; a device answers only when no person is bound.

Where the table lives: resolution runs in the detection stage (``streams.detect.identity``), not in the
normalizing processes. Those are several (``streams/runtime/normalize_pool.py``) and each sees other
batches, so a binding learned in one would be unknown to the others and a restart would forget them all;
the detection stage consumes every event of a partition in order, keeps the recent bindings in memory
and persists each one in ClickHouse (``ip_bindings``), from where other workers and restarts read them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
import polars as pl

from schemas.columns import TimeMs
from streams.normalize.base import stable_id

__all__ = ["Binding", "BindingTable", "Resolution", "bindings_of", "coalesce_activity", "is_ip"]

HOUR_MS = 3_600_000
SIGN_IN_TTL_MS = 10 * HOUR_MS
"""How long a sign-in binds its address: a working day (Okta's default session is shorter, but the
address stays the person's until another identity shows up on it, which makes it ambiguous)."""
ACTIVITY_TTL_MS = HOUR_MS
OPEN_SESSION_TTL_MS = 24 * HOUR_MS
"""A VPN session whose logout has not been logged yet binds for at most this long."""
MAX_BINDINGS_PER_IP = 64
# How many of the identities behind an ambiguous address its evidence names.
AMBIGUOUS_NAMED = 5

# source -> (label in the evidence, confidence)
SOURCES: dict[str, tuple[str, float]] = {
    "okta_signin": ("Okta sign-in", 0.9),
    "okta": ("Okta activity", 0.7),
    "aws_console": ("AWS console sign-in", 0.9),
    "cloudtrail": ("CloudTrail session", 0.7),
    "k8s_audit": ("Kubernetes audit", 0.6),
    "gcp_audit": ("GCP audit", 0.6),
    "azure_activity": ("Azure activity", 0.6),
    "azure_entra": ("Entra ID sign-in", 0.8),
    "zpa_session": ("ZPA session", 0.95),
    "dhcp_lease": ("DHCP lease", 0.8),
}
CLOUD_SESSION_SOURCES = frozenset({"cloudtrail", "aws_console"})
_OKTA_SIGN_IN_PREFIXES = ("user.session.start", "user.authentication.")
_HUMAN_CLOUDTRAIL_TYPES = {"IAMUser", "Root", "AssumedRole", "FederatedUser", "IdentityCenterUser"}


@lru_cache(maxsize=4096)
def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def _is_private(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).is_private
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Binding:
    ip: str
    valid_from: TimeMs
    valid_to: TimeMs
    """Exclusive."""
    identity: str
    kind: str
    """``user`` (a person or workload identity) or ``device`` (a DHCP lease's host)."""
    source: str
    """A key of ``SOURCES``."""
    confidence: float
    event_id: str
    """The event the binding was learned from."""
    seen_at: TimeMs
    """Event time of that event: of two records of one binding (a session's login and logout), the later wins."""
    shared: bool = False
    """Shared egress (Okta's ``isProxy``): the address is many people's."""
    binding_id: str = ""

    def __post_init__(self) -> None:
        if not self.binding_id:
            object.__setattr__(self, "binding_id", stable_id("binding", self.source, self.ip, self.identity,
                                                             str(self.valid_from)))

    @property
    def label(self) -> str:
        return SOURCES.get(self.source, (self.source, 0.0))[0]

    def evidence(self) -> str:
        """``alice@corp.example via Okta sign-in 08:01 from 10.20.1.57``."""
        return f"{self.identity} via {self.label} {_clock(self.valid_from)} from {self.ip}"

    def row(self) -> dict[str, Any]:
        return asdict(self)


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class Resolution:
    ip: str
    time: int
    identity: str
    """The identity behind the address; '' when ambiguous."""
    source: str
    """The deciding binding's source, or ``ambiguous``."""
    evidence: str
    confidence: float = 0.0
    ambiguous: bool = False
    kind: str = "user"
    candidates: tuple[str, ...] = ()
    """Every identity bound at that time (more than one when ambiguous)."""
    binding_id: str = ""

    def as_context(self) -> dict[str, Any]:
        """What a finding's ``context["identity"]`` holds (JSON)."""
        return {"ip": self.ip, "identity": self.identity, "source": self.source, "evidence": self.evidence,
                "confidence": self.confidence, "ambiguous": self.ambiguous, "kind": self.kind,
                "candidates": list(self.candidates), "binding_id": self.binding_id, "version": 1}


@dataclass
class BindingTable:
    """Bindings by address, in memory; what ``resolve`` reads."""

    by_ip: dict[str, dict[str, Binding]] = field(default_factory=dict)
    # ``resolve(..., any_time=True)`` answers per address and sources left out, until the address's
    # bindings change: a rule asks it for every call from an address (an office's NAT: dozens of people).
    _whenever: dict[str, dict[frozenset[str], Resolution | None]] = field(default_factory=dict, repr=False)

    def add(self, bindings: list[Binding]) -> list[Binding]:
        """Add or update ``bindings``; returns those that changed the table."""
        changed = []
        for binding in bindings:
            known = self.by_ip.setdefault(binding.ip, {})
            current = known.get(binding.binding_id)
            if current is not None and (current.seen_at, current.valid_to) >= (binding.seen_at, binding.valid_to):
                continue
            self._forget_answers(binding.ip)
            known[binding.binding_id] = binding
            changed.append(binding)
            if len(known) > MAX_BINDINGS_PER_IP:
                oldest = min(known.values(), key=lambda item: (item.valid_to, item.binding_id))
                del known[oldest.binding_id]
        return changed

    def prune(self, before_ms: int) -> None:
        """Forget bindings that ended before ``before_ms``."""
        for ip in list(self.by_ip):
            kept = {key: b for key, b in self.by_ip[ip].items() if b.valid_to >= before_ms}
            if len(kept) != len(self.by_ip[ip]):
                self._forget_answers(ip)
            if kept:
                self.by_ip[ip] = kept
            else:
                del self.by_ip[ip]

    def __len__(self) -> int:
        return sum(len(known) for known in self.by_ip.values())

    def resolve(self, ip: str, time_ms: int, *, exclude: frozenset[str] = frozenset(),
                any_time: bool = False) -> Resolution | None:
        """Who held ``ip`` at ``time_ms``: one identity, an ambiguous answer, or None (nothing bound).
        ``exclude``: sources not to count (a rule judging a cloud session asks the others); ``any_time``:
        every binding the table holds for the address, whenever valid (is it one person's at all?). The
        table keeps the latest ``MAX_BINDINGS_PER_IP`` of an address, which after a restart need not be
        those valid at an earlier ``time_ms`` that a replay asks about; the identities it holds still say
        whether several share the address."""
        if not any_time:
            return self._resolve(ip, time_ms, exclude, any_time=False)
        answers = self._whenever.setdefault(ip, {})
        if exclude not in answers:
            answers[exclude] = self._resolve(ip, time_ms, exclude, any_time=True)
        answer = answers[exclude]
        return answer if answer is None or answer.time == time_ms else replace(answer, time=time_ms)

    def _forget_answers(self, ip: str) -> None:
        self._whenever.pop(ip, None)

    def _resolve(self, ip: str, time_ms: int, exclude: frozenset[str], *, any_time: bool) -> Resolution | None:
        known = self.by_ip.get(ip)
        if not known:
            return None
        active = [b for b in known.values()
                  if (any_time or b.valid_from <= time_ms < b.valid_to) and b.source not in exclude]
        people = [b for b in active if b.kind == "user"]
        chosen = people or [b for b in active if b.kind == "device"]
        if not chosen:
            return None
        identities = sorted({b.identity.lower() for b in chosen})
        shared = any(b.shared for b in chosen)
        if len(identities) == 1 and not shared:
            best = max(chosen, key=lambda b: (b.confidence, b.valid_from, b.binding_id))
            return Resolution(ip, time_ms, best.identity, best.source, best.evidence(), best.confidence,
                              kind=best.kind, candidates=(best.identity,), binding_id=best.binding_id)
        why = "a shared egress address" if shared else f"bound to {len(identities)} identities"
        # Each identity once (its earliest binding), the first few named: an office's NAT holds dozens,
        # and a rule asks about it for every call made from there.
        earliest: dict[str, Binding] = {}
        for b in sorted(chosen, key=lambda b: (b.valid_from, b.binding_id)):
            earliest.setdefault(b.identity.lower(), b)
        named = [earliest[identity] for identity in identities[:AMBIGUOUS_NAMED]]
        listed = "; ".join(f"{b.identity} ({b.label} {_clock(b.valid_from)})" for b in named)
        if len(identities) > AMBIGUOUS_NAMED:
            listed += f"; and {len(identities) - AMBIGUOUS_NAMED} more"
        when = "whenever bound" if any_time else f"at {_clock(time_ms)}"
        return Resolution(ip, time_ms, "", "ambiguous",
                          f"{ip} is ambiguous {when}: {why} ({listed}); not resolved",
                          ambiguous=True, kind=chosen[0].kind, candidates=tuple(identities))


# --- learning bindings from events ---------------------------------------------------------------------

def bindings_of(event: dict) -> list[Binding]:
    """The bindings one normalized event establishes (none for most events)."""
    learn = _LEARNERS.get(event.get("source_format", ""))
    if learn is None or event.get("outcome") == "failure":
        return []
    try:
        return learn(event)
    except (ValueError, TypeError, KeyError, AttributeError):  # an odd raw record binds nothing
        return []


def coalesce_activity(bindings: list[Binding]) -> list[Binding]:
    """The bindings with each run of one identity's activity on one address merged into one binding.

    Every call a person makes binds the address for an hour from the call (``ACTIVITY_TTL_MS``): a
    session of a hundred calls is a hundred bindings that overlap. Those whose hours overlap (same
    address, identity, source, kind and sharing) become one, from the first call to an hour after the
    last, the first call its evidence: the same times bound, one row instead of one per call. Bindings
    with their own end (sign-ins, leases, VPN sessions) are kept as they are: a logout record replaces
    its login's binding by id."""
    merged: list[Binding] = []
    runs: dict[tuple, list[Binding]] = {}
    for binding in bindings:
        if binding.valid_to - binding.valid_from == ACTIVITY_TTL_MS and binding.seen_at == binding.valid_from:
            runs.setdefault((binding.ip, binding.identity, binding.source, binding.kind, binding.shared),
                            []).append(binding)
        else:
            merged.append(binding)
    for run in runs.values():
        run.sort(key=lambda b: (b.valid_from, b.event_id))
        current = run[0]
        for binding in run[1:]:
            if binding.valid_from <= current.valid_to:
                current = replace(current, valid_to=max(current.valid_to, binding.valid_to),
                                  seen_at=max(current.seen_at, binding.seen_at))
            else:
                merged.append(current)
                current = binding
        merged.append(current)
    return merged


def _raw(event: dict) -> dict:
    raw = event.get("raw") or ""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return record if isinstance(record, dict) else {}


def _binding(event: dict, ip: str, identity: str, source: str, ttl_ms: int, *, kind: str = "user",
             shared: bool = False, start: int | None = None, end: int | None = None) -> Binding:
    begin = event["time"] if start is None else start
    return Binding(ip=ip, valid_from=begin, valid_to=begin + ttl_ms if end is None else end, identity=identity,
                   kind=kind, source=source, confidence=SOURCES[source][1] * (0.3 if shared else 1.0),
                   event_id=str(event.get("event_id", "")), seen_at=event["time"], shared=shared)


def _okta(event: dict) -> list[Binding]:
    actor = event.get("actor", "")
    if not actor:
        return []
    record = _raw(event)
    sign_in = str(event.get("action", "")).startswith(_OKTA_SIGN_IN_PREFIXES)
    source, ttl = ("okta_signin", SIGN_IN_TTL_MS) if sign_in else ("okta", ACTIVITY_TTL_MS)
    security = record.get("securityContext") if isinstance(record.get("securityContext"), dict) else {}
    shared = security.get("isProxy") is True
    addresses = [event.get("src_ip", "")]
    request = record.get("request") if isinstance(record.get("request"), dict) else {}
    for hop in request.get("ipChain") or ():
        if isinstance(hop, dict) and isinstance(hop.get("ip"), str) and _is_private(hop["ip"]):
            addresses.append(hop["ip"])
    seen: set[str] = set()
    out = []
    for ip in addresses:
        if ip and ip not in seen and is_ip(ip):
            seen.add(ip)
            # A proxy's own address is shared; an internal hop behind it is the person's machine.
            out.append(_binding(event, ip, actor, source, ttl, shared=shared and ip == event.get("src_ip")))
    return out


def _cloudtrail(event: dict) -> list[Binding]:
    ip, actor = event.get("src_ip", ""), event.get("actor", "")
    if not (ip and actor and is_ip(ip)):
        return []
    if event.get("action") == "ConsoleLogin":
        return [_binding(event, ip, actor, "aws_console", SIGN_IN_TTL_MS)]
    kind = event.get("actor_type", "")
    if kind not in _HUMAN_CLOUDTRAIL_TYPES:
        return []
    if kind == "AssumedRole":
        # Only people's sessions: IAM Identity Center roles, whose session name is the person.
        role, _, session = actor.rpartition("/")
        if "/AWSReservedSSO_" not in role:
            return []
        return [_binding(event, ip, session, "cloudtrail", ACTIVITY_TTL_MS)]
    return [_binding(event, ip, actor, "cloudtrail", ACTIVITY_TTL_MS)]


def _caller(source: str) -> Any:
    def learn(event: dict) -> list[Binding]:
        ip, actor = event.get("src_ip", ""), event.get("actor", "")
        if not (ip and actor and is_ip(ip)):
            return []
        return [_binding(event, ip, actor, source, ACTIVITY_TTL_MS)]
    return learn


def _dhcp(event: dict) -> list[Binding]:
    ip = event.get("src_ip", "")
    if event.get("activity_id") not in (1, 2) or not ip:  # Assign, Renew
        return []
    device = event.get("target_host") or event.get("target_resource")
    detail = str(event.get("status_detail", ""))
    if not device or not detail.startswith("lease "):
        return []
    lease_ms = int(detail.removeprefix("lease ").removesuffix("s")) * 1000
    return [_binding(event, ip, device, "dhcp_lease", lease_ms, kind="device")]


def _zpa(event: dict) -> list[Binding]:
    from streams.normalize.gateway.vpn import session_time

    ip, user = event.get("src_ip", ""), event.get("actor", "")
    if not (ip and user):
        return []
    record = _raw(event)
    login = session_time(record.get("TimestampAuthentication")) or event["time"]
    logout = session_time(record.get("TimestampUnAuthentication"))
    binding = _binding(event, ip, user, "zpa_session", OPEN_SESSION_TTL_MS, start=login,
                       end=logout if logout and logout > login else None)
    # One binding per session: the logout record replaces the login's (same id, later ``seen_at``).
    session = event.get("target_resource", "")
    if session:
        binding = Binding(**{**binding.row(), "binding_id": stable_id("binding", "zpa_session", session, ip)})
    return [binding]


_LEARNERS = {
    "okta": _okta,
    "cloudtrail": _cloudtrail,
    "k8s_audit": _caller("k8s_audit"),
    "gcp_audit": _caller("gcp_audit"),
    "azure_activity": _caller("azure_activity"),
    "azure_entra": _caller("azure_entra"),
    "zeek_dhcp": _dhcp,
    "zpa_user_status": _zpa,
}
BINDING_FORMATS = frozenset(_LEARNERS)
"""Source formats whose events may bind an address."""


_CALLER_FORMATS = ("azure_activity", "azure_entra", "gcp_audit", "k8s_audit")


def activity_rows() -> pl.Expr:
    """The rows of an events frame whose binding is an hour of activity read from columns alone: the
    callers of Kubernetes, GCP and Azure, and CloudTrail's human sessions but for console sign-ins.
    ``activity_bindings`` learns them without making a dict or a ``Binding`` per event."""
    actor, kind = pl.col("actor"), pl.col("actor_type")
    # An AssumedRole binds when its role (what precedes the session name) is an Identity Center one.
    human = (kind.is_in(sorted(_HUMAN_CLOUDTRAIL_TYPES - {"AssumedRole"}))
             | ((kind == "AssumedRole") & actor.str.contains(r"(?s)/AWSReservedSSO_.*/")))
    cloudtrail = (pl.col("source_format") == "cloudtrail") & (pl.col("action") != "ConsoleLogin") & human
    return ((pl.col("src_ip") != "") & (actor != "") & (pl.col("outcome") != "failure")
            & (pl.col("source_format").is_in(_CALLER_FORMATS) | cloudtrail))


def activity_bindings(frame: pl.DataFrame) -> list[Binding]:
    """The bindings of ``frame``'s ``activity_rows``, already coalesced: what ``coalesce_activity`` makes
    of their ``bindings_of``, computed over columns (a busy person's hundred calls from one address are
    one run: sorted by time, a new run begins where a call comes more than ``ACTIVITY_TTL_MS`` after the
    one before it)."""
    rows = frame.filter(activity_rows())
    if rows.height == 0:
        return []
    addresses = rows["src_ip"].unique().to_list()
    bindable = [address for address in addresses if is_ip(address)]
    if len(bindable) < len(addresses):
        rows = rows.filter(pl.col("src_ip").is_in(bindable))
    actor = pl.col("actor")
    # An IAM Identity Center role's session name is the person; any other actor is itself.
    identity = pl.when(pl.col("actor_type") == "AssumedRole").then(
        actor.str.split("/").list.last()).otherwise(actor)
    # Each of these formats' learner names its source after the format (``_LEARNERS``).
    key = ["src_ip", "identity", "source"]
    runs = (rows.select(pl.col("src_ip"), identity.alias("identity"), pl.col("source_format").alias("source"),
                        pl.col("time").dt.epoch("ms").alias("at"), pl.col("event_id"))
            .sort([*key, "at", "event_id"])
            .with_columns(((pl.col("at") - pl.col("at").shift(1).over(key)) > ACTIVITY_TTL_MS)
                          .fill_null(True).cum_sum().over(key).alias("run"))
            .group_by([*key, "run"], maintain_order=True)
            .agg(pl.col("at").first().alias("first"), pl.col("at").last().alias("last"),
                 pl.col("event_id").first()))
    return [Binding(ip=ip, valid_from=first, valid_to=last + ACTIVITY_TTL_MS, identity=who, kind="user",
                    source=source, confidence=SOURCES[source][1], event_id=event_id, seen_at=last)
            for ip, who, source, _, first, last, event_id in runs.iter_rows()]


def may_bind() -> pl.Expr:
    """The rows of an events frame that may bind an address: what ``bindings_of`` reads, said over columns
    so a batch's CloudTrail rows of services and machine roles (nearly all of them) never become dicts."""
    actor, kind = pl.col("actor"), pl.col("actor_type")
    cloudtrail = ((pl.col("src_ip") != "") & (actor != "")
                  & ((pl.col("action") == "ConsoleLogin")
                     | (kind.is_in(sorted(_HUMAN_CLOUDTRAIL_TYPES - {"AssumedRole"})))
                     | ((kind == "AssumedRole") & actor.str.contains("/AWSReservedSSO_", literal=True))))
    others = pl.col("source_format").is_in(sorted(BINDING_FORMATS - {"cloudtrail"}))
    return others | ((pl.col("source_format") == "cloudtrail") & cloudtrail)
RAW_BINDING_FORMATS = frozenset({"okta", "zpa_user_status"})
"""Those whose learner reads the raw record (Okta's ``request.ipChain`` and ``isProxy``, ZPA's login and
logout times): the events topic must carry their raw record to the detection stage."""

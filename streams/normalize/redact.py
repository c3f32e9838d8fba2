"""Redaction of credentials and of prompt/body content, applied before anything is stored or sent.

A credential is replaced by ``[REDACTED:<kind>:fp=<12 hex>]``: the kind says what it was (``openai``,
``github_pat``, ``basic_auth`` ...) and the fingerprint (HMAC-SHA256 of the secret under the
installation's key, truncated) lets analysts see that two sightings are the same secret without the
secret being kept, and without a short secret being recoverable by hashing guesses.

What is a credential: the provider key formats below (the AI kinds that ``credential_exposure``
reports), credentials known by their position (Authorization headers, Basic credentials, URL userinfo,
key/token/password query parameters, AWS secret keys and session tokens), and the rules of gitleaks'
maintained rule set (``gitleaks.toml``, MIT; see NOTICE), loaded as data.

Speed: one Aho-Corasick pass finds the few places where a credential can start (a key prefix such as
``ghp_``, a word such as ``bearer`` or ``key=``, a gitleaks rule keyword); only there is a pattern
tried, anchored at the hit or within a small window around it. A message with nothing to redact costs
one linear scan of its bytes (``scan_message``), and nothing else runs.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import math
import os
import re
import secrets
import threading
import tomllib
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import ahocorasick_rs

__all__ = ["AI_KEY_KINDS", "BODY_KEYS", "FINGERPRINT_KEY_FILE", "MessageScan", "RedactedSecret", "Redactor",
           "default_redactor", "installation_redactor", "installation_redactor_or_default", "may_hold_body",
           "redacted_secrets", "rule_set", "scan_message"]

_TOKEN = r"[A-Za-z0-9_\-\.=~+/]"

# Provider API-key formats: (kind, trigger prefix as written in lower case, anchored pattern).
# Most specific first where prefixes are shared (sk-ant- and sk-proj- before plain sk-).
AI_KEY_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("anthropic", "sk-", r"sk-ant-(?:api|admin|sid)?\d{0,2}-?[A-Za-z0-9_\-]{20,}"),
    ("openrouter", "sk-", r"sk-or-v1-[A-Za-z0-9]{32,}"),
    ("openai", "sk-", r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}"),
    ("openai", "sk-", r"sk-[A-Za-z0-9]{20,}"),
    ("huggingface", "hf_", r"hf_[A-Za-z0-9]{30,}"),
    ("groq", "gsk_", r"gsk_[A-Za-z0-9]{40,}"),
    ("google", "aiza", r"AIza[0-9A-Za-z_\-]{35}"),
    ("xai", "xai-", r"xai-[A-Za-z0-9]{40,}"),
    ("perplexity", "pplx-", r"pplx-[A-Za-z0-9]{40,}"),
    ("replicate", "r8_", r"r8_[A-Za-z0-9]{30,}"),
    ("nvidia", "nvapi-", r"nvapi-[A-Za-z0-9_\-]{40,}"),
    ("fireworks", "fw_", r"fw_[A-Za-z0-9]{20,}"),
    ("langsmith", "lsv2_", r"lsv2_(?:pt|sk)_[A-Za-z0-9_]{30,}"),
)
AI_KEY_KINDS = frozenset(kind for kind, _, _ in AI_KEY_PATTERNS)

# After a header or field name: its closing quote (escaped too, in JSON inside a JSON string), ':' or '='.
_HEADER_SEPARATOR = r"(?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"']|\[){0,2}\s*"
# "authorization" as a header or field name, not in authorizationInfo or authorization.k8s.io/decision.
_AUTHORIZATION = ('authorization"', "authorization'", "authorization:", "authorization=", 'authorization\\"')
_SECRET_VALUE = r"(?!\[REDACTED)([^\s&\"',;<>\[\]\\]{8,})"


def _is_basic_credential(value: str) -> bool:
    """Is ``value`` base64 of "user:password" (what follows "Basic " in an Authorization header)?"""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return False
    return ":" in decoded and decoded.isprintable()


@dataclass(frozen=True, slots=True)
class _ContextPattern:
    kind: str
    triggers: tuple[str, ...]
    pattern: str
    group: int = 1
    word_start: bool = False
    """The trigger must not continue a longer word."""
    check: Callable[[str], bool] | None = None
    """Says whether what the group captured is really a secret."""


# Credentials known by position rather than format, each tried where one of its triggers occurs.
_CONTEXT_PATTERNS: tuple[_ContextPattern, ...] = (
    _ContextPattern("bearer", ("bearer",), rf"(?i:bearer)\s+(?!\[REDACTED)({_TOKEN}{{12,}})"),
    _ContextPattern("api_key_header", ("api-key",),
                    rf"(?i:api-key){_HEADER_SEPARATOR}(?!Bearer\s)(?!\[REDACTED)({_TOKEN}{{16,}})"),
    # Basic credentials are short (base64 of "user:password"): in an Authorization header any length
    # counts, and elsewhere "Basic <base64>" does when it decodes to user:password.
    _ContextPattern("basic_auth", _AUTHORIZATION,
                    rf"(?i:authorization){_HEADER_SEPARATOR}(?i:basic)\s+(?!\[REDACTED)"
                    r"([A-Za-z0-9+/]{2,}={0,2})"),
    _ContextPattern("basic_auth", ("basic",),
                    r"(?i:basic)\s+(?!\[REDACTED)([A-Za-z0-9+/]{4,}={0,2})(?![\w+/=])",
                    word_start=True, check=_is_basic_credential),
    _ContextPattern("api_key_header", _AUTHORIZATION,
                    rf"(?i:authorization){_HEADER_SEPARATOR}(?!(?i:bearer|basic)\s)"
                    rf"(?:[A-Za-z][A-Za-z0-9_-]{{0,30}}\s+)?(?!\[REDACTED)({_TOKEN}{{16,}})"),
    # user:password@ in a URL; '@' may occur in the password, so up to the last '@' before the host.
    _ContextPattern("url_userinfo", ("://",),
                    r"://(?!\[REDACTED)([^\s/?#\"'<>\\\[\]@]+:[^\s/?#\"'<>\\\[\]]*)@"),
    _ContextPattern("aws_secret_key",
                    ("secret_access_key", "secretaccesskey", "secret-access-key", "aws_secret_key"),
                    rf"(?i:secret[_-]?access[_-]?key|aws_secret_key){_HEADER_SEPARATOR}{_SECRET_VALUE}"),
    _ContextPattern("aws_session_token", ("sessiontoken", "session_token", "session-token", "security-token",
                                          "security_token", "securitytoken"),
                    rf"(?i:session[_-]?token|security[_-]?token){_HEADER_SEPARATOR}{_SECRET_VALUE}"),
    _ContextPattern("api_key_param", ("key=", "token=", "sig=", "secret=", "password=", "passwd=", "pwd=",
                                      "signature="),
                    r"(?i:key|token|sig|secret|password|passwd|pwd|signature)="
                    r"(?!\[REDACTED)([^&\s\"'#]{8,})"),
    # gitleaks' jwt rule wants a quote, blank or ';' after the token; in a URL '&' or '/' follows it.
    _ContextPattern("jwt", ("eyj",), r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", group=0,
                    word_start=True),
)
# Query parameters whose value is a credential (the part before the trigger must make one of these).
_SECRET_PARAMS = frozenset({
    "key", "api_key", "api-key", "apikey", "access_token", "token", "auth_token", "id_token", "refresh_token",
    "x-api-key", "subscription-key", "code", "sig", "signature", "x-amz-signature", "client_secret", "secret",
    "password", "passwd", "pwd",
})
# Trigger words that gate a message only beside a second word: userinfo in a URL needs its '@'.
_COMPANIONS = {"://": "@"}
# An AWS access key id is an identifier (CloudTrail names the key of every call by it) until it is
# written beside its secret key: then the pair is a credential and the id goes too.
_AWS_KEY_ID = re.compile(r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b")
_AWS_SECRET_MARKER = "[REDACTED:aws_secret_key:"

BODY_KEYS = frozenset({
    "body", "request_body", "requestBody", "response_body", "responseBody", "prompt", "messages",
    "inputText", "inputBodyJson", "outputBodyJson", "completion", "input", "output",
})
_BODY_KEYS_LOWER = frozenset(key.lower() for key in BODY_KEYS)

# Event fields that can carry text copied from the record (a URL with a key, a header in a detail).
EVENT_TEXT_FIELDS = ("actor", "actor_type", "user_agent", "action", "service", "target_host", "target_url",
                     "target_resource", "status_detail", "cloud_account", "cloud_region", "ai_model")

_MARKER_RE = re.compile(r"\[REDACTED:([a-z0-9_]+):fp=([0-9a-f]{12})\]")
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
_SURROGATE = re.compile("[\ud800-\udfff]")

# --- gitleaks rules --------------------------------------------------------------------------------

_GITLEAKS_FILE = "gitleaks.toml"
# gitleaks rules whose findings are provider keys that the AI kinds name (credential_exposure reads those).
_GITLEAKS_AI_KINDS = {
    "openai-api-key": "openai", "anthropic-api-key": "anthropic", "anthropic-admin-api-key": "anthropic",
    "huggingface-access-token": "huggingface", "huggingface-organization-api-token": "huggingface",
    "perplexity-api-key": "perplexity", "gcp-api-key": "google",
}
# Keywords too common to gate on, replaced by what every match starts with.
_KEYWORD_OVERRIDES = {
    # "ey" is in every "key" and "they"; a JWT's header is base64 of '{"', which is always "eyJ".
    "jwt": ("eyj",),
    # "s." is in every "aws." and "amazonaws.com"; only current Vault tokens (hvs.) are gated on, so the
    # legacy form (s. + 24 characters, Vault before 1.10) is not found.
    "vault-service-token": ("hvs.",),
}
# Rules not loaded, and why (besides those whose regex Python cannot compile).
_NOT_LOADED = {
    "generic-api-key": "entropy-only generic rule: every 'key'/'token'/'access' word is its keyword, and it "
                       "would redact identifiers such as CloudTrail's accessKeyId, ARNs and request ids",
    "aws-access-token": "an access key id is an identifier, redacted only beside its secret key",
    "twilio-api-key": "its keyword 'sk' is in 'task', 'disk' and 'risk' (half of all records), and the SK... "
                      "id it finds names a Twilio key whose secret is a separate value",
}
# gitleaks writes a generic rule as <lazy prefix><keyword>...: the prefix only widens where a match may
# start, never what the secret is, and tried at every position it costs ~20x the rest of the rule.
_LAZY_PREFIX = r"[\w.-]{0,50}?"
# A match may start this far before its keyword (openai's T3BlbkFJ is 20-80 characters into the key) ...
_LOOK_BEHIND = 256
# ... and the window searched after a keyword is this wide (gitleaks secrets are at most ~1000 characters).
_LOOK_AHEAD = 1536


@dataclass(frozen=True, slots=True)
class _Allowlist:
    regexes: tuple[re.Pattern[str], ...]
    stopwords: tuple[str, ...]
    target: str  # "secret", "match" or "line"
    every: bool  # condition AND
    never: bool  # scoped to file paths or commits: logs have neither

    def allows(self, secret: str, match: str, line: str) -> bool:
        checks = [False] if self.never else []
        if self.regexes:
            target = {"match": match, "line": line}.get(self.target, secret)
            checks.append(any(pattern.search(target) for pattern in self.regexes))
        if self.stopwords:
            lowered = secret.lower()
            checks.append(any(word in lowered for word in self.stopwords))
        return bool(checks) and (all(checks) if self.every else any(checks))


@dataclass(frozen=True, slots=True, eq=False)
class _GitleaksRule:
    kind: str
    pattern: re.Pattern[str]
    leading: bool
    """Every keyword is where a match starts: try the rule anchored at each keyword hit."""
    secret_group: int
    entropy: float
    allowlists: tuple[_Allowlist, ...]


@dataclass(frozen=True, slots=True)
class _ContextRule:
    kind: str
    pattern: re.Pattern[str]
    group: int  # 0: the whole match is the secret
    word_boundary: bool  # a key prefix must not continue a longer word ("task-..." is not "sk-...")
    param: bool  # a query parameter: check its full name
    check: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class RuleSet:
    """Every redaction rule, grouped by the trigger words that gate them."""

    words: tuple[str, ...]
    context_rules: tuple[tuple[_ContextRule, ...], ...]
    """Per word: position rules anchored at the word, most specific first."""
    gitleaks_rules: tuple[tuple[_GitleaksRule, ...], ...]
    """Per word: gitleaks rules the word is a keyword of."""
    body_words: frozenset[int]
    companions: dict[int, int]
    """Word -> the word without which it does not gate a message."""
    gates: frozenset[int]
    """Words that alone say a message may hold a credential."""
    matcher: ahocorasick_rs.AhoCorasick = field(repr=False)
    message_gate: ahocorasick_rs.BytesAhoCorasick = field(repr=False)
    """Where the words are (positions) in a text, when something must be redacted."""
    word_gate: _WordGate = field(repr=False)
    """Which words a message holds (no positions): the one scan of every message."""
    loaded: tuple[str, ...]
    """Ids of the gitleaks rules in use."""
    skipped: dict[str, str]
    """Ids of the gitleaks rules not in use, with the reason."""
    global_allowlist: _Allowlist


@functools.cache
def rule_set() -> RuleSet:
    """The rules, loaded and compiled once per process on first use (``gitleaks.toml`` is package data)."""
    config = tomllib.loads(resources.files(__package__).joinpath(_GITLEAKS_FILE).read_text(encoding="utf-8"))
    words: dict[str, int] = {}
    context: list[list[_ContextRule]] = []
    gitleaks: list[list[_GitleaksRule]] = []

    def slot(word: str) -> int:
        if word not in words:
            words[word] = len(words)
            context.append([])
            gitleaks.append([])
        return words[word]

    for kind, trigger, pattern in AI_KEY_PATTERNS:
        context[slot(trigger)].append(_ContextRule(kind, re.compile(pattern), 0, True, False))
    for spec in _CONTEXT_PATTERNS:
        rule = _ContextRule(spec.kind, re.compile(spec.pattern), spec.group, spec.word_start,
                            spec.kind == "api_key_param", spec.check)
        for trigger in spec.triggers:
            context[slot(trigger)].append(rule)
    loaded, skipped = [], {}
    for entry in config["rules"]:
        rule_id = entry["id"]
        rule, why_not = _gitleaks_rule(entry)
        if rule is None:
            skipped[rule_id] = why_not
            continue
        loaded.append(rule_id)
        for keyword in _KEYWORD_OVERRIDES.get(rule_id, entry["keywords"]):
            gitleaks[slot(keyword.lower())].append(rule)
    body_words = frozenset(slot(f'"{key}"') for key in sorted(_BODY_KEYS_LOWER))
    companions = {words[word]: slot(companion) for word, companion in _COMPANIONS.items()}
    ordered = sorted(words, key=words.__getitem__)
    return RuleSet(
        words=tuple(ordered),
        context_rules=tuple(map(tuple, context)),
        gitleaks_rules=tuple(map(tuple, gitleaks)),
        body_words=body_words,
        companions=companions,
        gates=frozenset(index for index in range(len(words)) if index not in body_words
                        and index not in companions and (context[index] or gitleaks[index])),
        # A DFA: with ~240 words it scans 1.3 KB in ~2.8 us where the default automaton takes ~3.9 us.
        matcher=ahocorasick_rs.AhoCorasick(ordered, implementation=ahocorasick_rs.Implementation.DFA),
        message_gate=ahocorasick_rs.BytesAhoCorasick([word.encode() for word in ordered],
                                                     implementation=ahocorasick_rs.Implementation.DFA),
        word_gate=_WordGate(ordered),
        loaded=tuple(loaded),
        skipped=skipped,
        global_allowlist=_allowlist(config.get("allowlist", {})),
    )


def _gitleaks_rule(entry: dict) -> tuple[_GitleaksRule | None, str]:
    rule_id = entry["id"]
    if rule_id in _NOT_LOADED:
        return None, _NOT_LOADED[rule_id]
    source = entry.get("regex")
    if source is None:
        return None, "matches file names only"
    if entry.get("path"):
        return None, "scoped to files of one kind (path), which logs are not"
    if not entry.get("keywords"):
        return None, "no keywords to gate on"
    generic = source.startswith(("(?i)" + _LAZY_PREFIX, _LAZY_PREFIX + "(?i:" + _LAZY_PREFIX))
    if source.startswith("(?i)" + _LAZY_PREFIX):
        source = "(?i)" + source[len("(?i)" + _LAZY_PREFIX):]
    elif generic:
        source = "(?i:" + source[len(_LAZY_PREFIX + "(?i:" + _LAZY_PREFIX):]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. "possible nested set": a Go class Python reads otherwise
            pattern = re.compile(source)
            allowlists = tuple(_allowlist(item) for item in entry.get("allowlists", ()))
    except (re.error, Warning) as error:
        return None, f"regex not valid in Python: {error}"
    keywords = _KEYWORD_OVERRIDES.get(rule_id, entry["keywords"])
    heads = _heads(source)
    leading = bool(heads) and all(any(keyword.startswith(head) or head.startswith(keyword) for head in heads)
                                  for keyword in keywords)
    kind = _GITLEAKS_AI_KINDS.get(rule_id, rule_id.replace("-", "_"))
    return _GitleaksRule(kind, pattern, leading, int(entry.get("secretGroup", 0)),
                         float(entry.get("entropy", 0.0)), allowlists), ""


# What a match begins with but does not consume: inline flags, word boundaries, group openings.
_OPENER = re.compile(r"\\b|\(\?[a-zA-Z]+\)|\((?:\?(?:[a-zA-Z]*-?[a-zA-Z]*:|P<\w+>))?")
# One character a match must have: a plain one, an escaped one, or a class of one letter in two cases.
_UNIT = re.compile(r"[A-Za-z0-9_~/-]|\\([.\-_~/])|\[([A-Za-z])([A-Za-z])\]")


def _heads(source: str) -> list[str]:
    """Lower-case literals one of which every match of ``source`` starts with; [] when that is not known.

    Only the simple shapes gitleaks writes are read: openings, then a literal (``ghp_``, ``[Oo]kta``) or
    a group of literal alternatives (``(?:ghu|ghs)_``). Anything else (an optional group, an alternation
    in a group a match opens with) answers [] and the rule is then searched for around its keywords.
    """
    position, groups = 0, 0
    while (opener := _OPENER.match(source, position)) and opener.end() > position:
        groups += opener.group(0).startswith("(") and not opener.group(0).endswith(")")
        position = opener.end()
    branches = _branches(source, position, groups)
    if branches is None:
        return []
    heads = []
    for start in branches:
        units, index = [], start
        while (unit := _UNIT.match(source, index)) and not (unit.group(2) and
                                                            unit.group(2).lower() != unit.group(3).lower()):
            units.append((unit.group(1) or unit.group(2) or unit.group(0)).lower())
            index = unit.end()
        if source[index:index + 1] in ("?", "*", "{"):
            units = units[:-1]  # a quantifier may drop or repeat the last one
        if not units:
            return []
        heads.append("".join(units))
    return heads


def _branches(source: str, position: int, groups: int) -> list[int] | None:
    """Where the alternatives of the innermost of the first ``groups`` groups start (just ``position``
    without alternatives); None when an outer opened group, or the pattern itself, alternates."""
    starts, index, in_class = [position], 0, False
    stack: list[int] = []
    opened = 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A ']' first in a class ("[]..." or "[^]...") is one of its characters.
            index += 2 if source.startswith("^]", index + 1) else int(source.startswith("]", index + 1))
        elif char == "(":
            flags = re.match(r"\(\?[a-zA-Z]+\)", source[index:])
            if flags:
                index += flags.end()
                continue
            stack.append(opened)
            opened += 1
        elif char == ")":
            if stack and stack.pop() < groups and source[index + 1:index + 2] in ("?", "*", "{"):
                return None  # an opened group that may be absent: a match can start after it
        elif char == "|":
            innermost = stack[-1] if stack else -1
            if innermost == groups - 1 and index > position:
                starts.append(index + 1)
            elif innermost < groups - 1:
                return None  # an enclosing group, or the whole pattern, has another way to start
        index += 1
    return starts


def _allowlist(entry: dict) -> _Allowlist:
    return _Allowlist(
        regexes=tuple(filter(None, map(_compiled_or_none, entry.get("regexes", ())))),
        stopwords=tuple(word.lower() for word in entry.get("stopwords", ())),
        target=entry.get("regexTarget", "secret"),
        every=entry.get("condition", "OR").upper() == "AND",
        never=bool(entry.get("paths") or entry.get("commits")),
    )


def _compiled_or_none(source: str) -> re.Pattern[str] | None:
    """An allowlist pattern, or None where Python cannot read it: dropping an exception to redaction
    only ever redacts more."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return re.compile(source)
    except (re.error, Warning):
        return None


def _shannon_entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(count / len(text) * math.log2(count / len(text)) for count in counts.values())


# --- scanning --------------------------------------------------------------------------------------

def _hits(text: str) -> list[tuple[int, int, int]]:
    """(word index, start, end) of every trigger word in ``text``, case-insensitively, overlaps included."""
    rules = rule_set()
    if text.isascii():  # positions in bytes are positions in the text, and bytes scan faster
        return rules.message_gate.find_matches_as_indexes(text.lower().encode(), overlapping=True)
    # str.lower() can change the length of non-ASCII text ('İ' -> 'i̇'); positions must stay valid.
    lowered = text.translate(_ASCII_LOWER)
    try:
        return rules.matcher.find_matches_as_indexes(lowered, overlapping=True)
    except UnicodeEncodeError:  # a lone surrogate (Python's json lets "\\ud800" through): one for one
        return rules.matcher.find_matches_as_indexes(_SURROGATE.sub("\ufffd", lowered), overlapping=True)


@dataclass(frozen=True, slots=True)
class MessageScan:
    secrets: bool
    """A credential may be in the message: redact its records' raw text and event fields."""
    bodies: bool
    """A prompt/body key may be in the message: redact body values."""


class _WordGate:
    """Which trigger words occur in a message, case-insensitively, each reported once: Hyperscan scans
    a 1.5 KB CloudTrail record in ~1.9 µs where the Aho-Corasick automaton over the lowered bytes takes
    ~5 µs, and the gate runs on every message."""

    def __init__(self, words: tuple[str, ...]) -> None:
        import hyperscan

        self._database = hyperscan.Database()
        self._database.compile(
            expressions=[re.escape(word).encode() for word in words], ids=list(range(len(words))),
            elements=len(words), flags=[hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH] * len(words),
        )
        self._scratch = hyperscan.Scratch(self._database)
        self._lock = threading.Lock()  # a scratch space serves one scan at a time

    def words_in(self, value: bytes) -> set[int]:
        found: set[int] = set()

        def seen(word: int, _start: int, _end: int, _flags: int, _context: object) -> None:
            found.add(word)

        with self._lock:
            self._database.scan(value, match_event_handler=seen, scratch=self._scratch)
        return found


def scan_message(value: bytes) -> MessageScan:
    """One linear pass over a whole message's bytes: what redaction its records may need."""
    rules = rule_set()
    found = rules.word_gate.words_in(value)
    if not found:
        return MessageScan(False, False)
    bodies = not found.isdisjoint(rules.body_words)
    secrets_seen = not found.isdisjoint(rules.gates) or any(
        word in found and companion in found for word, companion in rules.companions.items())
    return MessageScan(secrets_seen, bodies)


def _may_hold_secret(text: str) -> bool:
    rules = rule_set()
    seen: set[int] = set()
    for index, _, _ in _hits(text):
        if index in rules.gates:
            return True
        seen.add(index)
    return any(word in seen and companion in seen for word, companion in rules.companions.items())


def may_hold_body(text: str) -> bool:
    """Can this raw JSON hold a prompt/body key at all? (Skips re-serializing most records.)"""
    rules = rule_set()
    return any(index in rules.body_words
               for index, _, _ in _hits(text))


def _param_name_ok(text: str, trigger_start: int) -> bool:
    start = max(text.rfind(sep, max(0, trigger_start - 24), trigger_start) for sep in "?&;\" \n")
    name = text[start + 1:text.index("=", trigger_start)].lower()
    return name in _SECRET_PARAMS


@dataclass(frozen=True, slots=True)
class _Span:
    begin: int
    end: int
    rank: int  # 0: an AI provider key, 1: a known format, 2: a credential known by position
    kind: str


def _find(text: str) -> list[_Span]:
    """Where the credentials in ``text`` are, possibly overlapping."""
    rules = rule_set()
    spans: list[_Span] = []
    windows: dict[_GitleaksRule, list[list[int]]] = {}  # rules not led by their keyword -> where to search
    for index, start, _ in _hits(text):
        for rule in rules.context_rules[index]:
            if rule.word_boundary and start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
                continue
            match = rule.pattern.match(text, start)
            if match is None or (rule.param and not _param_name_ok(text, start)):
                continue
            if rule.check is not None and not rule.check(match.group(rule.group)):
                continue
            rank = 0 if rule.kind in AI_KEY_KINDS else 2
            spans.append(_Span(match.start(rule.group), match.end(rule.group), rank, rule.kind))
            break  # at one position the most specific rule wins
        for rule in rules.gitleaks_rules[index]:
            if rule.leading:
                _gitleaks_match(rule, rule.pattern.match(text, start), text, spans, rules.global_allowlist)
                continue
            window = [max(0, start - _LOOK_BEHIND), min(len(text), start + _LOOK_AHEAD)]
            merged = windows.setdefault(rule, [])
            if merged and window[0] <= merged[-1][1]:
                merged[-1][1] = window[1]
            else:
                merged.append(window)
    for rule, merged in windows.items():
        for window_start, window_end in merged:
            for match in rule.pattern.finditer(text, window_start, window_end):
                if match.end() == window_end < len(text):  # "$" matched the window's end, not the text's
                    match = rule.pattern.match(text, match.start())
                _gitleaks_match(rule, match, text, spans, rules.global_allowlist)
    if any(span.kind == "aws_secret_key" for span in spans) or _AWS_SECRET_MARKER in text:
        spans += [_Span(match.start(1), match.end(1), 1, "aws_access_key_id")
                  for match in _AWS_KEY_ID.finditer(text) if not match.group(1).endswith("EXAMPLE")]
    return spans


def _gitleaks_match(rule: _GitleaksRule, match: re.Match[str] | None, text: str, spans: list[_Span],
                    global_allowlist: _Allowlist) -> None:
    if match is None:
        return
    groups = [index for index in range(1, (match.re.groups or 0) + 1)
              if match.group(index) and index not in match.re.groupindex.values()]
    if rule.secret_group and match.group(rule.secret_group):
        secret = match.group(rule.secret_group)
    else:  # gitleaks: the first non-empty group, else the whole match
        secret = next((match.group(index) for index in range(1, match.re.groups + 1) if match.group(index)),
                      match.group(0))
    if rule.entropy and _shannon_entropy(secret) <= rule.entropy:
        return
    line_start = text.rfind("\n", 0, match.start()) + 1
    line_end = text.find("\n", match.end())
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    if any(allowlist.allows(secret, match.group(0), line)
           for allowlist in (global_allowlist, *rule.allowlists)):
        return
    # What is replaced: from the first to the last captured part (the key name stays, the value goes);
    # a rule without unnamed groups names its secret by the whole match.
    begin = match.start(groups[0]) if groups else match.start()
    end = max(match.end(index) for index in groups) if groups else match.end()
    rank = 0 if rule.kind in AI_KEY_KINDS else 1
    spans.append(_Span(begin, end, rank, rule.kind))


# --- the redactor ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RedactedSecret:
    kind: str
    fingerprint: str

    @property
    def is_ai_key(self) -> bool:
        return self.kind in AI_KEY_KINDS


@dataclass(frozen=True, slots=True)
class Redactor:
    """Redacts with fingerprints keyed by ``key`` (HMAC-SHA256): every process of an installation must
    share it, or the same secret gets different fingerprints. See ``installation_redactor``."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ValueError("a fingerprint key needs at least 16 bytes")

    def fingerprint(self, secret: str) -> str:
        return hmac.new(self.key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:12]

    def marker(self, kind: str, secret: str) -> str:
        return f"[REDACTED:{kind}:fp={self.fingerprint(secret)}]"

    def redact_text(self, text: str) -> str:
        """``text`` with every credential replaced by a redaction marker."""
        if not text:
            return text
        spans = _find(text)
        if not spans:
            return text
        spans.sort(key=lambda span: (span.begin, -span.end))
        pieces, cursor, index = [], 0, 0
        while index < len(spans):
            # Overlapping finds become one marker: the best-ranked names it, all of them go.
            cluster = [spans[index]]
            end = spans[index].end
            index += 1
            while index < len(spans) and spans[index].begin < end:
                cluster.append(spans[index])
                end = max(end, spans[index].end)
                index += 1
            best = min(cluster, key=lambda span: (span.rank, span.begin))
            pieces.append(text[cursor:cluster[0].begin])
            pieces.append(self.marker(best.kind, text[best.begin:best.end]))
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces)

    def redact_bytes(self, raw: bytes) -> bytes:
        """Credentials redacted from bytes that may not be UTF-8 (bytes that are not stay as they were)."""
        try:
            text, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            # Latin-1 maps each byte to one character and back, so every ASCII credential is found
            # where it is and the bytes around it come back unchanged.
            text, encoding = raw.decode("latin-1"), "latin-1"
        redacted = self.redact_text(text)
        return raw if redacted is text else redacted.encode(encoding)

    def redact_event_fields(self, event: dict) -> None:
        """Redact the event's text fields in place (after ``raw``, which decides about AWS key ids)."""
        names = [name for name in EVENT_TEXT_FIELDS if event.get(name)]
        aws_pair = _AWS_SECRET_MARKER in event.get("raw", "")
        # One search over all the fields says whether any holds a credential: a trigger word alone (an
        # 'api-' in a role name) is no reason to search each field again. The message's gate first: the
        # record's gate fired for its raw text, and most of its fields hold no trigger word at all.
        joined = "\n".join(event[name] for name in names)
        if not aws_pair and not (scan_message(joined.encode("utf-8", "surrogatepass")).secrets and _find(joined)):
            return
        for name in names:
            redacted = self.redact_text(event[name])
            if aws_pair:
                redacted = _AWS_KEY_ID.sub(self._aws_key_id_marker, redacted)
            event[name] = redacted

    def _aws_key_id_marker(self, match: re.Match[str]) -> str:
        return self.marker("aws_access_key_id", match.group(1))

    def redact_bodies(self, record: Any) -> tuple[Any, bool]:
        """A copy of a JSON record with prompt/body values replaced by their size and fingerprint.

        Returns ``(record, changed)``; when nothing was redacted the record itself is returned.
        """
        if isinstance(record, dict):
            changed = False
            out = {}
            for key, value in record.items():
                if key.lower() in _BODY_KEYS_LOWER and value not in (None, "", [], {}):
                    out[key] = self._body_summary(value)
                    changed = True
                else:
                    out[key], sub_changed = self.redact_bodies(value)
                    changed = changed or sub_changed
            return (out, True) if changed else (record, False)
        if isinstance(record, list):
            items = [self.redact_bodies(item) for item in record]
            if any(changed for _, changed in items):
                return [item for item, _ in items], True
            return record, False
        return record, False

    def _body_summary(self, value: Any) -> str:
        text = value if isinstance(value, str) else repr(value)
        return f"[REDACTED:body:len={len(text)}:fp={self.fingerprint(text)}]"


@functools.cache
def default_redactor() -> Redactor:
    """A redactor with a random key made once per process, for callers that have no installation (tests,
    a data dir that cannot hold a key): its fingerprints agree within one process only. The worker and
    ``aispm detect`` use ``installation_redactor``."""
    return Redactor(secrets.token_bytes(32))


FINGERPRINT_KEY_FILE = Path("secrets") / "fingerprint.key"


def installation_redactor(data_dir: Path, configured_key: str | None = None) -> Redactor:
    """The installation's redactor: keyed by ``configured_key`` when set (several workers must share one),
    else by ``<data_dir>/secrets/fingerprint.key``, made (mode 0600) on first use."""
    if configured_key:
        return Redactor(configured_key.encode())
    path = data_dir / FINGERPRINT_KEY_FILE
    try:
        return Redactor(_read_key(path))
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)  # atomic and never overwrites: of two first starts, one key wins
        except FileExistsError:
            pass
    finally:
        draft.unlink(missing_ok=True)
    return Redactor(_read_key(path))


def installation_redactor_or_default(data_dir: Path,
                                     configured_key: str | None = None) -> tuple[Redactor, str | None]:
    """``installation_redactor``, or ``default_redactor()`` when ``data_dir`` cannot hold a key; the
    second value then says why (the caller warns: its fingerprints will not match the worker's)."""
    try:
        return installation_redactor(data_dir, configured_key), None
    except OSError as error:
        return default_redactor(), f"{type(error).__name__}: {error}"


def _read_key(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} is readable by other users; run: chmod 600 {path}")
    return bytes.fromhex(path.read_text().strip())


def redacted_secrets(text: str) -> list[RedactedSecret]:
    """The redaction markers found in already-redacted text, in order, without repeats."""
    seen: dict[tuple[str, str], None] = {}
    for match in _MARKER_RE.finditer(text or ""):
        seen.setdefault((match.group(1), match.group(2)), None)
    return [RedactedSecret(kind, fp) for kind, fp in seen]

"""Redaction of credentials and of prompt/body content, applied before anything is stored or sent.

A credential is replaced by ``[REDACTED:<kind>:fp=<12 hex>]``: the kind says what it was (``openai``,
``anthropic``, ``bearer`` ...) and the fingerprint (a truncated SHA-256 of the secret) lets analysts see
that two sightings are the same key without the key itself ever being kept.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import ahocorasick_rs

# Provider API-key formats, most specific first (sk-ant- and sk-proj- before plain sk-).
AI_KEY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("anthropic", r"sk-ant-(?:api|admin|sid)?\d{0,2}-?[A-Za-z0-9_\-]{20,}"),
    ("openrouter", r"sk-or-v1-[A-Za-z0-9]{32,}"),
    ("openai", r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}"),
    ("openai", r"sk-[A-Za-z0-9]{20,}(?:T3BlbkFJ[A-Za-z0-9]{10,})?"),
    ("huggingface", r"hf_[A-Za-z0-9]{30,}"),
    ("groq", r"gsk_[A-Za-z0-9]{40,}"),
    ("google", r"AIza[0-9A-Za-z_\-]{35}"),
    ("xai", r"xai-[A-Za-z0-9]{40,}"),
    ("perplexity", r"pplx-[A-Za-z0-9]{40,}"),
    ("replicate", r"r8_[A-Za-z0-9]{30,}"),
    ("nvidia", r"nvapi-[A-Za-z0-9_\-]{40,}"),
    ("fireworks", r"fw_[A-Za-z0-9]{20,}"),
    ("langsmith", r"lsv2_(?:pt|sk)_[A-Za-z0-9_]{30,}"),
)
AI_KEY_KINDS = frozenset(kind for kind, _ in AI_KEY_PATTERNS)

# Credentials carried by position rather than by format: header values and query parameters.
_CONTEXT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("bearer", r"(?i:bearer)\s+([A-Za-z0-9_\-\.=~+/]{12,})"),
    ("api_key_param", r"(?i:[?&;](?:api[_-]?key|key|access_token|token|apikey)=)(?!\[REDACTED)([^&\s\"'#]{8,})"),
    ("api_key_header", r"(?i:\"?(?:x-api-key|api-key|x-goog-api-key|authorization)\"?\s*[:=]\s*\"?)"
                       r"(?!Bearer\s)(?!\[REDACTED)([A-Za-z0-9_\-\.=~+/]{16,})"),
)

_AI_KEY_RE = re.compile("|".join(f"(?P<k{i}>{p})" for i, (_, p) in enumerate(AI_KEY_PATTERNS)))
_AI_KEY_KIND_BY_GROUP = {f"k{i}": kind for i, (kind, _) in enumerate(AI_KEY_PATTERNS)}
_CONTEXT_RES = tuple((kind, re.compile(p)) for kind, p in _CONTEXT_PATTERNS)

# Literal substrings (lower-cased) without which a pattern group cannot match. One Aho-Corasick pass
# over the text finds which groups are worth running: the common case (nothing to redact) then costs
# one linear scan instead of a dozen regex passes (measured: ~3 us vs ~60 us on a 1.2 KB record).
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "ai_key": ("sk-", "hf_", "gsk_", "aiza", "xai-", "pplx-", "r8_", "nvapi-", "fw_", "lsv2_"),
    "bearer": ("bearer",),
    "api_key_param": ("key=", "token="),
    "api_key_header": ("api-key", "authorization"),
    # Prompt/body keys (see BODY_KEYS below), lower-cased and quoted as JSON keys.
    "body": ('"body"', '"request_body"', '"requestbody"', '"response_body"', '"responsebody"', '"prompt"',
             '"messages"', '"inputtext"', '"inputbodyjson"', '"outputbodyjson"', '"completion"', '"input"',
             '"output"'),
}
_TRIGGER_GROUP = [group for group, words in _TRIGGERS.items() for _ in words]
_TRIGGER_MATCHER = ahocorasick_rs.AhoCorasick([word for words in _TRIGGERS.values() for word in words])


@dataclass(frozen=True, slots=True)
class RedactedSecret:
    kind: str
    fingerprint: str

    @property
    def is_ai_key(self) -> bool:
        return self.kind in AI_KEY_KINDS


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def _marker(kind: str, secret: str) -> str:
    return f"[REDACTED:{kind}:fp={fingerprint(secret)}]"


def trigger_groups(text: str) -> set[str]:
    """Which pattern groups (``ai_key``, ``bearer``, ..., ``body``) can match in ``text``: one scan."""
    return {_TRIGGER_GROUP[index] for index, _, _ in _TRIGGER_MATCHER.find_matches_as_indexes(text.lower())}


def redact_text(text: str, groups: set[str] | None = None) -> str:
    """``text`` with every credential replaced by a redaction marker.

    ``groups`` may pass the result of ``trigger_groups(text)`` when the caller already has it.
    """
    if not text:
        return text
    if groups is None:
        groups = trigger_groups(text)
    if not groups or groups == {"body"}:
        return text
    if "ai_key" in groups:
        text = _AI_KEY_RE.sub(lambda m: _marker(_AI_KEY_KIND_BY_GROUP[m.lastgroup or ""], m.group(0)), text)
    for kind, pattern in _CONTEXT_RES:
        if kind not in groups:
            continue
        text = pattern.sub(
            lambda m, kind=kind: m.group(0)[: m.start(1) - m.start(0)] + _marker(kind, m.group(1)), text
        )
    return text


def redacted_secrets(text: str) -> list[RedactedSecret]:
    """The redaction markers found in already-redacted text, in order, without repeats."""
    seen: dict[tuple[str, str], None] = {}
    for match in _MARKER_RE.finditer(text or ""):
        seen.setdefault((match.group(1), match.group(2)), None)
    return [RedactedSecret(kind, fp) for kind, fp in seen]


# --- prompt / body content ---------------------------------------------------------------------------

BODY_KEYS = frozenset({
    "body", "request_body", "requestBody", "response_body", "responseBody", "prompt", "messages",
    "inputText", "inputBodyJson", "outputBodyJson", "completion", "input", "output",
})
assert {f'"{key.lower()}"' for key in BODY_KEYS} == set(_TRIGGERS["body"]), "keep BODY_KEYS and triggers in step"


def redact_bodies(record: Any) -> tuple[Any, bool]:
    """A copy of a JSON record with prompt/body values replaced by their size and hash.

    Returns ``(record, changed)``; when nothing was redacted the record itself is returned.
    """
    if isinstance(record, dict):
        changed = False
        out = {}
        for key, value in record.items():
            if key in BODY_KEYS and value not in (None, "", [], {}):
                out[key] = _body_summary(value)
                changed = True
            else:
                out[key], sub_changed = redact_bodies(value)
                changed = changed or sub_changed
        return (out, True) if changed else (record, False)
    if isinstance(record, list):
        items = [redact_bodies(item) for item in record]
        if any(changed for _, changed in items):
            return [item for item, _ in items], True
        return record, False
    return record, False


def _body_summary(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return f"[REDACTED:body:len={len(text)}:sha256={hashlib.sha256(text.encode()).hexdigest()[:12]}]"

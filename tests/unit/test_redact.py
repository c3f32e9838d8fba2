"""Credential and body redaction: every known key format is replaced by a marker, nothing else is."""

from __future__ import annotations

import pytest

from streams.normalize.redact import redact_bodies, redact_text, redacted_secrets

FAKE_KEYS = {
    "openai": "sk-proj-" + "Ab1" * 20,
    "anthropic": "sk-ant-api03-" + "xY9_" * 20,
    "huggingface": "hf_" + "aB3" * 12,
    "groq": "gsk_" + "Qw7" * 18,
    "google": "AIza" + "Sy0_" * 8 + "abc",
    "xai": "xai-" + "Zz1" * 20,
    "perplexity": "pplx-" + "Pp2" * 16,
    "replicate": "r8_" + "Rr3" * 12,
}


@pytest.mark.parametrize("kind", sorted(FAKE_KEYS))
@pytest.mark.parametrize("template", [
    "GET /v1/chat/completions?api_key={key}&stream=true HTTP/1.1",
    '{{"headers": {{"authorization": "Bearer {key}"}}}}',
    "x-api-key: {key}",
    "plain {key} in text",
])
def test_provider_keys_are_replaced_by_a_marker_of_their_kind(kind: str, template: str) -> None:
    key = FAKE_KEYS[kind]
    redacted = redact_text(template.format(key=key))
    assert key not in redacted
    secrets = redacted_secrets(redacted)
    assert [secret.kind for secret in secrets] == [kind]
    assert secrets[0].is_ai_key


def test_generic_bearer_tokens_and_key_parameters_are_redacted() -> None:
    redacted = redact_text('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig /x?token=abcdef123456&page=2')
    assert "eyJhbGciOiJIUzI1NiJ9" not in redacted and "abcdef123456" not in redacted
    assert {secret.kind for secret in redacted_secrets(redacted)} == {"bearer", "api_key_param"}
    assert "page=2" in redacted


@pytest.mark.parametrize("text", [
    "task-abcdefghijklmnopqrstuvwxyz0123 is a task id, not a key",
    "/search?monkey=bananas12345&sort=asc",
    '{"eventName": "ListFoundationModels", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"}',
    "sk-short",
])
def test_look_alikes_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_the_same_key_has_the_same_fingerprint_and_is_redacted_once() -> None:
    key = FAKE_KEYS["openai"]
    first = redact_text(f"a {key}")
    assert redact_text(first) == first
    assert redacted_secrets(first) == redacted_secrets(redact_text(f"b {key} b"))


def test_non_ascii_text_keeps_positions() -> None:
    key = FAKE_KEYS["huggingface"]
    assert redact_text(f"İİİ ünïcode {key} tail") == f"İİİ ünïcode {redacted_markers(key)} tail"


def redacted_markers(key: str) -> str:
    return redact_text(key)


def test_prompt_bodies_are_replaced_by_size_and_hash() -> None:
    record = {"eventName": "InvokeModel", "requestParameters": {"body": "tell me the secret plan", "modelId": "m"}}
    redacted, changed = redact_bodies(record)
    assert changed
    assert "secret plan" not in str(redacted)
    assert redacted["requestParameters"]["modelId"] == "m"
    assert redacted["requestParameters"]["body"].startswith("[REDACTED:body:len=23:")
    assert redact_bodies({"a": 1}) == ({"a": 1}, False)

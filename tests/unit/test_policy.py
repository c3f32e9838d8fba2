"""Sanctioned-use policy: evaluation, explanations, errors with lines, and reloading."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.enrich.policy import ConfigFileError, Policy, PolicyFile

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "policy"
NOW = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.from_file(SAMPLES / "policy.yaml")


def test_sample_policy_loads(policy: Policy) -> None:
    assert policy.clause_ids == ("copilot-for-engineering", "bedrock-ml-platform", "azure-openai-support-bot",
                                 "chatgpt-enterprise-pilot", "research-lab")
    assert not policy.discovery_mode


@pytest.mark.parametrize(("principal", "src_ip", "provider", "product", "groups", "clause", "how"), [
    ("arn:aws:sts::111122223333:assumed-role/MLPlatform/batch-7", "", "aws-bedrock", "Amazon Bedrock runtime",
     (), "bedrock-ml-platform", "identity prefix"),
    ("arn:aws:iam::111122223333:user/ml-batch", "", "aws-sagemaker", "Amazon SageMaker runtime", (),
     "bedrock-ml-platform", "identity 'arn:aws:iam::111122223333:user/ml-batch'"),
    ("arn:aws:sts::111122223333:assumed-role/ml-inference/i-0abc", "", "aws-bedrock", "x", (),
     "bedrock-ml-platform", "service 'ml-inference'"),
    ("system:serviceaccount:support:chatbot", "10.1.1.1", "azure-openai", "Azure OpenAI", (),
     "azure-openai-support-bot", "service 'support/chatbot'"),
    ("", "10.20.7.9", "github-copilot", "GitHub Copilot", (), "copilot-for-engineering", "network 10.20.0.0/16"),
    ("bob", "192.0.2.1", "github-copilot", "GitHub Copilot", ("staff", "engineering"), "copilot-for-engineering",
     "group 'engineering'"),
    ("", "fd00:99::42", "anthropic", "Claude", (), "research-lab", "network fd00:99::/64"),
    ("", "10.99.0.200", "some-new-provider", "Anything", (), "research-lab", "network 10.99.0.0/24"),
])
def test_sanctioned_uses_name_clause_and_how(policy: Policy, principal: str, src_ip: str, provider: str,
                                             product: str, groups: tuple[str, ...], clause: str, how: str) -> None:
    verdict = policy.evaluate(principal, src_ip, provider, product, groups, now=NOW)
    assert verdict.sanctioned, verdict.reason
    assert verdict.clause == clause
    assert how in verdict.reason


def test_unsanctioned_user_gets_reason_and_alternatives(policy: Policy) -> None:
    verdict = policy.evaluate("dave", "10.20.1.1", "openai", "ChatGPT", now=NOW)
    assert not verdict.sanctioned and verdict.clause is None
    assert "openai/ChatGPT is sanctioned only for the users of clause(s) 'chatgpt-enterprise-pilot', " \
           "'research-lab', which do not include dave" == verdict.reason
    assert verdict.sanctioned_alternatives == ["github-copilot"]  # dave's address is on the engineering net


def test_provider_only_a_wildcard_clause_covers(policy: Policy) -> None:
    verdict = policy.evaluate("dave", "192.0.2.10", "deepseek", "DeepSeek Chat", now=NOW)
    assert not verdict.sanctioned
    assert verdict.reason == ("deepseek/DeepSeek Chat is sanctioned only for the users of clause(s) 'research-lab', "
                              "which do not include dave")
    assert verdict.sanctioned_alternatives == []


def test_expired_clause_is_named_with_its_date(policy: Policy) -> None:
    user = "jane.doe@marketing.example.com"
    on_last_day = policy.evaluate(user, "", "openai", "ChatGPT", now=datetime(2025, 6, 30, 23, 59, tzinfo=UTC))
    assert on_last_day.sanctioned and on_last_day.clause == "chatgpt-enterprise-pilot"
    after = policy.evaluate(user, "", "openai", "ChatGPT", now=datetime(2025, 7, 1, 0, 0, tzinfo=UTC))
    assert not after.sanctioned
    assert after.clause == "chatgpt-enterprise-pilot"
    assert "expired on 2025-06-30" in after.reason
    # A naive datetime is read as UTC, not as the machine's local time.
    assert not policy.evaluate(user, "", "openai", "ChatGPT", now=datetime(2025, 7, 1, 0, 30)).sanctioned


def test_products_narrow_a_clause(policy: Policy) -> None:
    user = "jane.doe@marketing.example.com"
    june = datetime(2025, 6, 1, tzinfo=UTC)
    assert policy.evaluate(user, "", "openai", "chatgpt", now=june).sanctioned  # product names ignore case
    api = policy.evaluate(user, "", "openai", "OpenAI API", now=june)
    assert not api.sanctioned
    assert "openai/ChatGPT" in api.sanctioned_alternatives


def test_identity_matchers_do_not_overreach(policy: Policy) -> None:
    # Prefix is a prefix of the whole ARN, not a substring; regex anchors are honoured.
    assert not policy.evaluate("arn:aws:sts::999999999999:assumed-role/MLPlatform/x", "", "aws-bedrock", "",
                               now=NOW).sanctioned
    assert not policy.evaluate("jane@marketing.example.com.evil", "", "openai", "ChatGPT",
                               now=datetime(2025, 6, 1, tzinfo=UTC)).sanctioned
    assert not policy.evaluate("", "not-an-ip", "anthropic", "Claude", now=NOW).sanctioned
    assert not policy.evaluate("", "10.99.1.1", "anthropic", "Claude", now=NOW).sanctioned


def test_discovery_mode_reports_everything() -> None:
    verdict = Policy.discovery().evaluate("alice", "10.0.0.1", "openai", "ChatGPT")
    assert not verdict.sanctioned and verdict.clause is None
    assert "discovery mode" in verdict.reason


def test_a_policy_without_clauses_sanctions_nothing() -> None:
    empty = Policy.from_text("version: 1\nclauses: []\n")
    verdict = empty.evaluate("alice", "", "openai", "ChatGPT")
    assert not verdict.sanctioned and not empty.discovery_mode
    assert verdict.reason == "no clause sanctions openai/ChatGPT"


def test_everyone_clause() -> None:
    company = Policy.from_text("version: 1\nclauses:\n  - id: all\n    providers: [github-copilot]\n"
                               "    everyone: true\n")
    verdict = company.evaluate("", "", "github-copilot", "GitHub Copilot")
    assert verdict.sanctioned and "everyone" in verdict.reason


# --- errors --------------------------------------------------------------------------------------------

def test_invalid_policy_file_names_every_problem_with_its_line() -> None:
    with pytest.raises(ConfigFileError) as caught:
        Policy.from_file(SAMPLES / "invalid_policy.yaml")
    origin = str(SAMPLES / "invalid_policy.yaml")
    found = [(problem.origin, problem.line, problem.field) for problem in caught.value.problems]
    assert found == [
        (origin, 6, "clauses.0.networks.0"),
        (origin, 7, "clauses.1"),
        (origin, 12, "clauses.2.identities.0"),
        (origin, 16, "clauses.3.expires"),
    ]
    messages = [problem.message for problem in caught.value.problems]
    assert "not a CIDR block" in messages[0]
    assert "must say who it covers" in messages[1]
    assert "invalid regular expression" in messages[2]
    assert f"{origin}:6: clauses.0.networks.0: not a CIDR block" in str(caught.value)


@pytest.mark.parametrize(("text", "line", "field", "message"), [
    ("version: 1\nclauses:\n  - id: a\n    providers: [x]\n    everyone: true\n    surprise: 1\n",
     6, "clauses.0.surprise", "Extra inputs"),
    (("version: 1\nclauses:\n  - id: a\n    providers: [x]\n    everyone: true\n"
     "  - id: a\n    providers: [y]\n    everyone: true\n"), 6, "clauses.1.id", "already used at line 3"),
    ("version: 1\nclauses:\n  - id: a\n    providers: []\n    everyone: true\n", 4, "clauses.0.providers",
     "at least 1"),
    ("version: 1\nclauses:\n  - id: a\n    providers: [x]\n    networks: [10.1.2.3/16]\n", 5,
     "clauses.0.networks.0", "host bits set"),
    ("version: 1\nclauses:\n  - id: a\n    providers: [x]\n    identities:\n      - exact: a\n        prefix: b\n",
     6, "clauses.0.identities.0", "exactly one of"),
    ("version: 1\nclauses:\n  - id: a\n    providers: [x]\n  everyone: true\n", 5, "", "invalid YAML"),
    ("version: 1\nversion: 1\n", 2, "version", "duplicate key (first at line 1)"),
    ("version: 2\n", 1, "version", "Input should be 1"),
    ("", 0, "", "empty"),
])
def test_policy_errors_name_line_and_field(text: str, line: int, field: str, message: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        Policy.from_text(text, "p.yaml")
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (line, field), str(caught.value)
    assert message in problem.message


# --- reloading -----------------------------------------------------------------------------------------

def _write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(mtime_ns, mtime_ns))


ALLOW_OPENAI = "version: 1\nclauses:\n  - id: a\n    providers: [openai]\n    everyone: true\n"
ALLOW_ANTHROPIC = "version: 1\nclauses:\n  - id: b\n    providers: [anthropic]\n    everyone: true\n"


def test_policy_file_reloads_only_on_real_change(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    watched = PolicyFile(path)
    assert watched.current().discovery_mode  # no file yet

    _write(path, ALLOW_OPENAI, 1_000_000_000)
    first = watched.current()
    assert first.clause_ids == ("a",) and watched.loads == 1
    assert watched.current() is first  # unchanged stat: no read

    _write(path, ALLOW_OPENAI, 2_000_000_000)  # touched, same content: read, hashed, not re-parsed
    assert watched.current() is first and watched.loads == 1

    _write(path, ALLOW_ANTHROPIC, 3_000_000_000)
    second = watched.current()
    assert second.clause_ids == ("b",) and watched.loads == 2
    assert second.evaluate("x", "", "anthropic", "Claude").sanctioned


def test_policy_file_keeps_last_good_policy_on_a_bad_edit(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    _write(path, ALLOW_OPENAI, 1_000_000_000)
    watched = PolicyFile(path)
    good = watched.current()
    _write(path, "version: 1\nclauses:\n  - id: a\n    providers: [openai]\n", 2_000_000_000)
    assert watched.current() is good
    assert watched.last_error is not None and f"{path}:3: clauses.0" in str(watched.last_error)
    _write(path, ALLOW_ANTHROPIC, 3_000_000_000)
    assert watched.current().clause_ids == ("b",) and watched.last_error is None
    path.unlink()
    assert watched.current().discovery_mode


def test_policy_file_invalid_from_the_start_raises(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(b"version: 1\nclauses: [\xff]\n")
    with pytest.raises(ConfigFileError, match="not UTF-8"):
        PolicyFile(path).current()


# --- hostile or broken files: always a ConfigFileError naming file and line, never another exception ----

CLAUSE = "version: 1\nclauses:\n  - id: a\n    providers: [x]\n    everyone: true\n"
# Expanding these aliases would give 10^8 values.
ALIAS_BOMB = "".join(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]\n" for level in range(1, 9))


@pytest.mark.parametrize(("text", "line", "message"), [
    (CLAUSE + "    expires: 2025-13-45\n", 6, "month must be in 1..12"),
    (CLAUSE + "    expires: !!timestamp 'next tuesday'\n", 6, "cannot read this value"),
    (CLAUSE + "    expires: 2025-02-30\n", 6, "day is out of range"),
    ("version: !!int 'one'\n", 1, "cannot read this value"),
    ("version: !!float 'one'\n", 1, "cannot read this value"),
    ("version: " + "9" * 5000 + "\n", 1, "cannot read this value"),
    ("version: 1\nclauses: &loop [*loop]\n", 2, "deeper than"),
    ("version: 1\nclauses: " + "[" * 5000 + "]" * 5000 + "\n", 2, "deeper than"),
    ("version: 1\nclauses: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", 2, "deeper than"),
    # Block style: the 65th level (line 2 + 64) is one too many.
    ("version: 1\nclauses:\n" + "".join("  " * i + "- \n" for i in range(1, 200)), 66, "deeper than"),
    # The budget runs out among l0's values, on line 1.
    ("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + ALIAS_BOMB + "version: 1\n", 1, "once aliases are expanded"),
    ("version: 1\nclauses: []\nnote: 'a\x00b'\n", 3, "invalid YAML"),
    ("version: 1\n\x07\n", 2, "invalid YAML"),
    (CLAUSE.replace("everyone: true", "identities: [{regex: 'a{99999999999}'}]"), 5,
     "invalid regular expression"),
    (CLAUSE.replace("everyone: true", f"identities: [{{regex: '{'(' * 2000}{')' * 2000}'}}]"), 5,
     "invalid regular expression"),
])
def test_a_hostile_policy_is_a_config_error_with_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        Policy.from_text(text, "p.yaml")
    problem = caught.value.problems[0]
    assert problem.origin == "p.yaml"
    assert problem.line == line, str(caught.value)
    assert message in problem.message, str(caught.value)


def test_a_policy_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(b"version: 1\nclauses:\n  - id: \xff\n")
    with pytest.raises(ConfigFileError) as caught:
        PolicyFile(path).current()
    problem = caught.value.problems[0]
    assert (problem.origin, problem.line) == (str(path), 3) and "not UTF-8" in problem.message

"""Fuzzing the policy loader: random and mutated YAML gives a ``Policy`` or a ``ConfigFileError`` whose
every problem names the file and a line, never another exception (and never a hang).

Inputs: the sample policies with lines deleted, repeated, swapped, re-indented or spliced with YAML's
sharper tools (anchors and aliases, tags, merge keys, block scalars, flow collections, documents,
control characters); arbitrary text; random YAML documents built from the policy's own vocabulary; and
arbitrary bytes through ``PolicyFile`` (which also decodes). A policy that loads is evaluated once.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.enrich.policy import ConfigFileError, Policy, PolicyFile

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "policy"
ORIGIN = "fuzzed.yaml"
SEED_TEXTS = tuple(path.read_text() for path in sorted(SAMPLES.glob("*.yaml")))
MUTATED_POLICIES = 3000

YAML_PIECES = (
    "&a ", "*a", "&a [*a]", "!!int ", "!!float ", "!!timestamp ", "!!binary ", "!!set ", "!!python/object:os.system ",
    "!!str ", "!custom ", "<<: *a", "<<: 5", "? ", "- ", ": ", "|", ">-", "---", "...", "%YAML 1.1", "%TAG ! x",
    "{", "}", "[", "]", ",", "#", "'", '"', "\\", "\t", "\x00", "\x07", "\x85", "\u2028", "\ufeff", "\r", "\n",
    "~", "null", "yes", "2025-13-45", "2025-02-30", "1e400", ".nan", "-.inf", "0x", "0o9", "9" * 5000,
    "'(unclosed'", "'a{99999999999}'", "'" + "(" * 500 + ")" * 500 + "'", "10.0.0.300/8", "fd00::/200",
    "[" * 300, "{a: " * 100,
)
# YAML ends lines at these (and so do many editors), not only at "\n".
YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
VOCABULARY = ("version", "clauses", "id", "description", "providers", "products", "identities", "exact", "prefix",
              "regex", "groups", "networks", "services", "everyone", "expires", "surprise")


def assert_loads_or_names_the_line(text: str) -> None:
    try:
        policy = Policy.from_text(text, ORIGIN)
    except ConfigFileError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.origin == ORIGIN and problem.message
            # Line 0 means "the whole file"; only an empty document has no better line to name.
            assert problem.line >= 1 or problem.message == "the policy file is empty", str(error)
            assert 0 <= problem.line <= len(YAML_LINE_BREAK.split(text)), str(error)
        return
    policy.evaluate("alice@example.com", "10.20.1.1", "openai", "ChatGPT", groups=("engineering",))


# --- seeded mutation of the sample policies ----------------------------------------------------------------

def mutated_policy(rng: random.Random) -> str:
    lines = rng.choice(SEED_TEXTS).split("\n")
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines))
        action = rng.randrange(7)
        if action == 0:
            del lines[at]
        elif action == 1:
            lines.insert(at, lines[rng.randrange(len(lines))])
        elif action == 2:
            other = rng.randrange(len(lines))
            lines[at], lines[other] = lines[other], lines[at]
        elif action == 3:
            lines[at] = " " * rng.choice((0, 1, 3, 8)) + lines[at].lstrip()
        elif action == 4:
            column = rng.randrange(len(lines[at]) + 1)
            lines[at] = lines[at][:column] + rng.choice(YAML_PIECES) + lines[at][column:]
        elif action == 5:
            column = rng.randrange(len(lines[at]) + 1)
            lines[at] = lines[at][:column]
        else:
            lines[at] = lines[at].replace(": ", f": {rng.choice(YAML_PIECES)}", 1)
        if not lines:
            lines = [""]
    return "\n".join(lines)


def test_mutated_sample_policies() -> None:
    rng = random.Random(11)
    outcomes = {"loaded": 0, "refused": 0}
    for _ in range(MUTATED_POLICIES):
        text = mutated_policy(rng)
        assert_loads_or_names_the_line(text)
        try:
            Policy.from_text(text, ORIGIN)
            outcomes["loaded"] += 1
        except ConfigFileError:
            outcomes["refused"] += 1
    assert outcomes["loaded"] > 100 and outcomes["refused"] > 1000, outcomes


# --- hypothesis ----------------------------------------------------------------------------------------------

FUZZ_SETTINGS = settings(max_examples=400, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

yaml_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | st.dates()
                | st.sampled_from(("openai", "*", "10.0.0.0/8", "::/0", "(a+)+$", "2025-06-30", "everyone")))
yaml_documents = st.recursive(
    yaml_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(VOCABULARY), children,
                                                                      max_size=5),
    max_leaves=25,
)


@FUZZ_SETTINGS
@given(document=yaml_documents, flow=st.booleans())
def test_random_documents_in_the_policy_vocabulary(document: object, flow: bool) -> None:
    text = yaml.safe_dump({"version": 1, "clauses": document} if flow else document, default_flow_style=flow)
    assert_loads_or_names_the_line(text)


@FUZZ_SETTINGS
@given(text=st.lists(st.sampled_from(YAML_PIECES) | st.characters(codec="utf-8"), max_size=60).map("".join))
def test_arbitrary_text(text: str) -> None:
    assert_loads_or_names_the_line(text)


@FUZZ_SETTINGS
@given(data=st.data())
def test_sample_policies_with_bytes_spliced_through_policy_file(data: st.DataObject, tmp_path_factory) -> None:
    seed = data.draw(st.sampled_from(SEED_TEXTS)).encode()
    at = data.draw(st.integers(0, len(seed)))
    noise = data.draw(st.binary(min_size=1, max_size=6) | st.sampled_from((b"\xff", b"\xc3", b"\x00", b"\t")))
    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_bytes(seed[:at] + noise + seed[at:])
    try:
        PolicyFile(path).current()
    except ConfigFileError as error:
        for problem in error.problems:
            assert problem.origin == str(path) and problem.line >= 1, str(error)


@pytest.mark.parametrize("text", SEED_TEXTS)
def test_the_seeds_themselves(text: str) -> None:
    assert_loads_or_names_the_line(text)

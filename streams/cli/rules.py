"""`aispm rules list|test`: see the detection rules and run their examples."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.base import ExitCode
from streams.cli.output import FORMATS, Listing, emit, output_options
from streams.detect import Rule, RuleLoadError, discover_rules, example_problems, load_rules

_SIGMA_OPTION = click.option(
    "--sigma", "sigma_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="Also load Sigma rules for CloudTrail from this file or directory (repeatable).",
)


@click.group("rules")
def rules() -> None:
    """AI posture and threat rules (built-in and Sigma)."""


@rules.command("list")
@output_options(*FORMATS, default="table")
@_SIGMA_OPTION
def list_rules(fmt: str, output: Path | None, sigma_paths: tuple[Path, ...]) -> None:
    """List every rule: id, title, severity, status, tags and example counts."""
    try:
        loaded = load_rules(sigma_paths)
    except RuleLoadError as error:
        raise click.BadParameter(str(error), param_hint="--sigma") from error
    emit(rule_listing(loaded), fmt, output)


def rule_listing(loaded: tuple[Rule, ...] | list[Rule]) -> Listing:
    summaries = [rule.summary() for rule in loaded]
    rows = [[item["id"], item["title"], item["severity"], item["status"],
             " ".join(item["attack"] + item["atlas"] + item["owasp_llm"] + item["nist_ai_rmf"]),
             f"{item['examples']['positive']}/{item['examples']['negative']}"] for item in summaries]
    return Listing(["id", "title", "severity", "status", "tags", "examples +/-"], rows, records=summaries,
                   title=f"{len(summaries)} rules", whole=["id"])


@rules.command("test")
@click.option("--id", "rule_ids", multiple=True, help="Only this rule (repeatable).")
def test_rules(rule_ids: tuple[str, ...]) -> None:
    """Run every rule's examples; one PASS/FAIL line per rule, exit 1 when any fails."""
    selected = list(discover_rules())
    if rule_ids:
        unknown = sorted(set(rule_ids) - {rule.id for rule in selected})
        if unknown:
            raise click.BadParameter(f"no rule with id {', '.join(unknown)}", param_hint="--id")
        selected = [rule for rule in selected if rule.id in rule_ids]
    failed = 0
    for rule in selected:
        problems = example_problems(rule)
        if problems:
            failed += 1
            click.echo(f"FAIL {rule.id}: {'; '.join(problems)}")
        else:
            click.echo(f"PASS {rule.id} ({len(rule.examples)} examples)")
    click.echo(f"{len(selected) - failed} passed, {failed} failed")
    if failed:
        raise SystemExit(ExitCode.ERROR)

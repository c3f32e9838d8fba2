"""``aispm rules list|test``: see the detection rules and run their examples."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from streams.detect import Rule, RuleLoadError, discover_rules, example_problems, load_rules


def _load(sigma_paths: tuple[Path, ...]) -> tuple[Rule, ...]:
    try:
        return load_rules(sigma_paths)
    except RuleLoadError as error:
        raise click.BadParameter(str(error), param_hint="--sigma") from error


def _summary(rule: Rule) -> dict:
    meta = rule.meta
    return {
        "id": meta.id, "title": meta.title, "severity": meta.severity, "status": meta.status,
        "attack": list(meta.attack), "atlas": list(meta.atlas), "owasp_llm": list(meta.owasp_llm),
        "nist_ai_rmf": list(meta.nist_ai_rmf), "stateful": rule.stateful,
        "examples": {"positive": sum(e.expect for e in rule.examples),
                     "negative": sum(not e.expect for e in rule.examples)},
        "source": meta.source or rule.origin,
    }


_SIGMA_OPTION = click.option(
    "--sigma", "sigma_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="Also load Sigma rules for CloudTrail from this file or directory (repeatable).",
)


@click.group("rules")
def rules() -> None:
    """AI posture and threat rules over CloudTrail."""


@rules.command("list")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_SIGMA_OPTION
def list_rules(output_format: str, sigma_paths: tuple[Path, ...]) -> None:
    """List every rule: id, title, severity, status, tags and example counts."""
    summaries = [_summary(rule) for rule in _load(sigma_paths)]
    if output_format == "json":
        click.echo(json.dumps(summaries, indent=2))
        return
    table = Table(title=f"{len(summaries)} rules")
    table.add_column("id", no_wrap=True)
    table.add_column("title", overflow="fold")
    table.add_column("severity", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("tags", overflow="fold")
    table.add_column("examples +/-", no_wrap=True)
    for item in summaries:
        tags = item["attack"] + item["atlas"] + item["owasp_llm"] + item["nist_ai_rmf"]
        examples = item["examples"]
        table.add_row(item["id"], item["title"], item["severity"], item["status"], " ".join(tags),
                      f"{examples['positive']}/{examples['negative']}")
    Console().print(table)


@rules.command("test")
@click.option("--id", "rule_ids", multiple=True, help="Only this rule (repeatable).")
def test_rules(rule_ids: tuple[str, ...]) -> None:
    """Run every rule's examples; one PASS/FAIL line per rule, exit 1 when any fails."""
    selected = list(discover_rules())
    if rule_ids:
        known = {rule.id for rule in selected}
        unknown = sorted(set(rule_ids) - known)
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
        raise SystemExit(1)

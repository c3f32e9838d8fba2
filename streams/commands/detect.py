"""`aispm detect`: run normalization and every detection over files, print the alerts as OCSF JSON lines."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson


@click.command()
@click.option("--source", "family", required=True, type=click.Choice(["cloudtrail", "gateway", "audit"]))
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Sanctioned-use policy YAML (default: discovery mode, every AI use is reported).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "table"]), default="jsonl", show_default=True)
@click.option("--window", "window_s", type=click.IntRange(1, 30 * 86400), default=3600, show_default=True,
              help="Alert dedup window in seconds.")
@click.option("--sigma", "sigma_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Also run Sigma rules for CloudTrail from this file or directory (repeatable).")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def detect(family: str, policy_path: Path | None, fmt: str, window_s: int, sigma_paths: tuple[Path, ...],
           files: tuple[Path, ...]) -> None:
    """Offline: the alerts FILES would raise (no Kafka, no ClickHouse). Exit 1 when there are any."""
    from streams.detect import RuleLoadError
    from streams.detect.offline import detect_files
    from streams.detect.pipeline import Detectors
    from streams.enrich.catalog.yaml_source import ConfigFileError
    from streams.enrich.policy import Policy

    try:
        policy = Policy.from_file(policy_path) if policy_path else Policy.discovery()
        detectors = Detectors.default(lambda: policy, sigma_paths=sigma_paths)
    except (ConfigFileError, RuleLoadError) as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    result = detect_files(family, files, detectors, window_ms=window_s * 1000)
    alerts = sorted(result.alerts.values(), key=lambda alert: alert["finding_info"]["first_seen_time"])
    if fmt == "jsonl":
        for alert in alerts:
            click.echo(orjson.dumps(alert, default=str).decode())
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table("detection", "severity", "principal", "count", "title")
        for alert in alerts:
            table.add_row(alert["finding_info"]["analytic"]["uid"], alert.get("severity", ""),
                          str(alert.get("unmapped", {}).get("principal", "")), str(alert.get("count", "")),
                          alert["finding_info"]["title"])
        Console().print(table)
    click.echo(orjson.dumps({"events": result.events, "dead_letters": result.dead_letters,
                             "dead_letter_reasons": result.dead_letter_reasons, "findings": result.findings,
                             "alerts": len(alerts), "rule_errors": result.rule_errors[:20]}).decode(), err=True)
    sys.exit(1 if alerts else 0)

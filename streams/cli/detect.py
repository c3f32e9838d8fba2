"""`aispm detect`: normalization and every detection over files, offline (no Kafka, no ClickHouse)."""

from __future__ import annotations

from pathlib import Path

import click

from schemas.families import SOURCE_FAMILIES
from streams.cli.base import ExitCode, fail, settings
from streams.cli.output import Listing, emit, output_options, render

ALERT_COLUMNS = ["detection", "severity", "principal", "count", "title"]


@click.command()
@click.option("--source", "family", required=True, type=click.Choice(SOURCE_FAMILIES))
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Sanctioned-use policy YAML (default: discovery mode, every AI use is reported).")
@output_options("jsonl", "json", "table", "csv", default="jsonl")
@click.option("--window", "window_s", type=click.IntRange(1, 30 * 86400), default=3600, show_default=True,
              help="Alert dedup window in seconds.")
@click.option("--sigma", "sigma_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Also run Sigma rules for CloudTrail from this file or directory (repeatable).")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def detect(family: str, policy_path: Path | None, fmt: str, output: Path | None, window_s: int,
           sigma_paths: tuple[Path, ...], files: tuple[Path, ...]) -> None:
    """Offline: the alerts FILES would raise, as OCSF Detection Findings (json/jsonl) or a summary
    (table/csv); counts on stderr. Exit 3 when there are alerts, 0 when none.

    Credentials are fingerprinted with the installation's key (AISPM_INGEST__FINGERPRINT_KEY, else
    <data dir>/secrets/fingerprint.key), so fingerprints and alert ids match the worker's.
    """
    from streams.detect import RuleLoadError
    from streams.detect.offline import detect_files
    from streams.detect.pipeline import Detectors
    from streams.enrich.catalog.yaml_source import ConfigFileError
    from streams.enrich.policy import Policy
    from streams.normalize.redact import installation_redactor_or_default

    config = settings()
    try:
        policy = Policy.from_file(policy_path) if policy_path else Policy.discovery()
        detectors = Detectors.default(lambda: policy, sigma_paths=sigma_paths)
    except (ConfigFileError, RuleLoadError) as error:
        fail(str(error), ExitCode.USAGE)
    key = config.ingest.fingerprint_key
    redactor, why_not = installation_redactor_or_default(config.data_dir, key.get_secret_value() if key else None)
    if why_not:
        click.echo(f"warning: no fingerprint key in {config.data_dir} ({why_not}); fingerprints hold for this "
                   "run only and will not match the worker's", err=True)
    result = detect_files(family, files, detectors, window_ms=window_s * 1000, redactor=redactor,
                          max_file_bytes=config.ingest.max_file_bytes)
    alerts = result.alerts_in_order()
    emit(alert_listing(alerts), fmt, output)
    click.echo(render(Listing.of_mapping(result.summary()), "json"), err=True)
    if alerts:
        raise SystemExit(ExitCode.FINDINGS)


def alert_listing(alerts: list[dict]) -> Listing:
    rows = [[alert["finding_info"]["analytic"]["uid"], alert.get("severity", ""),
             alert.get("unmapped", {}).get("principal", ""), alert.get("count", ""), alert["finding_info"]["title"]]
            for alert in alerts]
    return Listing(ALERT_COLUMNS, rows, records=alerts, priority=["detection", "title", "severity", "principal"],
                   whole=["detection"])

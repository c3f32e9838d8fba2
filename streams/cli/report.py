"""`aispm report`: the posture report, one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from streams.cli.base import fail, parse_time, settings

if TYPE_CHECKING:
    from streams.report import PostureData


@click.command()
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              metavar="FILE.html", help="Where to write the page.")
@click.option("--since", metavar="T", help="Report from this time on (ISO-8601, UTC when it names no zone); "
                                          "default: all stored history.")
def report(out: Path, since: str | None) -> None:
    """Write the AI security posture report as one HTML page that opens with no network.

    \b
    AI usage over time by provider, sanctioned vs unsanctioned, top principals, new AI services,
    alerts by severity and detection, anomaly scores over time, the AI inventory and findings by
    framework (ATT&CK, ATLAS, OWASP LLM Top 10, NIST AI RMF). Read through the running worker if
    there is one, else from the store directly.
    """
    from streams.report import write_report
    from streams.runtime.query import QueryError, run_query
    from streams.runtime.store import StoreError

    config = settings()
    since_at = parse_time(since)
    try:
        data = write_report(lambda sql, parameters: run_query(config, sql, parameters), out, since=since_at)
    except (QueryError, StoreError) as error:
        fail(str(error))
    except OSError as error:
        fail(f"could not write {out}: {error.strerror or error}")
    click.echo(f"wrote {out} ({out.stat().st_size / 1024:,.0f} KB): {summary(data)}")


def summary(data: PostureData) -> str:
    calls = sum(int(row["calls"]) for row in data.usage)
    unsanctioned = sum(int(row["unsanctioned_calls"]) for row in data.usage)
    alerts = sum(int(row["alerts"]) for row in data.alerts)
    return f"{calls:,} AI calls ({unsanctioned:,} unsanctioned), {alerts:,} alerts, {len(data.inventory):,} AI uses"

"""`aispm demo`: broker, worker and store on the embedded defaults, the demo data, a summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from streams.cli.base import fail, settings
from streams.cli.output import Listing, output_options, render, terminal_width, write

if TYPE_CHECKING:
    from streams.demo.runner import DemoReport


@click.command()
@click.option("--seed", default=7, show_default=True, help="Seed of the deterministic traffic generator.")
@click.option("--scale", default=1, show_default=True, type=click.IntRange(1, 100))
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for everything to land.")
@click.option("--write", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Write the demo traffic as log files under this folder instead (history/ with benign days "
                   "before the demo window, day/ with the incidents and a labels file), and start nothing.")
@click.option("--history-days", default=7, show_default=True, type=click.IntRange(1, 60),
              help="Benign days in history/ (with --write).")
@output_options("table", "json", default="table")
def demo(seed: int, scale: int, timeout: float, folder: Path | None, history_days: int, fmt: str,
         output: Path | None) -> None:
    """Start broker, worker and store, ingest the demo data, wait until it landed, print a summary.

    Progress goes to stderr; the summary (this run's counts and what the store holds) to stdout.
    """
    from streams.demo.runner import DemoError, run_demo

    if folder is not None:
        from streams.demo.export import write_demo_files

        written = write_demo_files(folder, seed=seed, history_days=history_days)
        for part, paths in written.items():
            for family, path in paths.items():
                click.echo(f"{part} {family}: {path}")
        click.echo(f"labels: {folder / 'day' / 'anomalous-access.labels'}")
        return

    try:
        report = run_demo(settings(), seed=seed, scale=scale, timeout_s=timeout)
    except DemoError as error:
        fail(str(error))
    write(render_report(report, fmt, width=terminal_width()), output)


def render_report(report: DemoReport, fmt: str, *, width: int) -> str:
    # Each table's first column names its rows (a source, a detection, a provider): never folded.
    listings = [Listing(table.columns, table.rows, title=table.title, whole=table.columns[:1])
                for table in report.tables]
    if fmt == "json":
        return render(Listing([], [], document={
            "run": report.run,
            "report": str(report.report) if report.report else None,
            "tables": [{"title": listing.title, "rows": listing.as_records()} for listing in listings],
        }), "json")
    run = report.run
    headline = (f"This run: {run['messages']} messages -> {run['events_landed']} new events, "
                f"{run['duplicates_skipped']} already stored (deduplicated), {run['dead_letters']} dead letters"
                + (f"; {run['identity_corrections']} alerts corrected by late identity bindings"
                   if run.get("identity_corrections") else "") + "\n")
    tables = [render(listing, "table", width=width) for listing in listings]
    footer = [f"Posture report (HTML, opens offline): {report.report}\n"] if report.report else []
    return "\n".join([headline, *tables, *footer])

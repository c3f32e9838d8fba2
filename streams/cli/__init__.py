"""The `aispm` command: noun then verb, each command thin over library code.

One module per noun; every command that prints data takes ``--format`` and ``--output`` from
``streams.cli.output``. Exit codes (``streams.cli.base.ExitCode``): 0 ok, 1 error, 2 usage or
configuration error, 3 findings.
"""

from __future__ import annotations

import click

from streams.cli import (
    backfill,
    catalog,
    db,
    demo,
    detect,
    graph,
    ingest,
    model,
    query,
    report,
    rules,
    scheduler,
    status,
    up,
)

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aispm", prog_name="aispm", message="%(prog)s %(version)s")
def main() -> None:
    """aispm: AI Security Posture Management over Kafka, Faust and ClickHouse.

    \b
    Exit codes:
      0  ok
      1  error: the command could not do its work (a bad query, a failed test)
      2  usage or configuration error (arguments, AISPM_* settings, policy, rules)
      3  findings: it worked and found something (aispm detect raised alerts)
    """


# The modules stay reachable by their names (streams.cli.rules is the module, not its command group).
for _command in (up.up, ingest.ingest, query.query, db.db, demo.demo, status.status, detect.detect, rules.rules,
                 catalog.catalog, model.model, backfill.backfill, scheduler.scheduler, graph.inventory,
                 graph.paths, report.report):
    main.add_command(_command)

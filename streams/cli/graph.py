"""`aispm inventory` and `aispm paths`: the AI asset graph (ai_assets, ai_edges) as of a time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from streams.cli.base import ExitCode, fail, parse_time, settings
from streams.cli.output import Listing, emit, output_options, write

_AT_HELP = "The moment to look at (ISO-8601, UTC unless it names a zone; default: now)."


def _graph(at_text: str | None):
    from streams.detect.graph.inventory import load_graph
    from streams.runtime.queries import load_saved_query
    from streams.runtime.query import QueryError, run_query
    from streams.runtime.store import StoreError

    config = settings()
    at = parse_time(at_text) or datetime.now(UTC)
    try:
        return load_graph(lambda name, parameters: run_query(config, load_saved_query(name).sql, parameters), at)
    except (QueryError, StoreError) as error:
        fail(str(error))
    except Exception as error:  # noqa: BLE001 -- ClickHouse's own message explains it
        fail((str(error).strip().splitlines() or [type(error).__name__])[0])


@click.command()
@click.option("--at", "at_text", metavar="TIME", help=_AT_HELP)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "cyclonedx"]), default="table",
              show_default=True, help="cyclonedx: a CycloneDX 1.6 ML-BOM (JSON).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout.")
def inventory(at_text: str | None, fmt: str, output: Path | None) -> None:
    """The AI assets that existed at a time (Bedrock, SageMaker), with who made them, when, their last
    use and posture flags, from what CloudTrail said about them."""
    import orjson

    from streams.detect.alerts import PRODUCT
    from streams.detect.graph.inventory import cyclonedx
    from streams.detect.graph.inventory import inventory as assets_of

    graph = _graph(at_text)
    if fmt == "cyclonedx":
        write(orjson.dumps(cyclonedx(graph, tool_version=PRODUCT["version"]), option=orjson.OPT_INDENT_2).decode()
              + "\n", output)
        return
    assets = assets_of(graph)
    columns = ["kind", "name", "account", "region", "created_by", "created_at", "last_used", "flags", "asset_id"]
    rows = [[a.kind, a.name, a.account, a.region, a.created_by, _iso(a.created_at), _iso(a.last_used),
             " ".join(sorted(a.flags)), a.asset_id] for a in assets]
    emit(Listing(columns, rows, records=[a.record() for a in assets], priority=["kind", "name", "flags"]), fmt, output)


@click.command()
@click.option("--at", "at_text", metavar="TIME", help=_AT_HELP)
@click.option("--from", "from_kind", metavar="KIND", help="Only paths starting at a node of this kind (s3_bucket...).")
@click.option("--to", "to_kind", metavar="KIND", help="Only paths ending at a node of this kind (iam_role...).")
@click.option("--pattern", "patterns", multiple=True, metavar="NAME",
              help="Only this path pattern (repeatable; default: all).")
@output_options("table", "json", default="table")
def paths(at_text: str | None, from_kind: str | None, to_kind: str | None, patterns: tuple[str, ...], fmt: str,
          output: Path | None) -> None:
    """Attack paths in the AI asset graph as it was at a time. Exit 3 when there are paths.

    \b
    Patterns:
      exposed_training_data    public / cross-account-writable bucket -> training or KB data of a model or agent
      agent_admin_action       agent -> action group -> Lambda whose role has admin or iam:*
      unsanctioned_invocation  identity the policy does not sanction -> model or endpoint it invoked
      exposed_notebook_role    notebook with direct internet -> its role -> training job and its data
    """
    from streams.detect.graph.paths import PATTERNS, find_paths

    unknown = sorted(set(patterns) - set(PATTERNS))
    if unknown:
        raise click.BadParameter(f"unknown pattern(s) {unknown}; known: {sorted(PATTERNS)}", param_hint="--pattern")
    found = find_paths(_graph(at_text), patterns=list(patterns) or None, from_kind=from_kind, to_kind=to_kind)
    rows = [[p.pattern, PATTERNS[p.pattern].severity, _iso(p.since), " -> ".join(node for node, _ in p.nodes), p.reason]
            for p in found]
    emit(Listing(["pattern", "severity", "since", "path", "reason"], rows, records=[p.record() for p in found],
                 priority=["pattern", "path", "severity"]), fmt, output)
    if found:
        raise SystemExit(ExitCode.FINDINGS)


def _iso(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")

"""`aispm model train|evaluate|list|show|promote`: anomaly models and their registry in ClickHouse."""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson

from schemas.families import SOURCE_FAMILIES
from streams.cli.base import ExitCode, fail, parse_time, settings
from streams.cli.output import Listing, emit, output_options

LIST_COLUMNS = ["version", "created_at", "promoted", "threshold", "windows", "trained_from"]


@click.group()
def model() -> None:
    """Anomaly models: train on history, evaluate on labelled logs, promote the one the worker scores with."""


def _file_events(family: str, files: tuple[Path, ...]) -> Any:
    from streams.runtime.modeling import file_events

    frame, dead_letters = file_events(family, files)
    if dead_letters:
        click.echo(f"{dead_letters} records of the files did not normalize (dead letters); left out", err=True)
    return frame


def _trained_by() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()} (aispm model train)"


@model.command()
@click.option("--source", "family", type=click.Choice(SOURCE_FAMILIES), help="Family of FILES.")
@click.option("--since", help="Train on stored events from this time (ISO-8601) ...")
@click.option("--until", help="... up to this time (default: now).")
@click.option("--promote/--no-promote", default=False, help="Promote the new version at once.")
@output_options("json", "table", default="json")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def train(family: str | None, since: str | None, until: str | None, promote: bool, fmt: str, output: Path | None,
          files: tuple[Path, ...]) -> None:
    """Fit a new model version on FILES (with --source) or on stored history (--since/--until) and record
    it in the registry with its lineage. The worker scores with the promoted version only."""
    from streams.runtime.modeling import stored_events, train_version
    from streams.runtime.query import QueryError, exclusive_store
    from streams.runtime.store import StoreError

    config = settings()
    if bool(files) == bool(since):
        fail("give either --source S FILE... or --since T [--until T]", ExitCode.USAGE)
    if files and family is None:
        fail("--source is required with FILES", ExitCode.USAGE)
    try:
        with exclusive_store(config) as store:
            store.migrate()
            if files:
                events = _file_events(family, files)
                trained_from = f"files ({family}): " + ", ".join(str(path) for path in files)
            else:
                events, trained_from = stored_events(store, parse_time(since), parse_time(until) or datetime.now(UTC))
            if events.height == 0:
                fail("no events to train on", ExitCode.ERROR)
            try:
                stored = train_version(events, config.anomaly, trained_from=trained_from, trained_by=_trained_by())
            except ValueError as error:
                fail(str(error), ExitCode.ERROR)
            store.land_model_version(stored)
            if promote:
                store.promote_model(stored.version, by=_trained_by(), reason="aispm model train --promote")
                stored.promoted_at = datetime.now(UTC)
    except (QueryError, StoreError) as error:
        fail(str(error))
    emit(Listing.of_mapping(_printable(stored.lineage())), fmt, output)


@model.command()
@click.option("--source", "family", type=click.Choice(SOURCE_FAMILIES), help="Family of FILES.")
@click.option("--since", help="Evaluate on stored events from this time (ISO-8601) ...")
@click.option("--until", help="... up to this time (default: now).")
@click.option("--labels", "labels_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="One labelled event id per line (CloudTrail eventID or the normalized event_id).")
@click.option("--model", "version", help="Model version (default: the promoted one).")
@output_options("json", "table", default="json")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def evaluate(family: str | None, since: str | None, until: str | None, labels_path: Path, version: str | None,
             fmt: str, output: Path | None, files: tuple[Path, ...]) -> None:
    """Score the windows of FILES (with --source) or of stored events (--since/--until) with a model, against
    its training baseline; a window is positive when it holds a labelled event. Prints windows,
    positives, ROC AUC, average precision, precision and recall at the threshold."""
    from models.training import evaluate as evaluate_model
    from streams.runtime.modeling import read_labels, stored_events
    from streams.runtime.query import QueryError, exclusive_store

    if bool(files) == bool(since):
        fail("give either --source S FILE... or --since T [--until T]", ExitCode.USAGE)
    if files and family is None:
        fail("--source is required with FILES", ExitCode.USAGE)
    labels = read_labels(labels_path)
    anomaly_model = _load(version)
    if files:
        events = _file_events(family, files)
    else:
        try:
            with exclusive_store(settings()) as store:
                events, _ = stored_events(store, parse_time(since), parse_time(until) or datetime.now(UTC))
        except QueryError as error:
            fail(str(error))
    evaluation = evaluate_model(anomaly_model, events, labels)
    emit(Listing.of_mapping(evaluation.summary()), fmt, output)


def _load(version: str | None) -> Any:
    from models.registry import ModelRefused
    from streams.runtime.modeling import load_version
    from streams.runtime.query import QueryError, exclusive_store

    try:
        with exclusive_store(settings()) as store:
            store.migrate()
            version = version or store.promoted_model_version()
            if version is None:
                fail("no model is promoted yet: `aispm model train ... --promote`, or name one with --model")
            loaded = load_version(store, version)
    except QueryError as error:
        fail(str(error))
    except ModelRefused as error:
        fail(f"refused: {error}")
    if loaded is None:
        fail(f"no model version {version!r} (see `aispm model list`)", ExitCode.USAGE)
    return loaded


@model.command("list")
@output_options("table", "json", "jsonl", "csv", default="table")
def list_(fmt: str, output: Path | None) -> None:
    """Every model version, newest first; the promoted one is marked."""
    from streams.runtime.query import QueryError, exclusive_store

    try:
        with exclusive_store(settings()) as store:
            store.migrate()
            versions = store.model_versions()
            promoted = store.promoted_model_version()
    except QueryError as error:
        fail(str(error))
    records = [_printable({**item.lineage(), "promoted": item.version == promoted}) for item in versions]
    rows = [[item["version"], item["created_at"], "yes" if item["promoted"] else "", item["threshold"],
             sum(item["windows_by_population"].values()), item["trained_from"]] for item in records]
    emit(Listing(LIST_COLUMNS, rows, records=records, whole=["version"]), fmt, output)


@model.command()
@click.argument("version")
@output_options("json", "table", default="json")
def show(version: str, fmt: str, output: Path | None) -> None:
    """A model version's lineage: digests, features, training window and counts, libraries, metrics."""
    from streams.runtime.query import QueryError, exclusive_store

    try:
        with exclusive_store(settings()) as store:
            store.migrate()
            found = [item for item in store.model_versions() if item.version == version]
    except QueryError as error:
        fail(str(error))
    if not found:
        fail(f"no model version {version!r} (see `aispm model list`)", ExitCode.USAGE)
    lineage = found[0].lineage()
    lineage["metrics"] = orjson.loads(lineage["metrics"] or "{}")
    emit(Listing.of_mapping(_printable(lineage)), fmt, output)


@model.command()
@click.argument("version")
@click.option("--reason", default="", help="Why (kept in model_promotions).")
def promote(version: str, reason: str) -> None:
    """Make VERSION the one the worker scores with, after checking that it loads (digests, trusted types)."""
    from models.registry import ModelRefused, unpack
    from streams.runtime.query import QueryError, exclusive_store

    try:
        with exclusive_store(settings()) as store:
            store.migrate()
            stored = store.model_version(version)
            if stored is None:
                fail(f"no model version {version!r} (see `aispm model list`)", ExitCode.USAGE)
            try:
                unpack(stored)
            except ModelRefused as error:
                fail(f"refused: {error}")
            store.promote_model(version, by=f"{getpass.getuser()}@{socket.gethostname()}", reason=reason)
    except QueryError as error:
        fail(str(error))
    click.echo(f"promoted {version}")


def _printable(mapping: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in mapping.items()}

"""What every command shares besides printing: exit codes, settings, failing with a message."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import IntEnum
from typing import NoReturn

import click

from streams.settings import Settings, SettingsError, load_settings


class ExitCode(IntEnum):
    """Each exit code means one thing, so CI can tell findings from a crash."""

    OK = 0
    ERROR = 1
    """The command could not do its work (a failed rule test, an unreachable worker, a bad query)."""
    USAGE = 2
    """Wrong arguments or configuration (settings, policy, catalog, Sigma rules)."""
    FINDINGS = 3
    """The command worked and found something (``aispm detect`` raised alerts)."""


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(int(code))


def parse_time(text: str | None) -> datetime | None:
    """An ISO-8601 time from an option (``2026-11-20`` or ``2026-11-20T08:00:00Z``), UTC when it names no
    zone; a usage error (exit 2) naming the value when it is none."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO-8601 time (e.g. 2026-11-20 or 2026-11-20T08:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def settings() -> Settings:
    """The settings from the environment; invalid ones end the command with exit 2, naming the variable."""
    try:
        return load_settings()
    except SettingsError as error:
        fail(str(error), ExitCode.USAGE)

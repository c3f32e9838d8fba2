"""`aispm up`: the worker (and the embedded broker when no Kafka is configured) until stopped."""

from __future__ import annotations

import click

from streams.cli.base import fail, settings


@click.command()
def up() -> None:
    """Run the worker (and, with no Kafka configured, the embedded broker) until stopped."""
    from streams.runtime.worker import WorkerError, run_worker
    from streams.scheduler.service import scheduler_services

    try:
        run_worker(settings(), services=scheduler_services)
    except WorkerError as error:
        fail(str(error))

"""`aispm up`: embedded broker (when no Kafka is configured), store, topics, then the Faust worker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from streams.detect import RuleLoadError
from streams.enrich.catalog.yaml_source import ConfigFileError
from streams.runtime.broker import BrokerError, start_embedded_broker
from streams.runtime.kafka import ensure_topics
from streams.runtime.query import StoreLock, running_worker, try_store_lock, wait_for_store_lock
from streams.runtime.store import Store, StoreError
from streams.settings import Settings

log = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """The worker cannot start; the message says why."""


def lock_store(settings: Settings) -> StoreLock:
    """The store, for this worker alone until it exits; waits (up to ``AISPM_QUERY__LOCK_WAIT_S``) for a
    direct `aispm query` to finish, since chDB lets one process open the store at a time."""
    lock = try_store_lock(settings, exclusive=True)
    if lock is not None:
        return lock
    running = running_worker(settings)  # only trusted while the lock is taken: the file may be stale
    if running is not None:
        raise WorkerError(f"an aispm worker (pid {running['pid']}) already runs for {settings.data_dir}")
    wait_s = settings.query.lock_wait_s

    def waiting() -> None:
        log.warning("the store of %s is open in another aispm process (`aispm query`?); waiting up to %g s",
                    settings.data_dir, wait_s)

    lock = wait_for_store_lock(settings, exclusive=True, wait_s=wait_s, on_wait=waiting)
    if lock is None:
        raise WorkerError(
            f"the store of {settings.data_dir} stayed in use by another aispm process (`aispm query`, "
            f"`aispm db migrate` or a starting `aispm up`) for {wait_s:g} s; start again once it is done"
        )
    return lock


def run_worker(settings: Settings, *, store_factory: Callable[[Settings], Store] = Store,
               services: Callable[[Settings, Store | None], list[Any]] = lambda _settings, _store: []) -> None:
    """Run until SIGINT/SIGTERM. Everything started here is stopped on the way out.

    ``store_factory`` opens the store (`make chaos` passes one that fails on purpose); ``services``: more
    services to run in the worker with its store (`aispm up` adds the scheduler's).
    """
    import faust

    from streams.runtime.app import create_app
    from streams.runtime.broker import port_in_use

    if port_in_use(settings.query.port):
        raise WorkerError(
            f"query endpoint port {settings.query.port} on 127.0.0.1 is in use (another `aispm up`?); "
            "set AISPM_QUERY__PORT to a free port"
        )
    unreadable = settings.kafka.unreadable_files()
    if unreadable:
        raise WorkerError("invalid aispm settings:\n  " + "\n  ".join(unreadable))
    # Held from before the broker starts until after everything stopped: a direct `aispm query` then
    # waits for this worker's endpoint instead of racing it for chDB's lock.
    store_lock = lock_store(settings)
    broker = None
    store = None
    try:
        if settings.kafka.embedded:
            broker = start_embedded_broker(settings)
            bootstrap = broker.bootstrap
            log.info("embedded Kafka-compatible broker on %s", bootstrap)
        else:
            bootstrap = settings.kafka.bootstrap_servers or ""
        ensure_topics(settings, bootstrap)
        if settings.role != "ingest":  # an ingest worker opens no store: it forwards to the landing worker
            store = store_factory(settings)
            store.migrate()
        app = create_app(settings, bootstrap=bootstrap, store=store)
        from streams.runtime.logs import logging_config

        extra = services(settings, store)
        worker = faust.Worker(app, *app.aispm_services, *extra, loglevel=settings.log_level,  # type: ignore[attr-defined]
                              redirect_stdouts=False,
                              logging_config=logging_config(settings.log_format, settings.log_level))
        try:
            worker.execute_from_commandline()
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise WorkerError(f"the Faust worker exited with code {exit_.code}") from None
    except (BrokerError, StoreError, ConfigFileError, RuleLoadError) as error:
        raise WorkerError(str(error)) from None
    finally:
        if store is not None:
            store.close()
        if broker is not None:
            broker.stop()
        store_lock.release()

"""The scheduled jobs as a service of the worker (`aispm up`), the one process that may open chDB."""

from __future__ import annotations

from typing import Any

from mode import Service

from streams.runtime.store import Store
from streams.settings import Settings

__all__ = ["SchedulerService", "scheduler_services"]


class SchedulerService(Service):
    """The scheduled jobs (streams/scheduler) inside the worker, the one process that may open chDB."""

    def __init__(self, *, settings: Settings, store: Store, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.store = store
        self.scheduler: Any = None

    async def on_start(self) -> None:
        from streams.scheduler.runner import Scheduler

        self.scheduler = Scheduler(self.store, self.settings)
        self.scheduler.start()

    async def on_stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()


def scheduler_services(settings: Settings, store: Store | None) -> list[Service]:
    """What `aispm up` runs beside ingest and detection: the scheduler, unless disabled or storeless."""
    return [SchedulerService(settings=settings, store=store)] if settings.scheduler.enabled and store is not None else []

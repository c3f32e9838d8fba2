"""Shared fixtures. Nothing connects anywhere at import time; each integration run gets its own data
dir, ports and topic prefix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"


def dataset(*parts: str) -> Path:
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"shared dataset missing: {path} (tests read ../shared/datasets beside the repo)")
    return path


# A value for each ClickHouse parameter type the saved queries use: wide enough to return everything.
SAVED_QUERY_VALUES = {"DateTime64(3)": ("2000-01-01 00:00:00", "2100-01-01 00:00:00"), "UInt32": ("100", "100"),
                      "String": ("dave", "dave")}


def saved_query_parameters(name: str) -> dict[str, str]:
    """Parameters that run saved query ``name`` over everything (``until`` and ``limit`` the high end)."""
    from streams.runtime.queries import load_saved_query

    values = {}
    for parameter, kind in load_saved_query(name).parameters.items():
        low, high = SAVED_QUERY_VALUES[kind]  # a KeyError here: add the new type to SAVED_QUERY_VALUES
        values[parameter] = high if parameter in ("until", "limit") else low
    return values


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class WorkerHandle:
    env: dict[str, str]
    data_dir: Path
    process: subprocess.Popen | None = None

    def settings(self):
        from streams.settings import settings_for_environment

        return settings_for_environment(self.env)

    def start(self, timeout_s: float = 90) -> None:
        from streams.runtime.query import QueryError, remote_stats, running_worker

        log = (self.data_dir / "worker.log").open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "streams.cli", "up"], env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        settings = self.settings()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_tail()
            if running_worker(settings):
                try:
                    remote_stats(settings)
                    return
                except QueryError:
                    pass
            time.sleep(0.2)
        raise AssertionError("worker did not start:\n" + self.log_tail())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)

    def alive(self) -> bool:
        return bool(self.process) and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        path = self.data_dir / "worker.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stats(self) -> dict:
        from streams.runtime.query import remote_stats

        return remote_stats(self.settings())["ingest"]

    def stats_all(self) -> dict:
        """Every part's counters: ingest, detection, anomaly."""
        from streams.runtime.query import remote_stats

        return remote_stats(self.settings())

    def query(self, sql: str, parameters: dict | None = None) -> list[list]:
        from streams.runtime.query import remote_query

        return remote_query(self.settings(), sql, parameters)[1]

    def wait_for_messages(self, count: int, timeout_s: float = 120) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            stats = self.stats()
            if stats["messages"] >= count:
                return stats
            time.sleep(0.2)
        raise AssertionError(f"only {self.stats()['messages']} of {count} messages landed\n{self.log_tail()}")


@pytest.fixture(scope="session")
def chdb_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """chDB runs one embedded server per process, on one path: in-process tests share this data dir
    and isolate themselves by database name (``fresh_database_settings``)."""
    return tmp_path_factory.mktemp("chdb")


def fresh_database_settings(data_dir: Path, **overrides):
    from streams.settings import Settings

    return Settings(data_dir=data_dir, clickhouse={"database": f"test_{uuid.uuid4().hex[:12]}"}, **overrides)


@pytest.fixture(scope="session")
def embedded_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Tansu broker on a free loopback port for the whole test session."""
    from streams.runtime.broker import start_embedded_broker
    from streams.settings import Settings

    data_dir = tmp_path_factory.mktemp("broker")
    settings = Settings(data_dir=data_dir, kafka={"embedded_port": free_port()})
    with start_embedded_broker(settings) as broker:
        yield broker.bootstrap


def worker_env(data_dir: Path, bootstrap: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AISPM_")}
    env.update({
        "AISPM_DATA_DIR": str(data_dir),
        "AISPM_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "AISPM_QUERY__PORT": str(free_port()),
        "AISPM_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
        "AISPM_KAFKA__GROUP_ID": f"g{uuid.uuid4().hex[:8]}",
        "AISPM_INGEST__FLUSH_INTERVAL_S": "0.2",
        "AISPM_LOG_LEVEL": "WARNING",
    })
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, embedded_broker: str) -> Iterator[WorkerHandle]:
    """`aispm up` as a real child process against the session broker and its own chDB store."""
    data_dir = tmp_path_factory.mktemp("worker")
    handle = WorkerHandle(env=worker_env(data_dir, embedded_broker), data_dir=data_dir)
    handle.start()
    yield handle
    handle.stop()

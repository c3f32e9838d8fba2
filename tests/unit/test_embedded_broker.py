"""Issue 7 item 9: the embedded broker dies with the process that started it; one left behind anyway is
replaced by the next start (after checking it is really our Tansu), and `aispm ingest` refuses to send
into it. Each test runs real Tansu processes (they start in milliseconds)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from streams.runtime.broker import BROKER_STATE_FILE, BrokerError, resolve_bootstrap, start_embedded_broker
from streams.settings import Settings
from tests.conftest import REPO, free_port


def broker_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, kafka={"embedded_port": free_port()})


def gone(pid: int, timeout_s: float = 20) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    return int(finished.stdout)


def orphan(settings: Settings) -> int:
    """A broker whose state file names an owner that is gone, as a SIGKILLed worker leaves it."""
    broker = start_embedded_broker(settings)
    state_file = settings.run_dir / BROKER_STATE_FILE
    state = json.loads(state_file.read_text())
    state["owner_pid"] = dead_pid()
    state_file.write_text(json.dumps(state))
    return broker.process.pid


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_the_broker_dies_with_the_process_that_started_it(tmp_path) -> None:
    settings = broker_settings(tmp_path)
    script = (
        "import sys, time\n"
        "from streams.runtime.broker import start_embedded_broker\n"
        "from streams.settings import Settings\n"
        f"broker = start_embedded_broker(Settings(data_dir={str(tmp_path)!r}, "
        f"kafka={{'embedded_port': {settings.kafka.embedded_port}}}))\n"
        "print(broker.process.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    broker_pid = int(worker.stdout.readline())
    try:
        worker.kill()
        worker.wait()
        assert gone(broker_pid), "the broker outlived the SIGKILLed process that started it"
    finally:
        kill(broker_pid)


def test_a_broker_left_behind_is_replaced_by_the_next_start(tmp_path) -> None:
    settings = broker_settings(tmp_path)
    stale_pid = orphan(settings)
    try:
        with start_embedded_broker(settings) as fresh:
            assert gone(stale_pid), "the stale broker was not stopped"
            assert fresh.process.pid != stale_pid and fresh.process.poll() is None
            with socket.create_connection(("127.0.0.1", settings.kafka.embedded_port), timeout=2):
                pass
            assert json.loads((settings.run_dir / BROKER_STATE_FILE).read_text())["pid"] == fresh.process.pid
    finally:
        kill(stale_pid)


def test_a_broker_whose_owner_still_runs_is_left_alone(tmp_path) -> None:
    settings = broker_settings(tmp_path)
    with start_embedded_broker(settings) as running:
        with pytest.raises(BrokerError, match=str(os.getpid())):
            start_embedded_broker(settings)
        assert running.process.poll() is None


def test_a_process_that_is_not_our_broker_is_never_killed(tmp_path) -> None:
    settings = broker_settings(tmp_path)
    port = settings.kafka.embedded_port
    impostor = subprocess.Popen([sys.executable, "-c", (
        "import socket, time\n"
        f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); print('up', flush=True)\n"
        "time.sleep(120)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert impostor.stdout.readline().strip() == "up"
        settings.run_dir.mkdir(parents=True)
        (settings.run_dir / BROKER_STATE_FILE).write_text(json.dumps({
            "pid": impostor.pid, "port": port, "bootstrap": f"127.0.0.1:{port}", "owner_pid": dead_pid()}))
        with pytest.raises(BrokerError, match="in use"):
            start_embedded_broker(settings)
        assert impostor.poll() is None
    finally:
        impostor.kill()
        impostor.wait()


def test_ingest_refuses_a_broker_whose_worker_is_gone(tmp_path) -> None:
    settings = broker_settings(tmp_path)
    stale_pid = orphan(settings)
    try:
        with pytest.raises(BrokerError, match="aispm up"):
            resolve_bootstrap(settings)
    finally:
        kill(stale_pid)


def test_ingest_finds_a_broker_whose_owner_runs(tmp_path) -> None:
    settings = broker_settings(tmp_path)
    with start_embedded_broker(settings) as broker:
        assert resolve_bootstrap(settings) == broker.bootstrap

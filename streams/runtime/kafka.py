"""Kafka plumbing shared by the CLI and the worker: topic names, client configs, topic creation."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Any

from schemas.families import SOURCE_FAMILIES
from streams.settings import KafkaSettings, Settings

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic aispm uses, with the configured prefix applied."""

    raw: dict[str, str]
    events: str
    alerts: str
    dead_letters: str
    remediation: str
    """Remediation actions of alerts, for a SOAR (aispm runs none of them)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Topics:
        return cls(
            raw={family: settings.topic(f"raw.{family}") for family in SOURCE_FAMILIES},
            events=settings.topic("events"),
            alerts=settings.topic("alerts"),
            dead_letters=settings.topic("dead-letters"),
            remediation=settings.topic("remediation"),
        )

    def all(self) -> list[str]:
        return [*self.raw.values(), self.events, self.alerts, self.dead_letters, self.remediation]


def librdkafka_security(kafka: KafkaSettings) -> dict[str, Any]:
    """confluent-kafka (librdkafka) security settings of ``kafka``: TLS with server verification (the CA
    given, else the system's; host names checked), mTLS, SASL PLAIN / SCRAM. The one mapping for every
    confluent-kafka client; ``aiokafka_credentials`` maps the same settings for Faust."""
    config: dict[str, Any] = {"security.protocol": kafka.security_protocol}
    if kafka.uses_sasl:
        config |= {"sasl.mechanism": kafka.sasl_mechanism, "sasl.username": kafka.sasl_username,
                   "sasl.password": kafka.sasl_secret()}
    if kafka.uses_tls:
        config["ssl.endpoint.identification.algorithm"] = "https"  # verify the broker's host name
        if kafka.ssl_ca_location:
            config["ssl.ca.location"] = str(kafka.ssl_ca_location)
        if kafka.ssl_certificate_location and kafka.ssl_key_location:
            config["ssl.certificate.location"] = str(kafka.ssl_certificate_location)
            config["ssl.key.location"] = str(kafka.ssl_key_location)
            if kafka.ssl_key_password is not None:
                config["ssl.key.password"] = kafka.ssl_key_password.get_secret_value()
    return config


def tls_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The client TLS context for ``kafka`` (None without TLS): verifies the broker's certificate and host
    name against ``ssl_ca_location`` (else the system's CAs), presents the client certificate for mTLS."""
    if not kafka.uses_tls:
        return None
    context = ssl.create_default_context(cafile=str(kafka.ssl_ca_location) if kafka.ssl_ca_location else None)
    if kafka.ssl_certificate_location and kafka.ssl_key_location:
        context.load_cert_chain(
            str(kafka.ssl_certificate_location), str(kafka.ssl_key_location),
            password=kafka.ssl_key_password.get_secret_value() if kafka.ssl_key_password else None,
        )
    return context


def aiokafka_credentials(kafka: KafkaSettings) -> Any:
    """Faust's ``broker_credentials`` for the same settings ``librdkafka_security`` maps: None (plaintext),
    ``SSLCredentials`` (TLS / mTLS), or ``SASLCredentials`` (with the TLS context for SASL_SSL)."""
    import faust

    context = tls_context(kafka)
    if not kafka.uses_sasl:
        return None if context is None else faust.SSLCredentials(context)
    from faust.types.auth import SASLMechanism

    return faust.SASLCredentials(username=kafka.sasl_username, password=kafka.sasl_secret(),
                                 mechanism=SASLMechanism(kafka.sasl_mechanism), ssl_context=context)


def confluent_config(settings: Settings, bootstrap: str) -> dict[str, Any]:
    """librdkafka settings for the configured cluster, security included."""
    return {
        "bootstrap.servers": bootstrap,
        "log.connection.close": False,  # idle connections closed by brokers are routine, not news
    } | librdkafka_security(settings.kafka)


def producer_config(settings: Settings, bootstrap: str) -> dict[str, Any]:
    return confluent_config(settings, bootstrap) | {
        "linger.ms": 20,
        "batch.size": 1 << 20,
        "compression.type": "lz4",
        "enable.idempotence": False,  # the embedded broker does not honour it; landing dedups instead
        "message.max.bytes": 8 << 20,
        # Bounded: what waits for a slow broker is memory; a full queue is backpressure (every send
        # retries on BufferError after serving deliveries), never a dropped message.
        "queue.buffering.max.kbytes": settings.ingest.produce_buffer_kbytes,
    }


def consumer_config(settings: Settings, bootstrap: str, group_id: str | None = None) -> dict[str, Any]:
    return confluent_config(settings, bootstrap) | {
        "group.id": group_id or settings.kafka.group_id,
        # At-least-once: the ingest loop stores a batch's offsets only after the batch has landed, and
        # librdkafka commits stored offsets in the background and on close.
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.commit.interval.ms": 1000,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.kafka.session_timeout_ms,
        "heartbeat.interval.ms": max(1000, settings.kafka.session_timeout_ms // 3),
        "fetch.max.bytes": 64 << 20,
        "max.partition.fetch.bytes": 8 << 20,
        "queued.max.messages.kbytes": settings.ingest.fetch_buffer_kbytes,
    }


def faust_broker_settings(settings: Settings, bootstrap: str) -> dict[str, Any]:
    """Faust App keyword arguments for the same cluster (aiokafka transport)."""
    kwargs: dict[str, Any] = {"broker": ";".join(f"kafka://{server}" for server in bootstrap.split(","))}
    credentials = aiokafka_credentials(settings.kafka)
    if credentials is not None:
        kwargs["broker_credentials"] = credentials
    return kwargs


def ensure_topics(settings: Settings, bootstrap: str, topics: list[str] | None = None,
                  timeout: float = 30) -> list[str]:
    """Create missing topics with the configured partition count; returns the ones created."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(confluent_config(settings, bootstrap))
    wanted = topics or Topics.from_settings(settings).all()
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [name for name in wanted if name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=settings.kafka.partitions,
                  replication_factor=settings.kafka.replication_factor) for name in missing],
        operation_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return created

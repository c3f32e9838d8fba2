"""Kafka plumbing shared by the CLI and the worker: topic names, client configs, topic creation."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Any

from schemas.families import SOURCE_FAMILIES
from streams.settings import Settings

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic aispm uses, with the configured prefix applied."""

    raw: dict[str, str]
    events: str
    alerts: str
    dead_letters: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Topics:
        return cls(
            raw={family: settings.topic(f"raw.{family}") for family in SOURCE_FAMILIES},
            events=settings.topic("events"),
            alerts=settings.topic("alerts"),
            dead_letters=settings.topic("dead-letters"),
        )

    def all(self) -> list[str]:
        return [*self.raw.values(), self.events, self.alerts, self.dead_letters]


def confluent_config(settings: Settings, bootstrap: str) -> dict[str, Any]:
    """librdkafka settings for the configured cluster, security included."""
    kafka = settings.kafka
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "security.protocol": kafka.security_protocol,
        "log.connection.close": False,  # idle connections closed by brokers are routine, not news
    }
    if kafka.sasl_mechanism:
        config["sasl.mechanism"] = kafka.sasl_mechanism
    if kafka.sasl_username:
        config["sasl.username"] = kafka.sasl_username
    if kafka.sasl_password is not None:
        config["sasl.password"] = kafka.sasl_password.get_secret_value()
    if kafka.ssl_ca_location:
        config["ssl.ca.location"] = str(kafka.ssl_ca_location)
    if kafka.ssl_certificate_location:
        config["ssl.certificate.location"] = str(kafka.ssl_certificate_location)
    if kafka.ssl_key_location:
        config["ssl.key.location"] = str(kafka.ssl_key_location)
    if kafka.ssl_key_password is not None:
        config["ssl.key.password"] = kafka.ssl_key_password.get_secret_value()
    return config


def producer_config(settings: Settings, bootstrap: str) -> dict[str, Any]:
    return confluent_config(settings, bootstrap) | {
        "linger.ms": 20,
        "batch.size": 1 << 20,
        "compression.type": "lz4",
        "enable.idempotence": False,  # the embedded broker does not honour it; landing dedups instead
        "message.max.bytes": 8 << 20,
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
    }


def faust_broker_settings(settings: Settings, bootstrap: str) -> dict[str, Any]:
    """Faust App keyword arguments for the same cluster (aiokafka transport)."""
    kafka = settings.kafka
    kwargs: dict[str, Any] = {"broker": ";".join(f"kafka://{server}" for server in bootstrap.split(","))}
    context = None
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=str(kafka.ssl_ca_location) if kafka.ssl_ca_location else None)
        if kafka.ssl_certificate_location and kafka.ssl_key_location:
            context.load_cert_chain(
                str(kafka.ssl_certificate_location), str(kafka.ssl_key_location),
                password=kafka.ssl_key_password.get_secret_value() if kafka.ssl_key_password else None,
            )
    if kafka.security_protocol.startswith("SASL"):
        import faust

        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
        if kafka.sasl_mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
            from faust.types.auth import SASLMechanism

            mechanism = (SASLMechanism.SCRAM_SHA_256 if kafka.sasl_mechanism == "SCRAM-SHA-256"
                         else SASLMechanism.SCRAM_SHA_512)
            kwargs["broker_credentials"] = faust.SASLCredentials(
                username=kafka.sasl_username or "", password=password, mechanism=mechanism, ssl_context=context)
        else:
            kwargs["broker_credentials"] = faust.SASLCredentials(
                username=kafka.sasl_username or "", password=password, ssl_context=context)
    elif context is not None:
        kwargs["broker_credentials"] = context
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

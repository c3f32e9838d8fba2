"""The one settings object. Built at the edges (CLI, worker start) and passed down as plain values.

Environment variables use the ``AISPM_`` prefix and ``__`` between nesting levels, e.g.
``AISPM_KAFKA__BOOTSTRAP_SERVERS=broker:9093`` or ``AISPM_INGEST__BATCH_SIZE=5000``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_CLUSTER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9._-]{0,100}$")


class KafkaSettings(BaseModel):
    """The cluster and how to reach it. Security (TLS, mTLS, SASL) is mapped from here, and only here, to both
    clients (streams/runtime/kafka.py: ``librdkafka_security`` for confluent-kafka, ``aiokafka_credentials``
    for Faust), so they cannot disagree."""

    bootstrap_servers: str | None = Field(
        None, description="host:port[,host:port]. Unset: use the embedded broker that `aispm up` starts."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, validate_default=True, description="Required with SASL_PLAINTEXT and SASL_SSL.")
    sasl_username: str | None = Field(None, validate_default=True, description="Required with SASL.")
    sasl_password: SecretStr | None = Field(
        None, description="SASL password (held as a secret, never logged); or sasl_password_file.")
    sasl_password_file: Path | None = Field(
        None, validate_default=True,
        description="File holding the SASL password (a mounted secret); read when a client is configured.")
    ssl_ca_location: Path | None = Field(None, description="CA bundle (PEM) to verify the brokers.")
    ssl_certificate_location: Path | None = Field(None, description="Client certificate (PEM) for mTLS.")
    ssl_key_location: Path | None = Field(
        None, validate_default=True, description="Client private key (PEM) for mTLS.")
    ssl_key_password: SecretStr | None = None
    embedded_port: int = Field(19092, ge=1024, le=65535, description="Loopback port of the embedded broker.")
    partitions: int = Field(4, ge=1, le=1024, description="Partitions of every topic aispm creates.")
    replication_factor: int = Field(1, ge=1, le=7)
    group_id: str = Field("aispm-ingest", min_length=1, max_length=200)
    session_timeout_ms: int = Field(
        6000, ge=3000, le=300000,
        description="Consumer session timeout. Short keeps group joins fast (the broker holds a join for "
                    "half of it) at the price of earlier rebalances when a worker stalls.",
    )

    @property
    def embedded(self) -> bool:
        return not self.bootstrap_servers

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def sasl_secret(self) -> str:
        """The SASL password: ``sasl_password``, else the content of ``sasl_password_file`` (read now, so a
        rotated secret file is picked up by the next client)."""
        if self.sasl_password is not None:
            return self.sasl_password.get_secret_value()
        if self.sasl_password_file is not None:
            return self.sasl_password_file.read_text().strip()
        return ""

    @field_validator("sasl_mechanism", "sasl_username")
    @classmethod
    def _sasl_needs(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and str(info.data.get("security_protocol", "")).startswith("SASL"):
            raise ValueError(f"required when security_protocol is {info.data['security_protocol']}")
        return value

    @field_validator("sasl_password_file")
    @classmethod
    def _sasl_password(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None:
            if info.data.get("sasl_password") is not None:
                raise ValueError("set sasl_password or sasl_password_file, not both")
        elif (str(info.data.get("security_protocol", "")).startswith("SASL")
              and info.data.get("sasl_password") is None):
            raise ValueError("SASL needs a password: set sasl_password or sasl_password_file")
        return value

    @field_validator("ssl_ca_location", "ssl_certificate_location")
    @classmethod
    def _tls_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None:
            _needs_tls(info)
        return value

    @field_validator("ssl_key_location")
    @classmethod
    def _tls_key(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        certificate = info.data.get("ssl_certificate_location")
        if value is None:
            if certificate is not None:
                raise ValueError("mTLS needs the client key too (ssl_certificate_location is set)")
            return value
        if certificate is None and "ssl_certificate_location" in info.data:
            raise ValueError("mTLS needs the client certificate too: set ssl_certificate_location")
        _needs_tls(info)
        return value

    def unreadable_files(self) -> list[str]:
        """The configured secret and certificate files that cannot be read here, each named by its variable
        (checked where the clients start, not where settings are built: a config is often checked elsewhere)."""
        problems = []
        for name in ("sasl_password_file", "ssl_ca_location", "ssl_certificate_location", "ssl_key_location"):
            path = getattr(self, name)
            if path is not None:
                try:
                    _readable(path)
                except ValueError as error:
                    problems.append(f"AISPM_KAFKA__{name.upper()} (field kafka.{name}): {error}")
        return problems


def _readable(path: Path) -> None:
    if not path.is_file():
        raise ValueError(f"{path} is not a readable file")
    try:
        path.open("rb").close()
    except OSError as error:
        raise ValueError(f"{path} cannot be read: {error.strerror}") from None


def _needs_tls(info: ValidationInfo) -> None:
    protocol = info.data.get("security_protocol")
    if protocol in ("PLAINTEXT", "SASL_PLAINTEXT"):
        raise ValueError(f"is a TLS setting but security_protocol is {protocol}: use SSL or SASL_SSL")


class ClickHouseSettings(BaseModel):
    dsn: str | None = Field(
        None, description="chdb:///abs/path (embedded, default <data dir>/clickhouse) or http(s)://host:port"
    )
    database: str = Field("aispm", description="Database holding aispm's tables.")
    username: str | None = None
    password: SecretStr | None = None
    ttl_days: int = Field(90, ge=1, le=36500, description="Days events, alerts and dead letters are kept.")
    cluster: str | None = Field(
        None,
        description="Cluster name of the ClickHouse servers (their remote_servers): migrations then create "
                    "Replicated* tables `<name>_local` ON CLUSTER and Distributed tables under the usual names "
                    "(streams/runtime/cluster.py). Needs a server DSN and the {shard} and {replica} macros. "
                    "Unset: one server, the DDL files as written.",
    )

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if not _CLUSTER.match(value):
            raise ValueError("must be a cluster name (letters, digits, underscore, hyphen)")
        dsn = info.data.get("dsn")
        if not dsn or dsn.startswith("chdb://"):
            raise ValueError("needs a ClickHouse server (AISPM_CLICKHOUSE__DSN=http(s)://...): the embedded "
                             "engine runs no cluster")
        return value

    @field_validator("database")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError("must be a plain identifier (letters, digits, underscore)")
        return value

    @field_validator("dsn")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("chdb://", "http://", "https://")):
            raise ValueError("must start with chdb://, http:// or https://")
        return value


class IngestSettings(BaseModel):
    batch_size: int = Field(5000, ge=1, le=200_000, description="Most messages landed in one batch.")
    # A full batch never waits (under load batches fill by count first), so these windows cost only a
    # lightly loaded worker's latency: 0.5 s here and in the detection agent made a paced run's p99
    # produce-to-alert 2.3 s; 0.25 and 0.2 make it 1.6 s at the same throughput (make bench).
    flush_interval_s: float = Field(
        0.25, gt=0, le=60, description="Longest a partial batch waits before it is landed."
    )
    max_record_bytes: int = Field(
        1 << 20, ge=1024, le=64 << 20, description="Larger messages become dead letters ('oversized')."
    )
    # A log file is parsed whole, at several times its size in memory: CloudTrail delivers files of a few
    # MB, and a file of a few KB can decompress to gigabytes.
    max_file_bytes: int = Field(
        256 << 20, ge=1024, le=16 << 30,
        description="Largest a log file read whole (backfill, `aispm ingest`, `aispm detect`) may be once "
                    "decompressed; a larger one becomes one dead letter ('oversized').",
    )
    dead_letter_raw_cap: int = Field(
        64 << 10, ge=256, le=16 << 20,
        description="Bytes of the original kept with a dead letter; the full size is recorded beside it.",
    )
    redact_bodies: bool = Field(True, description="Replace prompt/body content by its size and fingerprint.")
    normalize_processes: int | None = Field(
        None, ge=0, le=64,
        description="Processes that normalize batches off the worker's GIL; 0 normalizes in the ingest "
                    "thread; unset: one per core the worker may use when it has more than one.",
    )

    def normalizing_processes(self) -> int:
        """How many normalizing processes to run (``normalize_processes``, else sized from the cores)."""
        if self.normalize_processes is not None:
            return self.normalize_processes
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return cores if cores > 1 else 0
    events_per_message: int = Field(
        500, ge=1, le=10_000, description="Normalized events per message on the events topic."
    )
    max_buffered_messages: int = Field(
        20_000, ge=1, le=10_000_000,
        description="Most raw messages a worker holds consumed and not yet landed (normalizing, queued, "
                    "landing). At the bound it pauses its partitions until landing catches up, so a store "
                    "outage costs memory up to this many messages (each at most max_record_bytes) and no more.",
    )
    fetch_buffer_kbytes: int = Field(
        65_536, ge=1024, le=2_097_151,
        description="Most KiB librdkafka prefetches ahead of the ingest loop (queued.max.messages.kbytes); "
                    "memory held beside max_buffered_messages.",
    )
    produce_buffer_kbytes: int = Field(
        65_536, ge=1024, le=2_097_151,
        description="Most KiB each producer holds unsent (queue.buffering.max.kbytes; librdkafka's default "
                    "is ~1 GiB): while the broker is slow a full queue makes sending wait, and nothing is lost.",
    )
    fingerprint_key: SecretStr | None = Field(
        None, min_length=32,
        description="Key of the HMAC fingerprints in redaction markers. Workers that share a store must "
                    "share it (e.g. `openssl rand -hex 32`); unset: <data dir>/secrets/fingerprint.key, "
                    "made on first start.",
    )

class QuerySettings(BaseModel):
    port: int = Field(18123, ge=1024, le=65535, description="Loopback port of the worker's query endpoint.")
    max_rows: int = Field(100_000, ge=1, le=10_000_000, description="Rows one query may return.")
    max_result_bytes: int = Field(
        16 << 20, ge=1 << 10, le=1 << 30, description="Bytes (uncompressed) one query may return."
    )
    max_memory_bytes: int = Field(
        256 << 20, ge=16 << 20, le=64 << 30,
        description="Memory one query may use (the worker grows by up to this much per running query).",
    )
    timeout_s: float = Field(60, gt=0, le=3600, description="Longest a query runs; the engine cancels it then.")
    concurrency: int = Field(
        2, ge=1, le=32, description="Analysts' queries that run at once; the endpoint answers 429 to more."
    )
    threads: int = Field(
        1, ge=1, le=256,
        description="Engine threads per query; fewer than the cores leaves landing a core while one runs.",
    )
    lock_wait_s: float = Field(
        120, ge=0, le=3600,
        description="Longest `aispm up` waits for a direct `aispm query` to release the store, and "
                    "`aispm query` for a starting worker to open its endpoint.",
    )


class OpsSettings(BaseModel):
    """The worker's operations endpoint: /metrics (Prometheus), /healthz, /readyz."""

    host: str = Field(
        "127.0.0.1",
        description="Address the endpoint binds. Loopback by default; in a pod set 0.0.0.0 so the kubelet's "
                    "probes and Prometheus reach it (it serves no data, only counts and health).")
    port: int = Field(19464, ge=1024, le=65535, description="Port of /metrics, /healthz and /readyz.")
    ready_max_backlog: int = Field(
        50_000, ge=1, le=100_000_000,
        description="/readyz fails while more records than this were delivered to the worker and not landed.")
    store_check_s: float = Field(
        5.0, gt=0, le=300, description="How long /readyz trusts its last check that the store answers.")


class DetectionSettings(BaseModel):
    policy_file: Path | None = Field(None, description="Sanctioned-use policy YAML; unset = discovery mode.")
    alert_window_s: int = Field(
        3600, ge=1, le=30 * 86400,
        description="One alert per (detection, principal, provider) per window of event time (tumbling, "
                    "aligned to the epoch).",
    )
    batch_messages: int = Field(
        20, ge=1, le=1000, description="Events-topic messages the detection agent takes at a time."
    )
    batch_interval_s: float = Field(
        0.2, gt=0, le=60, description="Longest the detection agent waits to fill a batch (see flush_interval_s)."
    )
    sigma_rules: list[Path] = Field(
        default_factory=list,
        description='Sigma rules for CloudTrail (files or directories) run beside the built-in rules; '
                    'as an environment variable a JSON list: AISPM_DETECTION__SIGMA_RULES=\'["/etc/aispm/sigma"]\'.',
    )
    alert_format: Literal["ocsf", "ecs", "hec"] = Field(
        "ocsf",
        description="What the alerts topic carries: an OCSF Detection Finding, an Elastic Common Schema document, "
                    "or a Splunk HTTP Event Collector event (streams/detect/SIEM-FORMATS.md). ClickHouse keeps OCSF.",
    )
    hec_sourcetype: str = Field(
        "aispm:ocsf:detection_finding", min_length=1, max_length=200,
        description="The HEC events' sourcetype (alert_format hec).",
    )
    hec_index: str | None = Field(
        None, min_length=1, max_length=200,
        description="The Splunk index of the HEC events; unset: the HEC token's default index.",
    )
    hec_host: str | None = Field(
        None, min_length=1, max_length=255, description="The HEC events' host; unset: the worker's host name.",
    )


class AnomalySettings(BaseModel):
    enabled: bool = Field(True, description="Window and score every principal's access in the worker.")
    window_s: int = Field(600, ge=60, le=86400,
                          description="Tumbling window of event time per principal that anomaly scoring judges.")
    alerts_per_1000: float = Field(
        10.0, gt=0, lt=1000,
        description="Target alert rate: the threshold is set so that this many of every 1,000 training windows "
                    "would alert (a window alerts when fewer than 1% of training windows were as unusual).")
    lateness_s: int = Field(
        120, ge=0, le=86400,
        description="A window closes once events this much newer than its end were seen; events for a "
                    "closed window are counted as late and left out of it.")
    close_every_s: float = Field(
        2.0, ge=0, le=600,
        description="Closing windows costs tens of milliseconds whatever their number: while the stream "
                    "catches up (event time racing ahead), windows due are closed together at most this often.")
    reload_s: float = Field(60.0, ge=1, le=3600, description="How often the worker checks for a newly "
                                                               "promoted anomaly model.")
    history_items: int = Field(
        500, ge=10, le=100_000,
        description="Most items (actions, networks, user agents, regions, hours) remembered per principal and "
                    "kind; the least recently seen are forgotten first.")


class SchedulerSettings(BaseModel):
    """Scheduled jobs (streams/scheduler): model retraining, rollup compaction, retention.

    Each job runs once per slot of its interval, slots aligned to the epoch (a daily job's slot starts at
    00:00 UTC). Runs are recorded in ClickHouse (``scheduler_runs``), so a restart neither repeats a slot
    that finished nor skips one that came due while nothing ran (those are coalesced into one run).
    Retention keeps ``AISPM_CLICKHOUSE__TTL_DAYS``, the one retention setting the tables' TTL uses too.
    """

    enabled: bool = Field(True, description="Run the scheduled jobs inside the worker (`aispm up`); false when "
                                            "`aispm scheduler` runs them in a process of its own.")
    start_delay_s: float = Field(
        120, ge=0, le=86400,
        description="Seconds after start before jobs that are due run, so start-up and recovery get the cores first.")
    retrain_interval_s: int = Field(86400, ge=60, le=90 * 86400, description="Slot length of model retraining.")
    retrain_history_days: float = Field(
        14, gt=0, le=365, description="Retraining fits on the stored events of this many days before its slot.")
    evaluation_source: Literal["cloudtrail", "gateway", "audit"] = Field(
        "cloudtrail", description="Source family of the evaluation files.")
    evaluation_files: list[Path] = Field(
        default_factory=list,
        description="Labelled log files a retrained model is evaluated on, beside the promoted one (as an "
                    "environment variable a JSON list). Without them a new version is kept, not promoted.")
    evaluation_labels: Path | None = Field(
        None, description="One labelled event id per line for the evaluation files (as `aispm model evaluate`).")
    promotion_metric: Literal["average_precision", "roc_auc", "precision", "recall"] = Field(
        "average_precision",
        description="What `aispm model evaluate` reports that decides promotion: a new version is promoted "
                    "when it scores at least as high as the promoted one on the evaluation files.")
    rollup_interval_s: int = Field(3600, ge=60, le=7 * 86400,
                                   description="Slot length of compacting the inventory and usage rollups.")
    retention_interval_s: int = Field(86400, ge=60, le=30 * 86400,
                                      description="Slot length of deleting rows past the retention days.")

    def intervals(self) -> dict[str, int]:
        """Each job's slot length in seconds, by job name."""
        return {"retrain": self.retrain_interval_s, "rollups": self.rollup_interval_s,
                "retention": self.retention_interval_s}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AISPM_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Field(Path("var"), description="Everything local lives here.")
    role: Literal["all", "ingest", "land"] = Field(
        "all",
        description="all: consume the raw topics, land in the store and detect (every worker, with a ClickHouse "
                    "server). ingest: normalize and forward to the events and dead-letters topics without "
                    "opening the store (scale these out). land: the one process that owns the store (chDB "
                    "opens in one process): lands the events and dead-letters topics, deduplicated, and detects.",
    )
    topic_prefix: str = Field("aispm.", description="Prepended to every topic name.")
    kafka: KafkaSettings = KafkaSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    ingest: IngestSettings = IngestSettings()
    query: QuerySettings = QuerySettings()
    ops: OpsSettings = OpsSettings()
    detection: DetectionSettings = DetectionSettings()
    anomaly: AnomalySettings = AnomalySettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    web_port: int = Field(16066, ge=1024, le=65535, description="Faust's web port, bound to 127.0.0.1.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one JSON object per log line (time, level, logger, message).")
    shutdown_timeout_s: float = Field(
        30, gt=0, le=600,
        description="On SIGTERM, longest the ingest stage takes to land the batches it holds and commit.")

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _TOPIC_PREFIX.match(value):
            raise ValueError("may hold only letters, digits, '.', '_' and '-'")
        return value

    @property
    def run_dir(self) -> Path:
        return self.data_dir.resolve() / "run"

    @property
    def clickhouse_dsn(self) -> str:
        return self.clickhouse.dsn or f"chdb://{(self.data_dir.resolve() / 'clickhouse')}"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


class SettingsError(Exception):
    """Invalid configuration, with every problem named by where it was set."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and ``.env``), with errors that name the variable to fix."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_settings_error(error)) from None
    except PydanticSettingsError as error:  # a list or map variable that is not JSON
        raise SettingsError(
            f"invalid aispm settings: {error}; lists and maps are JSON, "
            """e.g. AISPM_DETECTION__SIGMA_RULES='["/etc/aispm/sigma"]'"""
        ) from None


def settings_for_environment(environment: Mapping[str, str]) -> Settings:
    """The settings a process started with ``environment`` would load (for what starts workers)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment)
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def describe_settings_error(error: ValidationError) -> str:
    lines = ["invalid aispm settings:"]
    for item in error.errors():
        path = [str(part) for part in item["loc"]]
        variable = "AISPM_" + "__".join(part.upper() for part in path)
        lines.append(f"  {variable} (field {'.'.join(path)}): {item['msg']}")
    return "\n".join(lines)

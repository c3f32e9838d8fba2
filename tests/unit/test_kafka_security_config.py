"""The one mapping of Kafka security settings to both clients, and settings errors that name the field."""

from __future__ import annotations

import pytest

from streams.runtime.kafka import (
    aiokafka_credentials,
    confluent_config,
    faust_broker_settings,
    librdkafka_security,
)
from streams.settings import KafkaSettings, Settings, SettingsError, load_settings


@pytest.fixture
def pem_files(tmp_path):
    from tests.kafka_security import make_pki

    return make_pki(tmp_path / "pki")


def test_plaintext_maps_to_nothing_secret() -> None:
    assert librdkafka_security(KafkaSettings()) == {"security.protocol": "PLAINTEXT"}
    assert aiokafka_credentials(KafkaSettings()) is None


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_maps_the_same_login_to_both_clients(pem_files, mechanism) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    kafka = KafkaSettings(bootstrap_servers="b:9096", security_protocol="SASL_SSL", sasl_mechanism=mechanism,
                          sasl_username="aispm", sasl_password="s3cret-pw", ssl_ca_location=pem_files.ca)
    rd = librdkafka_security(kafka)
    assert rd == {"security.protocol": "SASL_SSL", "sasl.mechanism": mechanism, "sasl.username": "aispm",
                  "sasl.password": "s3cret-pw", "ssl.endpoint.identification.algorithm": "https",
                  "ssl.ca.location": str(pem_files.ca)}
    aio = credentials_to_aiokafka_auth(aiokafka_credentials(kafka))
    assert aio["security_protocol"] == "SASL_SSL" and aio["sasl_mechanism"] == mechanism
    assert aio["sasl_plain_username"] == "aispm" and aio["sasl_plain_password"] == "s3cret-pw"
    assert aio["ssl_context"].check_hostname and aio["ssl_context"].verify_mode.name == "CERT_REQUIRED"
    assert "s3cret-pw" not in repr(kafka) and "s3cret-pw" not in repr(aiokafka_credentials(kafka))


def test_mtls_loads_the_client_certificate_on_both_sides(pem_files) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    settings = Settings(kafka={"bootstrap_servers": "b:9093", "security_protocol": "SSL",
                               "ssl_ca_location": pem_files.ca, "ssl_certificate_location": pem_files.client_cert,
                               "ssl_key_location": pem_files.client_key})
    config = confluent_config(settings, "b:9093")
    assert config["ssl.certificate.location"] == str(pem_files.client_cert)
    assert config["ssl.key.location"] == str(pem_files.client_key)
    aio = credentials_to_aiokafka_auth(faust_broker_settings(settings, "b:9093")["broker_credentials"])
    assert aio["security_protocol"] == "SSL"


def test_password_from_a_file_is_read_when_a_client_is_configured(tmp_path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("from-a-file\n")
    kafka = KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                          sasl_username="aispm", sasl_password_file=secret)
    assert librdkafka_security(kafka)["sasl.password"] == "from-a-file"
    secret.write_text("rotated")
    assert librdkafka_security(kafka)["sasl.password"] == "rotated"


@pytest.mark.parametrize(("environment", "named"), [
    ({"AISPM_KAFKA__SECURITY_PROTOCOL": "SASL_SSL"}, "AISPM_KAFKA__SASL_MECHANISM (field kafka.sasl_mechanism)"),
    ({"AISPM_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT", "AISPM_KAFKA__SASL_MECHANISM": "PLAIN"},
     "AISPM_KAFKA__SASL_USERNAME (field kafka.sasl_username)"),
    ({"AISPM_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT", "AISPM_KAFKA__SASL_MECHANISM": "PLAIN",
      "AISPM_KAFKA__SASL_USERNAME": "u"}, "AISPM_KAFKA__SASL_PASSWORD_FILE (field kafka.sasl_password_file)"),
    ({"AISPM_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT", "AISPM_KAFKA__SASL_MECHANISM": "PLAIN",
      "AISPM_KAFKA__SASL_USERNAME": "u", "AISPM_KAFKA__SASL_PASSWORD": "p",
      "AISPM_KAFKA__SSL_CA_LOCATION": "{ca}"}, "AISPM_KAFKA__SSL_CA_LOCATION (field kafka.ssl_ca_location)"),
    ({"AISPM_KAFKA__SECURITY_PROTOCOL": "SSL", "AISPM_KAFKA__SSL_CERTIFICATE_LOCATION": "{cert}"},
     "AISPM_KAFKA__SSL_KEY_LOCATION (field kafka.ssl_key_location)"),
])
def test_incoherent_security_names_the_field(monkeypatch, pem_files, environment, named) -> None:
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value.format(ca=pem_files.ca, cert=pem_files.client_cert))
    monkeypatch.setenv("AISPM_KAFKA__BOOTSTRAP_SERVERS", "b:9093")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert named in str(error.value)


def test_unreadable_certificate_files_are_named_where_the_worker_starts(pem_files) -> None:
    kafka = KafkaSettings(security_protocol="SSL", ssl_ca_location="/nonexistent/ca.pem",
                          ssl_certificate_location=pem_files.client_cert, ssl_key_location=pem_files.client_key)
    assert kafka.unreadable_files() == [
        "AISPM_KAFKA__SSL_CA_LOCATION (field kafka.ssl_ca_location): /nonexistent/ca.pem is not a readable file"]

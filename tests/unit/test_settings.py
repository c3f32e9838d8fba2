from __future__ import annotations

import pytest

from streams.settings import Settings, SettingsError, load_settings


def test_defaults_are_embedded_and_local(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.kafka.embedded
    assert settings.clickhouse_dsn == f"chdb://{tmp_path / 'var' / 'clickhouse'}"
    assert settings.topic("events") == "aispm.events"


def test_environment_uses_prefix_and_nesting(monkeypatch) -> None:
    monkeypatch.setenv("AISPM_KAFKA__BOOTSTRAP_SERVERS", "broker-1:9093,broker-2:9093")
    monkeypatch.setenv("AISPM_KAFKA__SASL_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("AISPM_CLICKHOUSE__DSN", "https://ch.example:8443/aispm")
    settings = load_settings()
    assert not settings.kafka.embedded
    assert "hunter2-secret" not in repr(settings) and "hunter2-secret" not in str(settings.model_dump())
    assert settings.kafka.sasl_password.get_secret_value() == "hunter2-secret"


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("AISPM_INGEST__BATCH_SIZE", "0", "AISPM_INGEST__BATCH_SIZE (field ingest.batch_size)"),
    ("AISPM_CLICKHOUSE__DSN", "mysql://x", "AISPM_CLICKHOUSE__DSN (field clickhouse.dsn)"),
    ("AISPM_TOPIC_PREFIX", "bad prefix!", "AISPM_TOPIC_PREFIX (field topic_prefix)"),
    ("AISPM_CLICKHOUSE__DATABASE", "x; DROP", "AISPM_CLICKHOUSE__DATABASE (field clickhouse.database)"),
])
def test_errors_name_the_variable_and_field(monkeypatch, variable: str, value: str, named: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert named in str(error.value)


def test_a_list_setting_that_is_not_json_names_the_field_and_the_form(monkeypatch) -> None:
    monkeypatch.setenv("AISPM_DETECTION__SIGMA_RULES", "/etc/aispm/sigma")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "detection" in str(error.value) and "AISPM_DETECTION__SIGMA_RULES='[" in str(error.value)

"""Client configs come from one place, and never show secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from streams.kafka.clients import (
    ClientConfig,
    admin_config,
    aiokafka_kwargs,
    consumer_config,
    producer_config,
)
from streams.settings import KafkaSettings

SECRET = "s3cr3t-pa55"


def _sasl() -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers="k1:9092,k2:9092",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="journey",
        sasl_password=SECRET,
    )


def test_plaintext_defaults() -> None:
    conf = producer_config(KafkaSettings(bootstrap_servers="127.0.0.1:9092"))
    assert conf["bootstrap.servers"] == "127.0.0.1:9092"
    assert conf["security.protocol"] == "plaintext"
    assert conf["enable.idempotence"] is True
    assert conf["linger.ms"] == 20
    assert "sasl.password" not in conf


def test_sasl_everywhere_and_redacted(caplog: pytest.LogCaptureFixture) -> None:
    kafka = _sasl()
    confs = [
        producer_config(kafka),
        admin_config(kafka),
        consumer_config(kafka, "g"),
    ]
    for conf in confs:
        assert conf["sasl.mechanism"] == "SCRAM-SHA-512"
        assert conf["sasl.username"] == "journey"
        assert conf["sasl.password"] == SECRET  # the client needs it...
        assert SECRET not in repr(conf) and SECRET not in str(conf)  # ...logs must not
        assert SECRET not in f"{conf}" and "***" in repr(conf)
    aio = aiokafka_kwargs(kafka)
    assert aio["sasl_plain_password"] == SECRET
    assert SECRET not in repr(aio)
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("config %s", confs[0])
    assert SECRET not in caplog.text
    assert SECRET not in repr(kafka)  # SecretStr in the settings themselves


def test_ssl_files(tmp_path: Path) -> None:
    kafka = KafkaSettings(
        bootstrap_servers="k:9093",
        security_protocol="SSL",
        ssl_cafile=tmp_path / "ca.pem",
        ssl_certfile=tmp_path / "c.pem",
        ssl_keyfile=tmp_path / "k.pem",
    )
    conf = admin_config(kafka)
    assert conf["security.protocol"] == "ssl"
    assert conf["ssl.ca.location"] == str(tmp_path / "ca.pem")
    assert conf["ssl.certificate.location"] == str(tmp_path / "c.pem")
    assert conf["ssl.key.location"] == str(tmp_path / "k.pem")


def test_sasl_without_mechanism_is_an_error() -> None:
    with pytest.raises(ValueError, match="sasl_mechanism"):
        producer_config(KafkaSettings(bootstrap_servers="k:1", security_protocol="SASL_SSL"))


def test_empty_bootstrap_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="embedded broker"):
        producer_config(KafkaSettings())


def test_overrides_and_plain_dict() -> None:
    conf = consumer_config(KafkaSettings(bootstrap_servers="k:1"), "g", **{"group.id": "h"})
    assert conf["group.id"] == "h"
    assert isinstance(conf, dict) and isinstance(conf, ClientConfig)


def test_config_accepted_by_confluent_kafka() -> None:
    from confluent_kafka import Producer

    Producer(producer_config(_sasl()))  # librdkafka validates property names and values

"""One security configuration reaches every client, and no secret leaks from the settings.

SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) over plaintext and TLS: the confluent configs
(producer, admin, consumer: ``journey produce``, ``topics create``, ``dlq``), aiokafka's keyword
arguments and the Faust app the worker builds (its consumer, producer and changelog) all carry
the mechanism, user and password; ``repr`` of settings and configs, the CLI's help and a
configuration error never show the password. ClickHouse credentials and TLS come from their own
settings as well as from the URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from streams.cli import main as cli_main
from streams.kafka.clients import admin_config, aiokafka_kwargs, consumer_config, producer_config
from streams.settings import ClickHouseSettings, KafkaSettings, Settings
from streams.store.server import open_server_store

SECRET = "pa55-Wörd;with'quotes@and:colons"
MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def _kafka(protocol: str, mechanism: str, tmp_path: Path) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers="k1:9093,k2:9093",
        security_protocol=protocol,  # type: ignore[arg-type]
        sasl_mechanism=mechanism,  # type: ignore[arg-type]
        sasl_username="journey-svc",
        sasl_password=SECRET,  # type: ignore[arg-type]
        ssl_cafile=tmp_path / "ca.pem",
    )


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    from streams.testing.tls import make_pki

    return make_pki(tmp_path).ca_cert


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_reaches_every_confluent_and_aiokafka_client(
    protocol: str, mechanism: str, tmp_path: Path, ca: Path
) -> None:
    kafka = _kafka(protocol, mechanism, tmp_path)
    confs = {
        "producer": producer_config(kafka),
        "admin": admin_config(kafka),
        "consumer": consumer_config(kafka, "g"),
    }
    for name, conf in confs.items():
        assert conf["security.protocol"] == protocol.lower(), name
        assert conf["sasl.mechanism"] == mechanism, name
        assert conf["sasl.username"] == "journey-svc", name
        assert conf["sasl.password"] == SECRET, name
        if protocol == "SASL_SSL":
            assert conf["ssl.ca.location"] == str(kafka.ssl_cafile), name
        else:
            assert "ssl.ca.location" not in conf, name
        assert SECRET not in repr(conf) and SECRET not in str(conf), name
    aio = aiokafka_kwargs(kafka)
    assert aio["security_protocol"] == protocol
    assert aio["sasl_mechanism"] == mechanism
    assert aio["sasl_plain_username"] == "journey-svc"
    assert aio["sasl_plain_password"] == SECRET
    assert ("ssl_context" in aio) == (protocol == "SASL_SSL")
    assert SECRET not in repr(aio)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_sasl_reaches_the_faust_app_of_the_worker(mechanism: str, tmp_path: Path, ca: Path) -> None:
    """The worker's Faust app: aiokafka consumer/producer credentials come from the settings."""
    from streams.worker.app import JourneyWorker

    kafka = _kafka("SASL_SSL", mechanism, tmp_path).model_copy(update={"ssl_cafile": ca})
    settings = Settings(
        kafka=kafka,
        worker={"data_dir": tmp_path / "w", "store": "memory://", "web_port": 0},
    )
    jw = JourneyWorker(settings, store=None)  # type: ignore[arg-type]
    creds: Any = jw.app.conf.broker_credentials
    assert type(creds).__name__ == "SASLCredentials"
    assert creds.mechanism.value == mechanism
    assert creds.username == "journey-svc"
    assert creds.password == SECRET
    assert creds.ssl_context is not None
    assert jw.app.conf.broker_consumer[0].scheme == "kafka"
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    auth = credentials_to_aiokafka_auth(creds)
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == mechanism
    assert auth["sasl_plain_password"] == SECRET


def test_ssl_only_reaches_faust_as_ssl_credentials(tmp_path: Path, ca: Path) -> None:
    from streams.worker.app import JourneyWorker

    settings = Settings(
        kafka={"bootstrap_servers": "k:9093", "security_protocol": "SSL", "ssl_cafile": ca},
        worker={"data_dir": tmp_path / "w", "store": "memory://", "web_port": 0},
    )
    jw = JourneyWorker(settings, store=None)  # type: ignore[arg-type]
    creds: Any = jw.app.conf.broker_credentials
    assert type(creds).__name__ == "SSLCredentials"


def test_settings_repr_never_shows_secrets() -> None:
    s = Settings(
        kafka={"bootstrap_servers": "k:9093", "security_protocol": "SASL_SSL",
               "sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": SECRET,
               "schema_registry_url": f"https://reg:{SECRET}@registry:8081"},
        clickhouse={"url": f"clickhouse://journey:{SECRET}@ch:9440/journey",
                    "password": SECRET},
    )  # fmt: skip
    for text in (repr(s), str(s), repr(s.kafka), repr(s.clickhouse), f"{s!r}"):
        assert SECRET not in text
    assert "***" in repr(s.clickhouse) and "***" in repr(s.kafka)


def test_clickhouse_credentials_and_tls_from_their_own_settings(tmp_path: Path) -> None:
    ch = ClickHouseSettings(
        url="clickhouse://nobody:wrong@ch.example:9440/journey",
        user="journey",
        password=SECRET,  # type: ignore[arg-type]
        secure=True,
        ca_certs=tmp_path / "ca.pem",
    )
    url = ch.store_url()
    assert SECRET not in repr(ch)
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    assert unquote(parts.username or "") == "journey"
    assert unquote(parts.password or "") == SECRET
    assert (parts.hostname, parts.port, parts.path) == ("ch.example", 9440, "/journey")
    assert parse_qs(parts.query) == {"secure": ["1"], "ca_certs": [str(tmp_path / "ca.pem")]}
    # the URL alone still works; the embedded store is untouched
    assert ClickHouseSettings(url="clickhouse://a:b@h/db").store_url() == "clickhouse://a:b@h/db"
    assert ClickHouseSettings(url="chdb://x/y", password="p").store_url() == "chdb://x/y"  # type: ignore[arg-type]


def test_clickhouse_tls_settings_reach_the_driver(tmp_path: Path) -> None:
    """secure + ca_certs end up in clickhouse-driver's connection (no server needed)."""
    from streams.store.base import StoreError

    url = ClickHouseSettings(
        url="clickhouse://127.0.0.1:1/journey", user="journey", password=SECRET,  # type: ignore[arg-type]
        secure=True, ca_certs=tmp_path / "ca.pem",
    ).store_url()  # fmt: skip
    with pytest.raises(StoreError) as info:
        open_server_store(url)
    assert SECRET not in str(info.value)
    import clickhouse_driver

    seen: dict[str, Any] = {}
    real = clickhouse_driver.Client.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        seen.update(kwargs)
        real(self, *args, **kwargs)

    clickhouse_driver.Client.__init__ = spy  # type: ignore[method-assign]
    try:
        with pytest.raises(StoreError):
            open_server_store(url)
    finally:
        clickhouse_driver.Client.__init__ = real  # type: ignore[method-assign]
    assert seen["secure"] is True and seen["verify"] is True
    assert seen["ca_certs"] == str(tmp_path / "ca.pem")
    assert seen["user"] == "journey" and seen["password"] == SECRET


def test_cli_help_and_config_errors_show_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEY_KAFKA__SASL_PASSWORD", SECRET)
    monkeypatch.setenv("JOURNEY_CLICKHOUSE__PASSWORD", SECRET)
    monkeypatch.setenv("JOURNEY_CLICKHOUSE__URL", f"clickhouse://u:{SECRET}@h:9000/db")
    runner = CliRunner()
    for args in (["--help"], ["worker", "--help"], ["erase", "--help"], ["migrate", "--help"],
                 ["topics", "--help"], ["dlq", "inspect", "--help"]):  # fmt: skip
        result = runner.invoke(cli_main, args)
        assert result.exit_code == 0, (args, result.output)
        assert SECRET not in result.output
    # an invalid setting next to the passwords: the error names the setting, not the secrets
    monkeypatch.setenv("JOURNEY_WORKER__METRICS_PORT", "not-a-port")
    result = runner.invoke(cli_main, ["topics", "list"])
    assert result.exit_code != 0
    assert "metrics_port" in result.output
    assert SECRET not in result.output

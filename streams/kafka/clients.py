"""Client configuration for every Kafka client journey uses, built in one place.

confluent-kafka (producer, admin, consumer, kcat-like tools) and aiokafka (under Faust) spell the
same settings differently; deriving both from :class:`~streams.settings.KafkaSettings` here means
TLS or SASL is configured once and cannot drift between the worker and the tools.

The returned configs hold the SASL password in clear (the clients need it), so they are
:class:`ClientConfig` dicts whose ``repr``/``str`` redact secrets: logging a config, or an
exception that embeds it, cannot leak the password.
"""

from __future__ import annotations

from typing import Any

from streams.settings import KafkaSettings

_SECRET_MARKERS = ("password", "secret", "sasl.oauthbearer.config", "ssl.key.pem", "ssl_context")
REDACTED = "***"


def _is_secret(key: str) -> bool:
    return any(marker in key.lower() for marker in _SECRET_MARKERS)


class ClientConfig(dict[str, Any]):
    """A plain ``dict`` for the client libraries whose ``repr`` never shows secrets."""

    def redacted(self) -> dict[str, Any]:
        """Copy safe to log."""
        return {k: (REDACTED if _is_secret(k) and v is not None else v) for k, v in self.items()}

    def __repr__(self) -> str:
        return f"ClientConfig({self.redacted()!r})"

    __str__ = __repr__


def require_bootstrap(kafka: KafkaSettings) -> str:
    """The bootstrap servers, or a clear error when the embedded broker was meant to be started."""
    if not kafka.bootstrap_servers:
        raise ValueError(
            "kafka.bootstrap_servers is empty: start the embedded broker first "
            "(streams.embedded.broker.TansuBroker) or set JOURNEY_KAFKA__BOOTSTRAP_SERVERS"
        )
    return kafka.bootstrap_servers


def confluent_base(kafka: KafkaSettings) -> ClientConfig:
    """librdkafka properties shared by producer, consumer and admin client."""
    conf = ClientConfig(
        {
            "bootstrap.servers": require_bootstrap(kafka),
            "security.protocol": kafka.security_protocol.lower(),
        }
    )
    if kafka.security_protocol.startswith("SASL"):
        if kafka.sasl_mechanism is None:
            raise ValueError(f"security_protocol {kafka.security_protocol} needs sasl_mechanism")
        conf["sasl.mechanism"] = kafka.sasl_mechanism
        conf["sasl.username"] = kafka.sasl_username or ""
        conf["sasl.password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
        )
    if kafka.security_protocol.endswith("SSL"):
        if kafka.ssl_cafile:
            conf["ssl.ca.location"] = str(kafka.ssl_cafile)
        if kafka.ssl_certfile:
            conf["ssl.certificate.location"] = str(kafka.ssl_certfile)
        if kafka.ssl_keyfile:
            conf["ssl.key.location"] = str(kafka.ssl_keyfile)
    return conf


def producer_config(kafka: KafkaSettings, **overrides: Any) -> ClientConfig:
    """Idempotent producer batching ~20 ms: no duplicates on retry, per-partition order kept."""
    conf = confluent_base(kafka)
    conf.update(
        {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "lz4",
        }
    )
    conf.update(overrides)
    return conf


def admin_config(kafka: KafkaSettings, **overrides: Any) -> ClientConfig:
    conf = confluent_base(kafka)
    conf.update(overrides)
    return conf


def consumer_config(kafka: KafkaSettings, group_id: str, **overrides: Any) -> ClientConfig:
    """Consumer that starts at the earliest offset and commits explicitly."""
    conf = confluent_base(kafka)
    conf.update(
        {
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    conf.update(overrides)
    return conf


def aiokafka_kwargs(kafka: KafkaSettings) -> ClientConfig:
    """Keyword arguments for aiokafka clients (and Faust's ``broker_credentials`` pieces)."""
    kwargs = ClientConfig(
        {
            "bootstrap_servers": require_bootstrap(kafka),
            "security_protocol": kafka.security_protocol,
        }
    )
    if kafka.security_protocol.startswith("SASL"):
        if kafka.sasl_mechanism is None:
            raise ValueError(f"security_protocol {kafka.security_protocol} needs sasl_mechanism")
        kwargs["sasl_mechanism"] = kafka.sasl_mechanism
        kwargs["sasl_plain_username"] = kafka.sasl_username or ""
        kwargs["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
        )
    if kafka.security_protocol.endswith("SSL"):
        from aiokafka.helpers import create_ssl_context

        kwargs["ssl_context"] = create_ssl_context(
            cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None,
            certfile=str(kafka.ssl_certfile) if kafka.ssl_certfile else None,
            keyfile=str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None,
        )
    return kwargs

"""One typed settings object for every command and worker.

Values come, highest priority first, from: keyword arguments, environment variables
(``JOURNEY_`` prefix, ``__`` between nested names, e.g. ``JOURNEY_KAFKA__BOOTSTRAP_SERVERS``),
a TOML file (``JOURNEY_CONFIG`` or ``./journey.toml`` when present), and the defaults below.
The defaults run the embedded stack: a Tansu broker started for you and chdb in ``./journey-data``.

Backends are chosen by URL scheme, as in Faust: ``chdb://PATH`` (embedded, the default) or
``clickhouse://USER:PASSWORD@HOST:PORT/DATABASE`` (a server, via clickhouse-driver) for the
store; ``rocksdb://`` or ``memory://`` for the worker's state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from streams.engine.config import EngineConfig

EVENT_TYPES: tuple[str, ...] = ("account_opened", "login", "transaction", "complaint", "closure")


class KafkaSettings(BaseModel):
    """Where the broker is and how to talk to it. Empty bootstrap = start the embedded broker."""

    bootstrap_servers: str = Field(
        "", description="host:port[,host:port]; empty means 'start the embedded Tansu broker'"
    )
    schema_registry_url: str | None = Field(
        None, description="Confluent Schema Registry URL; unset = Avro single-object encoding"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    compiled_decoder: bool = Field(
        True,
        description="read Avro bodies of current-schema records with a reader generated per "
        "schema (about 2x faster than fastavro's generic reader, checked against it in the "
        "tests); false = fastavro for every record",
    )

    def __repr_args__(self) -> Any:
        from streams.store.base import redact_url

        for name, value in super().__repr_args__():
            if name == "schema_registry_url" and value:
                value = redact_url(value)  # http://USER:PASSWORD@registry:8081
            yield name, value


class TopicSettings(BaseModel):
    """Topic names and layout. All input topics share one partition count (co-partitioned)."""

    prefix: str = Field("journey.", description="prepended to every topic name")
    partitions: int = Field(6, ge=1, description="partitions of every input and derived topic")
    replication_factor: int = Field(1, ge=1)
    names: dict[str, str] = Field(
        default_factory=dict,
        description="override a topic's name by key "
        "(an event type, 'dead_letter', 'too_late', ...)",
    )

    def name(self, key: str) -> str:
        """Full topic name for an event type or derived stream key."""
        return self.names.get(key) or f"{self.prefix}{key}"


class ClickHouseSettings(BaseModel):
    """Where rows go. The URL scheme picks the backend.

    Credentials and TLS may sit in the URL or in their own settings (which win), so a password
    can come from a secret (``JOURNEY_CLICKHOUSE__PASSWORD``) while the URL stays in a
    ConfigMap. :meth:`store_url` merges them; ``repr`` never shows the password.
    """

    url: str = Field(
        "chdb://journey-data/chdb",
        description="chdb://PATH (embedded) or clickhouse://USER:PASSWORD@HOST:9000/DATABASE",
    )
    user: str | None = Field(None, description="server user; overrides the URL's")
    password: SecretStr | None = Field(None, description="server password; overrides the URL's")
    secure: bool = Field(False, description="TLS to the server (native port 9440 by default)")
    ca_certs: Path | None = Field(None, description="CA bundle to verify the server's certificate")

    def store_url(self) -> str:
        """The URL to open, with user, password and TLS settings merged in (server only)."""
        from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

        parts = urlsplit(self.url)
        if parts.scheme not in ("clickhouse", "clickhouses"):
            return self.url
        user = self.user if self.user is not None else unquote(parts.username or "default")
        if self.password is not None:
            password = self.password.get_secret_value()
        else:
            password = unquote(parts.password or "")
        host = parts.hostname or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}{port}"
        query = parts.query
        extra: dict[str, str] = {}
        if self.secure:
            extra["secure"] = "1"
        if self.ca_certs is not None:
            extra["ca_certs"] = str(self.ca_certs)
        if extra:
            query = "&".join(q for q in (query, urlencode(extra)) if q)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    def __repr_args__(self) -> Any:
        from streams.store.base import redact_url

        for name, value in super().__repr_args__():
            yield name, (redact_url(value) if name == "url" else value)


class WorkerSettings(BaseModel):
    """The Faust worker."""

    app_id: str = "journey"
    data_dir: Path = Path("journey-data")
    store: str = Field("rocksdb://", description="rocksdb:// (durable) or memory:// (tests only)")
    web_port: int = Field(6066, description="Faust web port (0 = pick a free one)")
    metrics_port: int = Field(9466, description="Prometheus /metrics port (0 = disabled)")
    metrics_host: str = Field(
        "127.0.0.1",
        description="address /metrics listens on; 0.0.0.0 in a container so Prometheus and "
        "the orchestrator's probes can reach it",
    )
    sink_batch_rows: int = Field(
        50_000, ge=1, description="write to ClickHouse once this many rows are buffered"
    )
    sink_batch_seconds: float = Field(
        5.0,
        gt=0,
        description="write buffered rows to ClickHouse at least this often (each insert has a "
        "fixed cost of tens of ms per table: fewer, larger inserts are faster)",
    )
    sink_avro_events: bool = Field(
        True,
        description="embedded store (chdb): raw-event rows are the delivered Avro bodies with "
        "four values prepended, decoded by chdb's own threads (building them took a third of "
        "the time of the column path's tuples, before its Arrow conversion); false = Arrow "
        "columns built in Python, as the server backend always gets",
    )
    checkpoint_seconds: float = Field(
        5.0,
        gt=0,
        description="store rows, then customer states, then commit offsets this often; "
        "a crash re-processes at most this much (idempotently)",
    )
    standby_replicas: int = Field(0, ge=0)
    idle_topic_s: float = Field(
        5.0, gt=0, description="an input topic silent this long stops holding the watermark"
    )
    wall_clock_watermark: bool = Field(
        False,
        description="live mode: quiet partitions advance to now - allowed lateness, so "
        "deadlines fire on time with no traffic (leave off for backfills of history)",
    )
    session_timeout_s: float = Field(
        10.0, gt=0, description="Kafka group session timeout; short = fast failover"
    )
    recovery_consistency_check: bool = Field(
        True,
        description="refuse to recover a table whose local RocksDB is ahead of its changelog "
        "topic (Faust's check). Keep on with Kafka. Tansu 0.6's ListOffsets answers the last "
        "record batch's base offset + 1 instead of the log end offset, which trips the check "
        "after any restart, so the embedded stack turns it off",
    )
    max_poll_records: int = Field(
        5_000, ge=1, description="records per fetch: the batch the worker applies at once"
    )
    gc_threshold: int = Field(
        50_000,
        ge=0,
        description="allocations between two young-generation garbage collections of the "
        "worker process (CPython's default is 700, costly on this allocation-heavy hot path "
        "with few reference cycles); 0 leaves Python's setting alone",
    )
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        "auto",
        description="the worker's asyncio event loops (its own and the Kafka consumer "
        "thread's): uvloop where installed (auto), or always the standard library's",
    )


class Settings(BaseSettings):
    """All of journey's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="JOURNEY_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)  # type: ignore[arg-type]
    topics: TopicSettings = Field(default_factory=TopicSettings)  # type: ignore[arg-type]
    clickhouse: ClickHouseSettings = Field(default_factory=ClickHouseSettings)  # type: ignore[arg-type]
    worker: WorkerSettings = Field(default_factory=WorkerSettings)  # type: ignore[arg-type]
    engine: EngineConfig = Field(default_factory=EngineConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get("JOURNEY_CONFIG", "journey.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from keyword overrides, environment and file."""
    return Settings(**overrides)

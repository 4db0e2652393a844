"""TLS for real: stunnel4 terminates TLS in front of a Tansu broker that advertises the TLS port.

With the right CA every client works through TLS only (admin via ``journey topics create``,
the producer, the worker's aiokafka consumer and producer, the dead-letter consumer of
``journey dlq inspect``); a wrong CA, or plaintext against the TLS port, fails with one clear
sentence. The same worker run has ClickHouse credentials and a SASL password configured:
neither appears in its log, its metrics, or ``--help``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from streams.embedded.broker import TansuBroker, free_port
from streams.engine.builders import day, login, opened, tx
from streams.kafka.clients import admin_config, producer_config
from streams.kafka.produce import produce_records
from streams.kafka.topics import input_topics
from streams.settings import Settings
from streams.store import open_store
from streams.testing.real import missing
from streams.testing.tls import Pki, Stunnel, find_stunnel, make_pki
from streams.testing.worker import WorkerProcess, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.slow]

T0 = 1_717_200_000_000
SASL_SECRET = "sasl-Secret-4711"


@dataclass
class TlsBroker:
    bootstrap: str  # the TLS port (what the broker advertises)
    plain: str  # the broker's own plaintext port, behind stunnel
    pki: Pki
    wrong: Pki  # a CA that did not sign the broker's certificate


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    if find_stunnel() is None:
        missing("stunnel4 is not installed (apt-get install -y stunnel4)")
    d = tmp_path_factory.mktemp("tls")
    pki, wrong = make_pki(d / "pki"), make_pki(d / "wrong", name="impostor")
    tls_port = free_port()
    with (
        TansuBroker(log_dir=d, advertised_port=tls_port) as tansu,
        Stunnel(pki, accept=tls_port, connect=tansu.port or 0, workdir=d),
    ):
        yield TlsBroker(f"127.0.0.1:{tls_port}", tansu.bootstrap, pki, wrong)


def _tls_env(tb: TlsBroker, ca: Path | None, protocol: str = "SSL") -> dict[str, str]:
    env = {"JOURNEY_KAFKA__BOOTSTRAP_SERVERS": tb.bootstrap,
           "JOURNEY_KAFKA__SECURITY_PROTOCOL": protocol}  # fmt: skip
    if ca is not None:
        env["JOURNEY_KAFKA__SSL_CAFILE"] = str(ca)
    return env


def _journey(args: list[str], env: dict[str, str], timeout: float = 60) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _settings(tb: TlsBroker, prefix: str, ca: Path) -> Settings:
    return Settings(
        kafka={"bootstrap_servers": tb.bootstrap, "security_protocol": "SSL", "ssl_cafile": ca},
        topics={"prefix": prefix, "partitions": 2},
    )


def test_right_ca_every_client_over_tls_and_no_secret_leaks(
    tls_broker: TlsBroker, topic_prefix: str, clickhouse_server: Any, tmp_path: Path
) -> None:
    if getattr(clickhouse_server, "journey_password", None) is None:
        pytest.skip("needs the test ClickHouse server with its password-protected user")
    ch_secret = clickhouse_server.journey_password
    tb = tls_broker
    env = {**_tls_env(tb, tb.pki.ca_cert), "JOURNEY_TOPICS__PREFIX": topic_prefix,
           "JOURNEY_TOPICS__PARTITIONS": "2"}  # fmt: skip

    # admin: journey topics create, through TLS
    created = _journey(["topics", "create"], env)
    assert created.returncode == 0, created.stderr
    assert "created" in created.stdout

    # producer: valid events, plus one record that is not Avro (for the dead-letter path)
    settings = _settings(tb, topic_prefix, tb.pki.ca_cert)
    events = [opened("c1", T0), login("c1", T0 + day(1)), tx("c1", T0 + day(2)),
              opened("c2", T0 + day(1)), login("c2", T0 + day(3))]  # fmt: skip
    assert produce_records(events, settings).total_sent == len(events)
    raw = Producer(producer_config(settings.kafka))
    raw.produce(input_topics(settings)["login"], key=b"c9", value=b"not avro at all")
    assert raw.flush(15) == 0

    # worker (aiokafka consumer + producer) over TLS; ClickHouse user and password from their
    # own settings (not the URL); a SASL password configured too, to prove it never shows
    database = f"tls_{uuid.uuid4().hex[:8]}"
    wenv = worker_env(
        bootstrap=tb.bootstrap, prefix=topic_prefix, partitions=2,
        clickhouse_url=clickhouse_server.url_for(database, user="nobody", password=""),
        data_dir=tmp_path / "w", app_id=topic_prefix + "x",
    )  # fmt: skip
    wenv.update(env)
    wenv.update({"JOURNEY_CLICKHOUSE__USER": "journey", "JOURNEY_CLICKHOUSE__PASSWORD": ch_secret,
                 "JOURNEY_KAFKA__SASL_USERNAME": "journey",
                 "JOURNEY_KAFKA__SASL_PASSWORD": SASL_SECRET})  # fmt: skip
    worker = WorkerProcess(wenv).start()
    metrics_text = ""
    try:
        worker.wait(
            lambda: worker.metric("journey_events_consumed_total") >= len(events) + 1
            and worker.metric("journey_sink_rows_written_total") > 0,
            120, "consuming over TLS",
        )  # fmt: skip
        url = f"http://127.0.0.1:{worker.metrics_port}/metrics"
        import urllib.request

        metrics_text = urllib.request.urlopen(url, timeout=5).read().decode()
    finally:
        assert worker.stop() == 0, worker.output()
    with open_store(clickhouse_server.url_for(database, "journey", ch_secret)) as store:
        rows = store.execute("SELECT customer_id, event_type FROM events FINAL ORDER BY 1, 2")
    assert rows == sorted((ev["customer_id"], t) for t, ev in events)

    # dead-letter consumer: journey dlq inspect over TLS
    inspected = _journey(["dlq", "inspect", "--format", "json"], env)
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["counts"] == {"not_avro": 1}

    # no secret in the worker's log, its metrics, or the CLI's help
    log = worker.log_path.read_text("utf-8", "replace")
    for secret in (ch_secret, SASL_SECRET):
        assert secret not in log
        assert secret not in metrics_text
    assert "journey_events_consumed_total" in metrics_text
    for args in (["--help"], ["worker", "--help"], ["migrate", "--help"], ["dlq", "--help"]):
        helped = _journey(args, wenv)
        assert helped.returncode == 0, helped.stderr
        assert ch_secret not in helped.stdout and SASL_SECRET not in helped.stdout


def test_wrong_ca_fails_clearly(tls_broker: TlsBroker, topic_prefix: str, tmp_path: Path) -> None:
    tb = tls_broker
    env = {**_tls_env(tb, tb.wrong.ca_cert), "JOURNEY_TOPICS__PREFIX": topic_prefix}
    # the clients themselves refuse the broker (this is not only our check)...
    kafka = _settings(tb, topic_prefix, tb.wrong.ca_cert).kafka
    with pytest.raises(KafkaException):
        AdminClient({**admin_config(kafka), "log_level": 0}).list_topics(timeout=3)
    # ...and every command says why, in one sentence naming the setting
    for args in (["topics", "create"], ["dlq", "inspect"], ["worker"]):
        done = _journey(args, {**env, "JOURNEY_WORKER__DATA_DIR": str(tmp_path)})
        assert done.returncode != 0, (args, done.stdout)
        assert "TLS certificate not trusted" in done.stderr, done.stderr
        assert "JOURNEY_KAFKA__SSL_CAFILE" in done.stderr
        assert "Traceback" not in done.stderr


def test_plaintext_against_tls_port_and_tls_against_plaintext_fail_clearly(
    tls_broker: TlsBroker, topic_prefix: str
) -> None:
    tb = tls_broker
    plain = _journey(["topics", "create"], {**_tls_env(tb, None, "PLAINTEXT"),
                                            "JOURNEY_TOPICS__PREFIX": topic_prefix})  # fmt: skip
    assert plain.returncode != 0
    assert "listener expects TLS" in plain.stderr, plain.stderr
    assert "JOURNEY_KAFKA__SECURITY_PROTOCOL=SSL" in plain.stderr
    with pytest.raises(KafkaException):
        AdminClient({"bootstrap.servers": tb.bootstrap, "log_level": 0}).list_topics(timeout=3)

    env = {**_tls_env(tb, tb.pki.ca_cert), "JOURNEY_KAFKA__BOOTSTRAP_SERVERS": tb.plain,
           "JOURNEY_TOPICS__PREFIX": topic_prefix}  # fmt: skip
    tls_to_plain = _journey(["topics", "create"], env)
    assert tls_to_plain.returncode != 0
    assert "TLS handshake failed" in tls_to_plain.stderr, tls_to_plain.stderr
    assert "plaintext" in tls_to_plain.stderr

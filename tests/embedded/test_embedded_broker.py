"""The embedded Tansu broker: starts on a free loopback port, serves metadata, stops cleanly."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from streams.embedded.broker import BrokerError, TansuBroker


def test_start_serve_stop(tmp_path: Path) -> None:
    with TansuBroker(log_dir=tmp_path) as broker:
        assert broker.bootstrap.startswith("127.0.0.1:")
        assert broker.running()
        proc = broker.process
        assert proc is not None
        metadata = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=5)
        [advertised] = metadata.brokers.values()
        assert (advertised.host, advertised.port) == ("127.0.0.1", broker.port)
    assert not broker.running()
    assert proc.poll() is not None
    assert (tmp_path / "tansu.log").is_file()
    broker.stop()  # idempotent


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="not executable"):
        TansuBroker(log_dir=tmp_path, binary=str(tmp_path / "no-such-tansu")).start()


def test_missing_binary_via_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", str(tmp_path / "nope"))
    with pytest.raises(BrokerError, match="no Tansu broker binary"):
        TansuBroker(log_dir=tmp_path).start()


def test_failed_start_shows_log_tail(tmp_path: Path) -> None:
    fake = tmp_path / "fails"
    fake.write_text("#!/bin/sh\necho 'boom: cannot bind' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(BrokerError) as info:
        TansuBroker(log_dir=tmp_path, binary=str(fake)).start()
    assert "exited with code 3" in str(info.value)
    assert "boom: cannot bind" in str(info.value)


def test_port_in_use_fails_with_broker_log(tmp_path: Path) -> None:
    with TansuBroker(log_dir=tmp_path / "a") as first:
        second = TansuBroker(log_dir=tmp_path / "b", port=first.port, start_timeout=10)
        with pytest.raises(BrokerError) as info:
            second.start()
        assert "AddrInUse" in str(info.value) or "Address in use" in str(info.value)
        assert first.running()


def test_hung_start_times_out_and_is_killed(tmp_path: Path) -> None:
    fake = tmp_path / "hangs"
    fake.write_text("#!/bin/sh\necho starting\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    broker = TansuBroker(log_dir=tmp_path, binary=str(fake), start_timeout=1.5)
    with pytest.raises(BrokerError, match="did not answer metadata") as info:
        broker.start()
    assert "starting" in str(info.value)
    assert broker.process is None


def test_fixture_gives_a_bootstrap(broker: str) -> None:
    host, port = broker.rsplit(":", 1)
    assert host and int(port) > 0
    assert os.environ.get("JOURNEY_TEST_KAFKA_BOOTSTRAP", broker) == broker

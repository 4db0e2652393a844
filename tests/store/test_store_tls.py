"""ClickHouse over TLS, with the password-protected user, configured from the settings.

A dedicated Debian 18.16 server serves the native protocol over TLS too (a certificate from a
throw-away CA). The worker's settings (user, password, ``secure``, ``ca_certs``) reach it;
a wrong CA, a plaintext client on the TLS port and a wrong password each fail with a clear
message that never contains the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.settings import ClickHouseSettings
from streams.store import open_store
from streams.store.base import StoreError
from streams.testing.clickhouse_server import ClickHouseServer, find_server_binary
from streams.testing.real import missing
from streams.testing.tls import Pki, make_pki

pytestmark = [pytest.mark.chserver, pytest.mark.slow]

PASSWORD = "tls-Pass'word\\x"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ClickHouseServer, Pki]]:
    if find_server_binary() is None:
        missing("clickhouse-server is not installed (apt-get install -y clickhouse-server)")
    d = tmp_path_factory.mktemp("chtls")
    pki = make_pki(d / "pki")
    server = ClickHouseServer(
        workdir=d / "server", journey_password=PASSWORD, tls=(pki.server_cert, pki.server_key)
    )
    with server:
        yield server, pki


def _settings(server: ClickHouseServer, **kw: Any) -> ClickHouseSettings:
    base: dict[str, Any] = {
        "url": f"clickhouse://127.0.0.1:{server.tcp_port_secure}/journey_tls",
        "user": "journey",
        "password": PASSWORD,
        "secure": True,
    }
    return ClickHouseSettings(**(base | kw))


def test_tls_with_the_right_ca_and_password(tls_server: tuple[ClickHouseServer, Pki]) -> None:
    server, pki = tls_server
    with open_store(_settings(server, ca_certs=pki.ca_cert).store_url()) as store:
        assert store.execute("SELECT currentDatabase()") == [("journey_tls",)]
        me = "SELECT DISTINCT user FROM system.processes WHERE query LIKE '%tls-probe%'"
        assert store.execute(me) == [("journey",)]  # 18.16 has no currentUser()
        store.execute("CREATE TABLE IF NOT EXISTS t (x UInt8) ENGINE = MergeTree ORDER BY x")
        store.insert("t", ["x"], [[1, 2, 3]])
        assert store.execute("SELECT sum(x) FROM t") == [(6,)]


def test_wrong_ca_plaintext_and_wrong_password_fail_clearly(
    tls_server: tuple[ClickHouseServer, Pki], tmp_path: Path
) -> None:
    server, pki = tls_server
    other = make_pki(tmp_path / "other", name="impostor")
    with pytest.raises(StoreError) as bad_ca:
        open_store(_settings(server, ca_certs=other.ca_cert).store_url())
    assert "certificate" in str(bad_ca.value) and "CA_CERTS" in str(bad_ca.value)

    with pytest.raises(StoreError) as plain:  # a plaintext client on the TLS port
        open_store(_settings(server, secure=False).store_url() + "?connect_timeout=3")
    assert f"127.0.0.1:{server.tcp_port_secure}" in str(plain.value)

    with pytest.raises(StoreError) as wrong:
        open_store(_settings(server, ca_certs=pki.ca_cert, password="nope-x").store_url())
    assert "rejected user 'journey'" in str(wrong.value)
    for info in (bad_ca, plain, wrong):
        assert PASSWORD not in str(info.value) and "nope-x" not in str(info.value)

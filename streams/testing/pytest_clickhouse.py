"""pytest plugin: real ClickHouse stores for tests, on both engines.

Fixtures
--------
``clickhouse_server`` (session)
    A :class:`ClickHouseServer` (Debian's 18.16) started once per test session, or the server
    named by ``JOURNEY_TEST_CLICKHOUSE_URL`` (then ``journey_url`` is None).  Tests using it are
    skipped, with the reason, when neither is available.
``chdb_root`` (session)
    The one chdb data directory of this test process.  chdb allows one data directory per
    process at a time ("EmbeddedServer already initialized" while any session on another path
    is open), so every chdb store in a test session should live here, one *database* per test.
``store_url`` (function, parametrized ``server`` / ``chdb``)
    A URL to a fresh, empty database, dropped after the test; a test using it runs once per
    engine, so all SQL is checked on 18.16 and 26.x.
``store``
    ``open_store(store_url)``, closed after the test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from streams.store.base import Store, open_store
from streams.testing.clickhouse_server import ClickHouseServer, find_server_binary
from streams.testing.real import missing

ENV_URL = "JOURNEY_TEST_CLICKHOUSE_URL"


@dataclass
class ExternalClickHouse:
    """A server someone else runs (``JOURNEY_TEST_CLICKHOUSE_URL``)."""

    url: str
    journey_url: str | None = None
    http_port: int | None = None

    def url_for(self, database: str = "default", user: str = "default", password: str = "") -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        netloc = f"{user}:{password}@{host}:{parts.port or 9000}"
        return urlunsplit((parts.scheme, netloc, "/" + database, parts.query, ""))


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def clickhouse_server() -> Iterator[ClickHouseServer | ExternalClickHouse]:
    url = os.environ.get(ENV_URL)
    if url:
        yield ExternalClickHouse(url)
        return
    if find_server_binary() is None:
        missing(
            f"no ClickHouse server: clickhouse-server is not installed (apt-get install -y "
            f"clickhouse-server) and {ENV_URL} is not set"
        )
    with ClickHouseServer() as server:
        yield server


@pytest.fixture(scope="session")
def chdb_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


def _unique_database() -> str:
    return "t_" + uuid.uuid4().hex[:16]


@pytest.fixture(params=[pytest.param("server", marks=pytest.mark.chserver), "chdb"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    database = _unique_database()
    if request.param == "server":
        server = request.getfixturevalue("clickhouse_server")
        url = with_database(server.url, database)
    else:
        root = request.getfixturevalue("chdb_root")
        url = f"chdb://{root}?database={database}"
    yield url
    try:
        with open_store(url) as cleanup:
            cleanup.execute(f"DROP DATABASE IF EXISTS `{database}`")
    except Exception:  # best effort: a dead server must not hide the test's own result
        pass


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()

"""One loaded copy of the hand-made population per engine, shared by a test module.

Loading (migrate + four inserts) is the slow part of a query test, and every query test only
reads, so each test module gets one database per engine (18.16 server, chdb) instead of one per
test; the parametrization still runs every assertion on both engines.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from analytics_population import load

from streams.store import Store, open_store
from streams.testing.pytest_clickhouse import with_database


@pytest.fixture(scope="module", params=[pytest.param("server", marks=pytest.mark.chserver), "chdb"])
def population(request: pytest.FixtureRequest) -> Iterator[Store]:
    database = "t_" + uuid.uuid4().hex[:16]
    if request.param == "server":
        server: Any = request.getfixturevalue("clickhouse_server")
        url = with_database(server.url, database)
    else:
        url = f"chdb://{request.getfixturevalue('chdb_root')}?database={database}"
    store = open_store(url)
    store.test_url = url  # type: ignore[attr-defined]  # for tests that go through the CLI
    try:
        load(store)
        yield store
    finally:
        try:
            store.execute(f"DROP DATABASE IF EXISTS `{database}`")
        finally:
            store.close()

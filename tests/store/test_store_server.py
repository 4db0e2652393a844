"""Server backend specifics: connection errors, authentication, URL handling (18.16)."""

from __future__ import annotations

import pytest

from streams.store import StoreError, open_store, redact_url
from streams.testing.clickhouse_server import free_port

pytestmark = pytest.mark.chserver


def test_unreachable_server_is_retryable_with_a_clear_message() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StoreError) as info:
        open_store(f"clickhouse://default:@127.0.0.1:{port}/default?connect_timeout=2")
    err = info.value
    assert err.retryable is True
    assert f"ClickHouse at 127.0.0.1:{port} refused the connection" in str(err)
    assert "is the server running?" in str(err) and "JOURNEY_CLICKHOUSE__URL" in str(err)


def test_wrong_password_is_clear_and_not_retryable(clickhouse_server) -> None:  # type: ignore[no-untyped-def]
    if getattr(clickhouse_server, "journey_password", None) is None:
        pytest.skip("external server: the journey test user is only on the fixture's server")
    url = clickhouse_server.url_for(user="journey", password="not-the-password")
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert info.value.retryable is False
    assert "rejected user 'journey'" in str(info.value)
    assert "not-the-password" not in str(info.value)
    with open_store(clickhouse_server.journey_url) as store:  # the right password works
        assert store.execute("SELECT 1") == [(1,)]


def test_missing_database_is_created(clickhouse_server) -> None:  # type: ignore[no-untyped-def]
    url = clickhouse_server.url_for(database="journey_autocreated")
    with open_store(url) as store:
        assert store.execute("SELECT currentDatabase()") == [("journey_autocreated",)]
        store.execute("DROP DATABASE journey_autocreated")


def test_redact_url() -> None:
    assert redact_url("clickhouse://u:s3cret@h:9000/db") == "clickhouse://u:***@h:9000/db"
    assert redact_url("chdb://data/x") == "chdb://data/x"


def test_unknown_scheme() -> None:
    with pytest.raises(StoreError, match=r"unknown ClickHouse store URL scheme mysql://.*chdb://"):
        open_store("mysql://u:p@h/db")

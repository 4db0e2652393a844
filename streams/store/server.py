"""The server backend: a ClickHouse server over the native TCP protocol, via clickhouse-driver.

Why clickhouse-driver: it speaks the native protocol that every ClickHouse since 2016 speaks,
including Debian's 18.16 (clickhouse-connect's HTTP client cannot talk to 18.16), and it sends
columnar inserts as binary blocks: ``INSERT INTO t (cols) VALUES`` + ``columnar=True``; with numpy
columns (``use_numpy``) it reached ~1M rows/s on 18.16.  Values are never rendered into INSERT
text (that is slow and it hung 18.16).

Parameters: 18.16 has no server-side query parameters (they arrived in 19.x), so ``{name:Type}``
placeholders are bound client-side by :func:`streams.store.params.bind_client_side`, the one
function that turns values into SQL text, with strict type checks and escaping.  We do not use
clickhouse-driver's ``%(name)s`` formatting: it is untyped and a second syntax.

``DateTime`` values come back as timezone-aware UTC datetimes whatever the server's time zone,
matching the embedded backend.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import numpy as np

from streams.store.base import (
    Params,
    QueryResult,
    Store,
    StoreError,
    check_columnar,
    quote_identifier,
)
from streams.store.params import bind_client_side
from streams.store.types import CHType, parse_type

#: Server error codes worth retrying: timeouts, overload, too many parts, network, keeper.
RETRYABLE_CODES = frozenset({159, 164, 202, 209, 210, 252, 319, 425, 999})
#: Codes meaning "these credentials are not accepted": wrong password, unknown user, auth failed.
AUTH_CODES = frozenset({192, 193, 194, 516})
UNKNOWN_DATABASE = 81


def _first_line(message: str) -> str:
    """ClickHouse 18.16 appends a full C++ stack trace to every message; keep the sentence."""
    text = message.split("Stack trace:", 1)[0].strip()
    return text.rstrip(".") + "." if text else message


def _epoch(value: dt.datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def _prepare_column(col: Sequence[Any]) -> list[Any]:
    """A column as a list; datetimes become epoch seconds.

    Why: clickhouse-driver converts each datetime through pytz (~240k values/s on 18.16) but
    passes ints straight through (~700k/s), and epoch seconds carry no time-zone ambiguity:
    a naive datetime is taken as UTC here, exactly as the embedded backend does.
    """
    values = list(col)
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, dt.datetime):
        return [_epoch(v) for v in values]
    return values


class ServerStore(Store):
    """One ClickHouse server database reached with clickhouse-driver."""

    scheme = "clickhouse"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9000,
        user: str = "default",
        password: str = "",
        database: str = "default",
        *,
        secure: bool = False,
        ca_certs: str | None = None,
        connect_timeout: float = 5.0,
        send_receive_timeout: float = 300.0,
        create_database: bool = True,
    ) -> None:
        super().__init__(database)
        from clickhouse_driver import Client

        self.host, self.port, self.user = host, port, user
        self._client_kwargs: dict[str, Any] = dict(
            host=host,
            port=port,
            user=user,
            password=password,
            secure=secure,
            connect_timeout=connect_timeout,
            send_receive_timeout=send_receive_timeout,
            client_name="journey",
        )
        if ca_certs:
            self._client_kwargs.update(ca_certs=ca_certs, verify=True)
        self._client = Client(database=database, **self._client_kwargs)
        self._server_tz: ZoneInfo | None = None
        try:
            self._connect()
        except StoreError as exc:
            if exc.code != UNKNOWN_DATABASE or not create_database:
                raise
            # Create the database through a connection to "default", then reconnect.
            bootstrap = Client(database="default", **self._client_kwargs)
            try:
                bootstrap.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
            except Exception as inner:
                raise self._error(inner, f"cannot create database {database!r}") from inner
            finally:
                bootstrap.disconnect()
            self._connect()

    # -- errors -------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _error(self, exc: BaseException, what: str = "query failed") -> StoreError:
        from clickhouse_driver import errors

        where = f"ClickHouse at {self.address}"
        if isinstance(exc, errors.ServerException):
            code = int(exc.code)
            msg = _first_line(exc.message)
            if code in AUTH_CODES:
                return StoreError(
                    f"{where} rejected user {self.user!r}: {msg} (code {code}); check the user "
                    "and password in JOURNEY_CLICKHOUSE__URL",
                    retryable=False,
                    code=code,
                )
            return StoreError(
                f"{where}: {what}: {msg} (code {code})",
                retryable=code in RETRYABLE_CODES,
                code=code,
            )
        if isinstance(exc, errors.SocketTimeoutError | socket.timeout | TimeoutError):
            return StoreError(
                f"{where} did not answer in time ({exc}): is it overloaded or unreachable? "
                "set JOURNEY_CLICKHOUSE__URL",
                retryable=True,
                code=getattr(exc, "code", None),
            )
        if isinstance(exc, errors.NetworkError | ConnectionError | OSError | EOFError):
            text = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
                # not retryable: the CA will not change by itself
                return StoreError(
                    f"{where}: TLS certificate not trusted ({_first_line(text)}): set "
                    "JOURNEY_CLICKHOUSE__CA_CERTS to the CA that signed the server's certificate",
                    retryable=False,
                    code=getattr(exc, "code", None),
                )
            if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
                return StoreError(
                    f"{where}: TLS handshake failed ({_first_line(text)}): is this a plaintext "
                    "port? (JOURNEY_CLICKHOUSE__SECURE, native TLS is usually port 9440)",
                    retryable=False,
                    code=getattr(exc, "code", None),
                )
            if "refused" in str(exc).lower():
                text = f"{where} refused the connection: is the server running? "
            else:
                text = f"{where} is unreachable ({_first_line(str(exc))}): "
            return StoreError(
                text + "set JOURNEY_CLICKHOUSE__URL", retryable=True, code=getattr(exc, "code", 210)
            )
        if isinstance(exc, errors.Error):
            return StoreError(f"{where}: {what}: {exc}", retryable=False)
        if isinstance(exc, StoreError):
            return exc
        return StoreError(f"{where}: {what}: {type(exc).__name__}: {exc}", retryable=False)

    def _connect(self) -> None:
        try:
            self._client.connection.connect()
            tz = self._client.connection.server_info.timezone
        except Exception as exc:
            raise self._error(exc, "cannot connect") from exc
        try:
            self._server_tz = ZoneInfo(tz)
        except Exception:
            self._server_tz = ZoneInfo("UTC")

    def _run(self, sql: str, **kwargs: Any) -> Any:
        self._check_open()
        with self._lock:
            try:
                return self._client.execute(sql, **kwargs)
            except Exception as exc:
                raise self._error(exc) from exc

    # -- value normalisation ------------------------------------------------------------------
    def _normalise(self, value: Any, t: CHType) -> Any:
        if value is None:
            return None
        name = t.name
        if name in ("Nullable", "LowCardinality"):
            return self._normalise(value, t.inner)
        if name in ("DateTime", "DateTime64") and isinstance(value, dt.datetime):
            if value.tzinfo is None:  # naive = the server's (or column's) local time
                zone = ZoneInfo(t.timezone) if t.timezone else self._server_tz
                value = value.replace(tzinfo=zone)
            return value.astimezone(dt.UTC)
        if name == "Array":
            return [self._normalise(v, t.inner) for v in value]
        if name == "Tuple":
            return tuple(self._normalise(v, s) for v, s in zip(value, t.args, strict=True))
        return value

    @staticmethod
    def _needs_normalising(t: CHType) -> bool:
        if t.name in ("DateTime", "DateTime64"):
            return True
        return any(ServerStore._needs_normalising(a) for a in t.args)

    # -- Store --------------------------------------------------------------------------------
    def query_columns(self, sql: str, params: Params | None = None) -> QueryResult:
        bound = bind_client_side(sql, params)
        rows, meta = self._run(bound, with_column_types=True)
        columns = [m[0] for m in meta]
        types = [m[1] for m in meta]
        parsed = [parse_type(t) for t in types]
        todo = [i for i, t in enumerate(parsed) if self._needs_normalising(t)]
        if todo and rows:
            out = []
            for row in rows:
                row = list(row)
                for i in todo:
                    row[i] = self._normalise(row[i], parsed[i])
                out.append(tuple(row))
            rows = out
        else:
            rows = [tuple(r) for r in rows]
        return QueryResult(columns=columns, types=types, rows=rows)

    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> int:
        n = check_columnar(table, columns, data)
        if n == 0:
            return 0
        cols = ", ".join(quote_identifier(c) for c in columns)
        sql = f"INSERT INTO {quote_identifier(table)} ({cols}) VALUES"
        # numpy mode is all-or-nothing in clickhouse-driver: use it when every column is numpy.
        all_numpy = all(isinstance(col, np.ndarray) for col in data)
        settings = {"use_numpy": True} if all_numpy else None
        payload = list(data) if all_numpy else [_prepare_column(col) for col in data]
        self._run(sql, params=payload, columnar=True, settings=settings)
        return n

    def ping(self) -> None:
        self._run("SELECT 1")

    def server_version(self) -> str:
        self._check_open()
        info = self._client.connection.server_info
        if info is None:
            self.ping()
            info = self._client.connection.server_info
        return f"{info.version_major}.{info.version_minor}.{info.version_patch}"

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._client.disconnect()

    def __repr__(self) -> str:
        return f"ServerStore({self.user}@{self.address}/{self.database})"


def open_server_store(url: str) -> Store:
    """Registry entry for ``clickhouse://USER:PASSWORD@HOST:PORT/DATABASE`` URLs.

    ``clickhouses://`` (or ``?secure=1``) turns TLS on (default port 9440); ``?ca_certs=PATH``,
    ``?connect_timeout=S`` and ``?create_database=0`` are understood too.
    """
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    secure = parts.scheme == "clickhouses" or query.get("secure", "0").lower() in ("1", "true")
    try:
        port = parts.port or (9440 if secure else 9000)
    except ValueError as exc:
        raise StoreError(f"invalid port in ClickHouse URL: {exc}") from exc
    database = unquote(parts.path.lstrip("/")) or "default"
    return ServerStore(
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        database=database,
        secure=secure,
        ca_certs=query.get("ca_certs"),
        connect_timeout=float(query.get("connect_timeout", 5)),
        create_database=query.get("create_database", "1").lower() not in ("0", "false"),
    )

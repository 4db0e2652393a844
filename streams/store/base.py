"""The one interface every ClickHouse backend implements, and the URL-scheme registry.

Callers (the sink, the migrations, the named queries, the CLI) only ever see :class:`Store`, so the
same code runs against a ClickHouse server (``clickhouse://``, via clickhouse-driver) and against
the embedded engine (``chdb://``).  As in Faust, a backend is picked by the URL's scheme through a
small registry, so a new backend is one ``register_backend`` call, not an ``if`` ladder.

Values crossing the interface are plain Python: ``str``, ``int``, ``float``, ``Decimal``, ``date``,
timezone-aware UTC ``datetime`` for every ``DateTime`` (both backends normalise to that, so results
compare equal whichever engine produced them), ``uuid.UUID``, ``list`` for arrays, ``tuple`` for
tuples, ``dict`` for maps, ``None`` for NULL; Enum values come back as their names.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

Params = Mapping[str, Any]


class StoreError(Exception):
    """Anything that went wrong talking to ClickHouse, said plainly.

    ``retryable`` tells a caller (the sink's retry loop, a health check) whether trying again later
    can help: a refused connection, a timeout or a server that is starting are retryable; a SQL
    error, a wrong password, a missing table or a bad parameter are not — retrying those only
    hides a bug.  ``code`` is ClickHouse's numeric error code when there is one.
    """

    def __init__(self, message: str, *, retryable: bool = False, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code

    def __reduce__(self) -> tuple[Any, ...]:  # keep retryable/code across pickling (workers)
        return (_rebuild_store_error, (type(self), self.message, self.retryable, self.code))


def _rebuild_store_error(
    cls: type[StoreError], message: str, retryable: bool, code: int | None
) -> StoreError:
    return cls(message, retryable=retryable, code=code)


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query with the names and ClickHouse types of its columns."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]

    def as_dicts(self) -> list[dict[str, Any]]:
        """Rows as ``{column: value}`` dicts (convenient for reports and JSON)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Store(abc.ABC):
    """A connection to one ClickHouse database, whatever the engine behind it.

    SQL passed to :meth:`execute`/:meth:`query_columns` may contain ``{name:Type}`` placeholders
    (ClickHouse's own syntax); values come from ``params`` and are bound by each backend in the
    safest way its engine allows (see :mod:`streams.store.params`).  Implementations are safe to
    share between threads: calls are serialised by a lock, because neither a clickhouse-driver
    connection nor a chdb streaming insert may be used concurrently.
    """

    #: URL scheme this backend answers to.
    scheme: str = ""
    #: ClickHouse input formats :meth:`insert_formatted` takes (none unless a backend says so).
    insert_formats: frozenset[str] = frozenset()

    def __init__(self, database: str) -> None:
        self.database = database
        self._lock = threading.RLock()
        self._closed = False

    # -- the interface ------------------------------------------------------------------------
    @abc.abstractmethod
    def query_columns(self, sql: str, params: Params | None = None) -> QueryResult:
        """Run one statement; return its rows with column names and types (empty for DDL)."""

    def execute(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows as tuples (``[]`` for DDL and inserts)."""
        return self.query_columns(sql, params).rows

    @abc.abstractmethod
    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> int:
        """Insert columnar ``data`` (one sequence per column, in ``columns`` order); return rows.

        Columns may be lists or numpy arrays.  The values are shipped in a binary format, never
        rendered into SQL text.  All columns must have the same length.  A ``DateTime`` column
        takes aware datetimes or int epoch seconds (the sink's hot path), not a mix of both.
        """

    def insert_formatted(
        self, table: str, columns: Sequence[str], fmt: str, payload: bytes, rows: int
    ) -> int:
        """Insert ``rows`` rows already encoded in ClickHouse input format ``fmt``; return rows.

        ClickHouse parses them itself (no Python value per cell). Only for a format in
        :attr:`insert_formats`; columns of ``table`` not listed get their defaults.
        """
        raise StoreError(f"{type(self).__name__} takes no {fmt} inserts", retryable=False)

    @abc.abstractmethod
    def ping(self) -> None:
        """Check the store answers; raise :class:`StoreError` (usually retryable) if not."""

    @abc.abstractmethod
    def server_version(self) -> str:
        """The engine's version string, e.g. ``18.16.1`` or ``26.9.2.1``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection; further calls raise :class:`StoreError`."""

    # -- conveniences shared by all backends --------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{type(self).__name__} for database {self.database!r} is closed")


def check_columnar(table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> int:
    """Validate the shape of a columnar insert and return the row count.

    Catching a ragged batch here gives one clear message instead of an engine-specific one.
    """
    if not columns:
        raise StoreError(f"insert into {table}: no columns given")
    if len(columns) != len(data):
        raise StoreError(
            f"insert into {table}: {len(columns)} column names but {len(data)} data columns"
        )
    lengths = {len(col) for col in data}
    if len(lengths) > 1:
        sizes = ", ".join(f"{c}={len(d)}" for c, d in zip(columns, data, strict=True))
        raise StoreError(f"insert into {table}: columns have different lengths ({sizes})")
    return lengths.pop()


def quote_identifier(name: str) -> str:
    """Back-quote a table or column name (``db.table`` is split on the dot)."""
    parts = name.split(".")
    out = []
    for part in parts:
        if not part:
            raise StoreError(f"invalid identifier {name!r}")
        out.append("`" + part.replace("\\", "\\\\").replace("`", "\\`") + "`")
    return ".".join(out)


# -- registry ---------------------------------------------------------------------------------
BackendFactory = Callable[[str], Store]
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Make ``open_store`` answer ``scheme://...`` URLs with ``factory(url)``."""
    _BACKENDS[scheme] = factory


def _load_builtin_backends() -> None:
    # Imported lazily so that importing the interface never imports chdb (a large native library)
    # or clickhouse-driver when they are not used.
    if "clickhouse" not in _BACKENDS:
        from streams.store.server import open_server_store

        for scheme in ("clickhouse", "clickhouses"):
            register_backend(scheme, open_server_store)
    if "chdb" not in _BACKENDS:
        from streams.store.embedded import open_embedded_store

        register_backend("chdb", open_embedded_store)


def open_store(url: str) -> Store:
    """Open the store a URL names: ``chdb://PATH[?database=NAME]`` or
    ``clickhouse://USER:PASSWORD@HOST:PORT/DATABASE`` (``clickhouses://`` for TLS).

    Raises :class:`StoreError` for an unknown scheme or an unreachable server, with a message
    that says what to check.
    """
    scheme = urlsplit(url).scheme.lower()
    _load_builtin_backends()
    factory = _BACKENDS.get(scheme)
    if factory is None:
        known = ", ".join(f"{s}://" for s in sorted(_BACKENDS))
        raise StoreError(
            f"unknown ClickHouse store URL scheme {scheme + '://' if scheme else '(none)'} "
            f"in {redact_url(url)!r}: use one of {known} (set JOURNEY_CLICKHOUSE__URL)"
        )
    return factory(url)


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``, safe for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()

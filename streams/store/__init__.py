"""ClickHouse storage: one :class:`Store` interface, backends chosen by URL scheme.

``open_store("chdb://journey-data/chdb")`` (embedded, the default) or
``open_store("clickhouse://user:pw@host:9000/journey")`` (a server).  SQL uses ClickHouse's
``{name:Type}`` placeholders on every backend; :func:`migrate` applies ``sql/migrations``.
"""

from streams.store.base import (
    QueryResult,
    Store,
    StoreError,
    open_store,
    redact_url,
    register_backend,
)
from streams.store.migrations import MigrationError, migrate
from streams.store.params import ParameterError, bind_client_side

__all__ = [
    "MigrationError",
    "ParameterError",
    "QueryResult",
    "Store",
    "StoreError",
    "bind_client_side",
    "migrate",
    "open_store",
    "redact_url",
    "register_backend",
]

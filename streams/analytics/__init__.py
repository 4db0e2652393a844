"""Cohort analytics for analysts: the named-query catalogue, output formats, the HTML report.

The SQL lives in ``sql/queries/*.sql`` (one readable file per question); this package reads
their headers, binds parameters as ClickHouse query parameters and runs them on any
:class:`~streams.store.Store`.  ``journey query`` and ``journey report`` are in
:mod:`streams.analytics.cli`.
"""

from streams.analytics.catalogue import (
    CatalogueError,
    NamedQuery,
    QueryParam,
    catalogue,
    get_query,
)

__all__ = ["CatalogueError", "NamedQuery", "QueryParam", "catalogue", "get_query"]

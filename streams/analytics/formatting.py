"""Query results as an aligned text table, CSV or JSON (pure functions, no I/O).

Why three: the table is for reading in a terminal, CSV for a spreadsheet or an outreach list
(``cohort_customers``), JSON for another program.  Values are shown the same way in all three:
dates and times as ISO-8601 (UTC, ``Z``), NULL as empty (table, CSV) or ``null`` (JSON), floats
as the engine returned them (the queries round where rounding is meaningful; NaN and infinities
are ``null`` in JSON, which has no such numbers), UUIDs and IP addresses as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import json
import math
import uuid
from decimal import Decimal
from typing import Any, Literal

from streams.store.base import QueryResult

Format = Literal["table", "csv", "json"]
FORMATS: tuple[Format, ...] = ("table", "csv", "json")

_NUMERIC = ("Int", "UInt", "Float", "Decimal", "Nullable(Int", "Nullable(UInt", "Nullable(Float")


def plain(value: Any) -> Any:
    """A value as JSON-able Python: ISO text for dates/times, lists kept, Decimal as str."""
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return utc.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):  # a Map column
        return {str(plain(k)): plain(v) for k, v in value.items()}
    return value


def _json(value: Any) -> Any:
    """:func:`plain`, with NaN and infinities as ``null``: JSON has no such numbers."""
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def text(value: Any) -> str:
    """A value as one table/CSV cell."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return "[" + ", ".join(text(v) for v in value) + "]"
    return str(value)


def render(result: QueryResult, fmt: Format) -> str:
    """The whole result in ``fmt`` (the text ends with a newline)."""
    if fmt == "json":
        return json.dumps([{c: _json(v) for c, v in zip(result.columns, row, strict=True)}
                           for row in result.rows], indent=2, allow_nan=False) + "\n"  # fmt: skip
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([text(v) for v in row] for row in result.rows)
        return buf.getvalue()
    return table(result)


def table(result: QueryResult) -> str:
    """An aligned table: numbers right-aligned, text left-aligned, a rule under the header."""
    cells = [[text(v) for v in row] for row in result.rows]
    widths = [len(c) for c in result.columns]
    for row in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    numeric = [t.startswith(_NUMERIC) for t in result.types] or [False] * len(widths)

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(result.columns), "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in cells)
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out) + "\n"

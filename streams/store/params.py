"""One parameter syntax for every engine: ClickHouse's own ``{name:Type}`` placeholders.

Why this syntax.  Queries are written once (the named-query layer, the reports, the CLI) and must
run on ClickHouse 18.16 (Debian's server) and on 26.x (chdb).  ``{name:Type}`` is what 26.x binds
*server-side* (chdb's ``Session.query(params=...)``, HTTP ``param_name=``, ``clickhouse-client
--param_name=``), so an analyst can paste a named query into any modern client unchanged.  18.16
predates query parameters entirely (its parser rejects ``{``; its client has no ``--param_``), and
clickhouse-driver's ``%(name)s`` is untyped client-side ``%``-formatting that only modern servers
can replace.  So:

* **chdb / modern engines**: the SQL goes unchanged; each value is checked against its declared
  type here and converted to the text form the engine parses (:func:`native_params`).  The check
  matters: chdb would silently wrap ``300`` into a ``UInt8`` as ``44``.
* **18.16 (server backend)**: :func:`bind_client_side` replaces each placeholder by a typed SQL
  literal (``'…'`` with every quote and backslash escaped, ``toDateTime(1704067200, 'UTC')``,
  ``CAST([…] AS Array(String))``…).  It is the *only* place values are turned into SQL text.

Both paths share :func:`find_placeholders` (which, like ClickHouse's lexer, ignores ``{…}`` inside
string literals, quoted identifiers and comments) and :func:`check_value` (strict: a ``str`` is
never accepted for an ``Int64``, a ``bool`` never for a ``String``, ranges are checked, a naive
``datetime`` is read as UTC).  Unknown, missing and unused parameters are errors, which catches
typos in named queries.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.store.base import StoreError
from streams.store.types import CHType, TypeParseError, parse_type


class ParameterError(StoreError):
    """A query parameter is missing, unused, of the wrong type or out of range (not retryable)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class Placeholder:
    """One ``{name:Type}`` occurrence in a SQL text (``start``/``end`` are string offsets)."""

    name: str
    type_text: str
    start: int
    end: int

    @property
    def type(self) -> CHType:
        return parse_type(self.type_text)


_NAME = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_INT_RANGES = {
    "UInt8": (0, 2**8 - 1),
    "UInt16": (0, 2**16 - 1),
    "UInt32": (0, 2**32 - 1),
    "UInt64": (0, 2**64 - 1),
    "UInt128": (0, 2**128 - 1),
    "UInt256": (0, 2**256 - 1),
    "Int8": (-(2**7), 2**7 - 1),
    "Int16": (-(2**15), 2**15 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "Int64": (-(2**63), 2**63 - 1),
    "Int128": (-(2**127), 2**127 - 1),
    "Int256": (-(2**255), 2**255 - 1),
}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DATETIME_MAX = dt.datetime(2106, 2, 7, 6, 28, 15, tzinfo=dt.UTC)  # UInt32 seconds


def skip_quoted(sql: str, i: int, quote: str) -> int:
    """Index just past the literal/identifier that starts at ``sql[i] == quote``.

    ClickHouse's rules: a backslash escapes the next character, a doubled quote is one quote.
    Also the query relay's read-only scan (:mod:`streams.store.relay`).
    """
    j = i + 1
    while j < len(sql):
        c = sql[j]
        if c == "\\":
            j += 2
            continue
        if c == quote:
            if j + 1 < len(sql) and sql[j + 1] == quote:  # doubled quote
                j += 2
                continue
            return j + 1
        j += 1
    raise ParameterError(f"unterminated {quote} quote in query starting at offset {i}")


def find_placeholders(sql: str) -> list[Placeholder]:
    """All ``{name:Type}`` placeholders outside literals, quoted identifiers and comments."""
    out: list[Placeholder] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            i = skip_quoted(sql, i, c)
        elif sql.startswith("--", i):
            nl = sql.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c == "{":
            m = _NAME.match(sql, i)
            if not m:
                i += 1
                continue
            j = m.end()
            while j < n and sql[j] != "}":  # the type may contain 'quoted' arguments
                j = skip_quoted(sql, j, "'") if sql[j] == "'" else j + 1
            if j >= n:
                raise ParameterError(f"unterminated placeholder at offset {i}: {sql[i:i + 40]!r}")
            type_text = sql[m.end() : j].strip()
            try:
                parse_type(type_text)
            except TypeParseError as exc:
                raise ParameterError(f"placeholder {{{m.group(1)}:…}}: {exc}") from exc
            out.append(Placeholder(m.group(1), type_text, i, j + 1))
            i = j + 1
        else:
            i += 1
    return out


def _match(sql: str, params: Mapping[str, Any] | None) -> list[Placeholder]:
    """Placeholders of ``sql``, checked against ``params`` (missing/unused/conflicting)."""
    found = find_placeholders(sql)
    params = params or {}
    types: dict[str, str] = {}
    for ph in found:
        prev = types.setdefault(ph.name, ph.type_text)
        if prev != ph.type_text:
            raise ParameterError(
                f"parameter {ph.name!r} is declared twice with different types: "
                f"{prev} and {ph.type_text}"
            )
    missing = sorted(set(types) - set(params))
    if missing:
        raise ParameterError(f"missing query parameter(s): {', '.join(missing)}")
    unused = sorted(set(params) - set(types))
    if unused:
        raise ParameterError(
            f"parameter(s) not used by the query: {', '.join(unused)} "
            "(placeholders are written {name:Type})"
        )
    return found


# -- checking ---------------------------------------------------------------------------------
def _fail(name: str, t: CHType, value: Any, why: str) -> ParameterError:
    return ParameterError(f"parameter {name!r} ({t}): {why}, got {type(value).__name__} {value!r}")


def _to_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def check_value(name: str, value: Any, t: CHType) -> Any:
    """Check ``value`` against ClickHouse type ``t``; return it normalised (UTC datetimes,
    ``uuid.UUID``, lists).  Raises :class:`ParameterError` with the parameter's name."""
    base = t.name
    if base == "LowCardinality":
        return check_value(name, value, t.inner)
    if base == "Nullable":
        return None if value is None else check_value(name, value, t.inner)
    if value is None:
        raise _fail(name, t, value, "NULL given for a non-Nullable type")
    if base in ("String", "FixedString"):
        if not isinstance(value, str):
            raise _fail(name, t, value, "expected str")
        if base == "FixedString" and len(value.encode()) > int(t.literals[0]):
            raise _fail(name, t, value, f"longer than {t.literals[0]} bytes")
        return value
    if base in _INT_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(name, t, value, "expected int")
        lo, hi = _INT_RANGES[base]
        if not lo <= value <= hi:
            raise _fail(name, t, value, f"out of range [{lo}, {hi}]")
        return int(value)
    if base in ("Float32", "Float64"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(name, t, value, "expected float or int")
        return float(value)
    if base == "Bool":
        if not isinstance(value, bool):
            raise _fail(name, t, value, "expected bool")
        return value
    if base in ("Date", "Date32"):
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise _fail(name, t, value, "expected datetime.date (not datetime)")
        return value
    if base == "DateTime":
        if not isinstance(value, dt.datetime):
            raise _fail(name, t, value, "expected datetime.datetime (naive = UTC)")
        utc = _to_utc(value)
        if not _EPOCH <= utc <= _DATETIME_MAX:
            raise _fail(name, t, value, "outside DateTime's range 1970..2106")
        if utc.microsecond:
            raise _fail(name, t, value, "DateTime has whole seconds; truncate first")
        return utc
    if base == "UUID":
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError:
                raise _fail(name, t, value, "not a UUID") from None
        raise _fail(name, t, value, "expected uuid.UUID or UUID text")
    if base in ("Enum8", "Enum16"):
        if not isinstance(value, str) or value not in {k for k, _ in t.enum}:
            raise _fail(name, t, value, f"expected one of {[k for k, _ in t.enum]}")
        return value
    if base == "Array":
        if not isinstance(value, list | tuple):
            raise _fail(name, t, value, "expected list or tuple")
        return [check_value(f"{name}[{i}]", v, t.inner) for i, v in enumerate(value)]
    if base == "Identifier":
        if not isinstance(value, str) or not _IDENT.match(value):
            raise _fail(name, t, value, "expected a plain identifier [A-Za-z_][A-Za-z0-9_]*")
        return value
    raise ParameterError(f"parameter {name!r}: type {t} is not supported as a query parameter")


# -- client-side literals (18.16) -------------------------------------------------------------
_LITERAL_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    "\b": "\\b",
    "\f": "\\f",
    "\r": "\\r",
    "\n": "\\n",
    "\t": "\\t",
    "\0": "\\0",
    "\a": "\\a",
    "\v": "\\v",
}
_LITERAL_RE = re.compile("[\\\\'\b\f\r\n\t\0\a\v]")


def quote_string(value: str) -> str:
    """A ClickHouse string literal: every quote, backslash and control character escaped."""
    return "'" + _LITERAL_RE.sub(lambda m: _LITERAL_ESCAPES[m.group()], value) + "'"


def _float_literal(v: float) -> str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def render_literal(value: Any, t: CHType) -> str:
    """SQL text for an already-checked value (see :func:`check_value`)."""
    base = t.name
    if base == "LowCardinality":
        return render_literal(value, t.inner)
    if base == "Nullable":
        if value is None:
            return f"CAST(NULL AS {t})"
        return f"CAST({render_literal(value, t.inner)} AS {t})"
    if base == "String":
        return quote_string(value)
    if base == "FixedString":
        return f"toFixedString({quote_string(value)}, {int(t.literals[0])})"
    if base in _INT_RANGES:
        # A bare number, so LIMIT {n:UInt32} works on 18.16 too (it wants a literal there);
        # negative numbers in parentheses so "x - {n:Int64}" stays well-formed.
        return f"({value})" if value < 0 else str(value)
    if base in ("Float32", "Float64"):
        text = _float_literal(value)
        return f"({text})" if text.startswith("-") else text
    if base == "Bool":
        return "true" if value else "false"
    if base == "Date":
        return f"toDate('{value.isoformat()}')"
    if base == "Date32":
        return f"toDate32('{value.isoformat()}')"
    if base == "DateTime":
        epoch = int(value.timestamp())
        tz = t.timezone
        return f"toDateTime({epoch}, {quote_string(tz)})" if tz else f"toDateTime({epoch})"
    if base == "UUID":
        return f"toUUID('{value}')"
    if base in ("Enum8", "Enum16"):
        return f"CAST({quote_string(value)} AS {t})"
    if base == "Array":
        items = ", ".join(render_literal(v, t.inner) for v in value)
        return f"CAST([{items}] AS {t})"
    if base == "Identifier":
        return "`" + value + "`"
    raise ParameterError(f"type {t} is not supported as a query parameter")


def bind_client_side(sql: str, params: Mapping[str, Any] | None) -> str:
    """Replace every ``{name:Type}`` in ``sql`` by a checked, escaped, typed literal.

    This is the single function that turns parameter values into SQL text, for engines without
    server-side parameters (ClickHouse 18.16).  ``x' OR 1=1 --`` becomes ``'x\\' OR 1=1 --'``:
    one string, never SQL.
    """
    found = _match(sql, params)
    if not found:
        return sql
    assert params is not None
    pieces: list[str] = []
    pos = 0
    for ph in found:
        t = ph.type
        value = check_value(ph.name, params[ph.name], t)
        pieces.append(sql[pos : ph.start])
        pieces.append(render_literal(value, t))
        pos = ph.end
    pieces.append(sql[pos:])
    return "".join(pieces)


# -- text values for engines with server-side parameters (chdb / 26.x) ------------------------
_TEXT_ESCAPES = {
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\r": "\\r",
    "\n": "\\n",
    "\t": "\\t",
    "\0": "\\0",
}
_TEXT_RE = re.compile("[\\\\\b\f\r\n\t\0]")


def render_text(value: Any, t: CHType, *, nested: bool = False) -> str:
    """The text a 26.x engine parses for a ``{name:Type}`` parameter.

    Top-level values use ClickHouse's *escaped* (TSV) text form; values inside an array use the
    *quoted* form, as the engine expects.
    """
    base = t.name
    if base == "LowCardinality":
        return render_text(value, t.inner, nested=nested)
    if base == "Nullable":
        if value is None:
            return "NULL" if nested else "\\N"
        return render_text(value, t.inner, nested=nested)
    if base in ("String", "FixedString", "Enum8", "Enum16"):
        if nested:
            return quote_string(value)
        return _TEXT_RE.sub(lambda m: _TEXT_ESCAPES[m.group()], value)
    if base in _INT_RANGES:
        return str(value)
    if base in ("Float32", "Float64"):
        return _float_literal(value)
    if base == "Bool":
        return "true" if value else "false"
    if base in ("Date", "Date32"):
        return f"'{value.isoformat()}'" if nested else value.isoformat()
    if base == "DateTime":
        return str(int(value.timestamp()))  # epoch seconds: no time-zone ambiguity
    if base == "UUID":
        return f"'{value}'" if nested else str(value)
    if base == "Array":
        return "[" + ",".join(render_text(v, t.inner, nested=True) for v in value) + "]"
    if base == "Identifier":
        return str(value)
    raise ParameterError(f"type {t} is not supported as a query parameter")


def native_params(sql: str, params: Mapping[str, Any] | None) -> dict[str, str]:
    """Check ``params`` against the placeholders of ``sql`` and return their text forms."""
    found = _match(sql, params)
    out: dict[str, str] = {}
    for ph in found:
        assert params is not None
        if ph.name not in out:
            t = ph.type
            out[ph.name] = render_text(check_value(ph.name, params[ph.name], t), t)
    return out

"""The named-query catalogue: ``sql/queries/*.sql`` files, their headers, and running them.

Why headers in the SQL files and not a Python registry: the analyst's unit is the file.  They
open it, read what it answers and which parameters it takes, and paste it into
``clickhouse-client``; the CLI (``journey query --list``), the report and the tests read the very
same header, so the documentation cannot drift from the SQL.  The header is the leading block of
``--`` comment lines::

    -- name: retention_grid
    -- description: Retention by opening cohort ...
    --   (indented lines continue the description)
    -- param: cohort_grain String = 'month' | week or month of opening (one of: week, month)

A ``param:`` line is ``NAME TYPE = DEFAULT | what it means``: TYPE is the ClickHouse type used in
the query's ``{NAME:TYPE}`` placeholders, DEFAULT is written as a ClickHouse literal (``'month'``,
``30``, ``[0, 31, 91]``, ``NULL``) and ``(one of: a, b)`` in the text restricts the values.  A
file without ``name:`` (older examples) takes its name from the file and its description from
its first comment lines.  Values reach the engine only as query parameters
(:mod:`streams.store.params`), never as SQL text built here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.store.base import QueryResult, Store, StoreError
from streams.store.params import ParameterError, check_value, find_placeholders
from streams.store.types import CHType, TypeParseError, parse_type

#: Where the named queries live (a checkout's ``sql/queries``).
QUERIES_DIR = Path(__file__).resolve().parents[2] / "sql" / "queries"

_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s+(?P<type>.+?)\s*=\s*(?P<default>.+?)\s*\|\s*(?P<doc>.*)$"
)
_CHOICES = re.compile(r"\(one of:\s*([^)]*)\)")


class CatalogueError(StoreError):
    """A named query that does not exist, or a header that cannot be read (not retryable)."""


@dataclass(frozen=True)
class QueryParam:
    """One declared parameter of a named query."""

    name: str
    type: str
    default: Any
    default_text: str
    doc: str
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """No default in the header (older query files): the caller must give a value."""
        return self.default_text == ""

    @property
    def ch_type(self) -> CHType:
        return parse_type(self.type)

    def convert(self, value: Any) -> Any:
        """A value for this parameter from CLI text (``str``) or a Python value, checked.

        Text is read by type (``2024-01-01`` for a Date, ``0,31,91`` or ``[0,31,91]`` for an
        Array, ``NULL`` or empty for a Nullable); then the store's strict checker validates it,
        so the error names the parameter and the type whatever the source.
        """
        if isinstance(value, str) and not _is_text_type(self.ch_type):
            value = parse_text(value, self.ch_type, self.name)
        checked = check_value(self.name, value, self.ch_type)
        if self.choices and checked is not None and str(checked) not in self.choices:
            raise ParameterError(
                f"parameter {self.name!r}: {checked!r} is not one of {', '.join(self.choices)}"
            )
        return checked


@dataclass(frozen=True)
class NamedQuery:
    """A ``sql/queries`` file: its name, description, parameters and SQL text."""

    name: str
    description: str
    params: tuple[QueryParam, ...]
    sql: str
    path: Path
    notes: str = ""
    _by_name: dict[str, QueryParam] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({p.name: p for p in self.params})

    def param(self, name: str) -> QueryParam:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(p.name for p in self.params) or "none"
            raise ParameterError(
                f"query {self.name!r} has no parameter {name!r} (parameters: {known})"
            ) from None

    def bind(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every declared parameter: the given value (converted) or the header's default."""
        values = dict(values or {})
        for name in values:
            self.param(name)
        missing = [p.name for p in self.params if p.required and p.name not in values]
        if missing:
            raise ParameterError(
                f"query {self.name!r} needs parameter(s) {', '.join(missing)} "
                "(it declares no default): pass --param NAME=VALUE"
            )
        return {
            p.name: p.convert(values[p.name]) if p.name in values else p.default
            for p in self.params
        }

    def run(self, store: Store, values: Mapping[str, Any] | None = None) -> QueryResult:
        """Run on ``store`` with ``values`` over the defaults (bound as query parameters)."""
        return store.query_columns(self.sql, self.bind(values))


def _is_text_type(t: CHType) -> bool:
    while t.name in ("Nullable", "LowCardinality"):
        t = t.inner
    return t.name in ("String", "FixedString", "Identifier", "Enum8", "Enum16", "UUID")


def _split_items(body: str) -> list[str]:
    """Split ``a, 'b,c', d`` on top-level commas (quotes respected)."""
    items, cur, quote = [], [], ""
    for ch in body:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == ",":
            items.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        items.append("".join(cur).strip())
    return items


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace("\\'", "'")
    return text


def parse_text(text: str, t: CHType, name: str = "value") -> Any:
    """Read a parameter value written as text (CLI ``k=v`` or a header default) by its type."""
    raw = text.strip()
    base = t
    if base.name == "LowCardinality":
        base = base.inner
    if base.name == "Nullable":
        if raw.upper() in ("NULL", ""):
            return None
        return parse_text(raw, base.inner, name)
    try:
        if base.name == "Array":
            body = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
            return [parse_text(item, base.inner, name) for item in _split_items(body)]
        unq = _unquote(raw)
        if _is_text_type(base):
            return unq
        if base.name.startswith(("UInt", "Int")):
            return int(unq)
        if base.name.startswith("Float"):
            return float(unq)
        if base.name in ("Date", "Date32"):
            return dt.date.fromisoformat(unq)
        if base.name == "DateTime":
            when = dt.datetime.fromisoformat(unq.replace("Z", "+00:00"))
            return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when
    except ValueError as exc:
        raise ParameterError(f"parameter {name!r} ({t}): cannot read {text!r}: {exc}") from None
    raise ParameterError(f"parameter {name!r}: type {t} cannot be given as text")


def parse_header(text: str, path: Path) -> tuple[str, str, list[QueryParam], str]:
    """(name, description, params, notes) from the leading ``--`` block of a query file."""
    fields: dict[str, str] = {}
    params: list[QueryParam] = []
    notes: list[str] = []
    plain: list[str] = []
    last: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if stripped:
                break
            continue
        body = stripped[2:]
        content = body.strip()
        key, sep, rest = content.partition(":")
        if sep and key in ("name", "description", "param") and not body.startswith("   "):
            if key == "param":
                params.append(_parse_param(rest.strip(), path))
                last = "param"
            else:
                fields[key] = rest.strip()
                last = key
        elif body.startswith("   ") and last == "description":
            fields["description"] += " " + content
        elif body.startswith("   ") and last == "param" and params:
            p = params[-1]
            doc = f"{p.doc} {content}"
            params[-1] = _with_doc(p, doc)
        else:
            last = None
            (notes if fields or params else plain).append(content)
    name = fields.get("name") or path.stem
    if name != path.stem:
        raise CatalogueError(f"{path.name}: header says name {name!r}; the file must be {name}.sql")
    lead = " ".join(x for x in plain if x)
    if lead.startswith(f"{path.stem}:"):
        lead = lead[len(path.stem) + 1 :].strip()
    description = fields.get("description") or lead.split(". ")[0]
    return name, description, params, "\n".join(notes).strip()


def _with_doc(p: QueryParam, doc: str) -> QueryParam:
    m = _CHOICES.search(doc)
    choices = tuple(c.strip() for c in m.group(1).split(",")) if m else ()
    return QueryParam(p.name, p.type, p.default, p.default_text, doc, choices)


def _parse_param(spec: str, path: Path) -> QueryParam:
    m = _PARAM.match(spec)
    if not m:
        raise CatalogueError(
            f"{path.name}: cannot read parameter line {spec!r} "
            "(expected: NAME TYPE = DEFAULT | description)"
        )
    name, type_text, default_text = m.group("name"), m.group("type"), m.group("default")
    try:
        t = parse_type(type_text)
    except TypeParseError as exc:
        raise CatalogueError(f"{path.name}: parameter {name}: {exc}") from None
    default = check_value(name, parse_text(default_text, t, name), t)
    p = QueryParam(name, type_text, default, default_text, "")
    return _with_doc(p, m.group("doc").strip())


def _has_name_field(text: str) -> bool:
    return any(line.strip().startswith("-- name:") for line in text.splitlines()[:3])


def load_named_query(path: Path) -> NamedQuery:
    """Read one query file; its header's parameters must match its placeholders exactly."""
    text = path.read_text()
    name, description, params, notes = parse_header(text, path)
    declared = {p.name: p.type for p in params}
    used: dict[str, str] = {}
    for ph in find_placeholders(text):
        used.setdefault(ph.name, ph.type_text)
    if not params and used and not _has_name_field(text):
        # An older file without a header: its placeholders are required parameters.
        params = [QueryParam(n, t, None, "", "") for n, t in used.items()]
        declared = dict(used)
    if declared != used:
        raise CatalogueError(
            f"{path.name}: header parameters {declared} do not match the placeholders {used}"
        )
    return NamedQuery(name, description, tuple(params), text, path, notes)


def catalogue(directory: Path = QUERIES_DIR) -> dict[str, NamedQuery]:
    """Every named query in ``directory``, by name (sorted)."""
    return {p.stem: load_named_query(p) for p in sorted(directory.glob("*.sql"))}


def get_query(name: str, directory: Path = QUERIES_DIR) -> NamedQuery:
    path = directory / f"{name}.sql"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.sql")))
        raise CatalogueError(f"no named query {name!r}; known queries: {known}")
    return load_named_query(path)

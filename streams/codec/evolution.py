"""The schema evolution rule, checked by doing what consumers do: resolve old data into new.

Rule: every version ever written (``schemas/history/<type>/v<N>.avsc``) must stay readable by the
current schema. In practice: add a field only with a default; never remove or rename a field that
has no default in the current schema; enums only gain symbols and keep their default (which old
readers use for unknown symbols); never change a field's type except by Avro promotion.

The check writes deterministic sample records with the *writer* schema — enough of them that
every enum symbol and every union branch occurs — and reads them back with the *reader* schema
through fastavro's schema resolution. It fails exactly when a real consumer would.
"""

from __future__ import annotations

import uuid
from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer


def sample_record(schema: Any, i: int = 0, named: dict[str, Any] | None = None) -> Any:
    """A valid datum of ``schema`` (schema JSON), varying with ``i`` over symbols and branches."""
    named = {} if named is None else named
    if isinstance(schema, str):
        if schema in named:
            return sample_record(named[schema], i, named)
        return _primitive(schema, None, i)
    if isinstance(schema, list):
        return sample_record(schema[i % len(schema)], i, named)
    kind = schema["type"]
    if "name" in schema and kind in ("record", "enum", "fixed"):
        named[schema["name"]] = schema
        if "namespace" in schema:
            named[f"{schema['namespace']}.{schema['name']}"] = schema
    if kind == "record":
        return {f["name"]: sample_record(f["type"], i, named) for f in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][i % len(schema["symbols"])]
    if kind == "array":
        return [sample_record(schema["items"], i, named)]
    if kind == "map":
        return {"k": sample_record(schema["values"], i, named)}
    if kind == "fixed":
        return bytes(schema["size"])
    return _primitive(kind, schema.get("logicalType"), i)


def _primitive(kind: str, logical: str | None, i: int) -> Any:
    if logical == "uuid":
        return str(uuid.UUID(int=i + 1))
    if logical and logical.startswith("timestamp"):
        return 1_700_000_000_000 + i
    return {
        "null": None,
        "boolean": i % 2 == 0,
        "int": i,
        "long": i,
        "float": i + 0.5,
        "double": i + 0.5,
        "bytes": b"x",
        "string": f"s{i}",
    }[kind]


def variety(schema: Any) -> int:
    """How many samples cover every enum symbol and union branch at least once."""
    if isinstance(schema, list):
        return max([len(schema), *(variety(s) for s in schema)])
    if not isinstance(schema, dict):
        return 1
    kind = schema.get("type")
    if kind == "record":
        return max([1, *(variety(f["type"]) for f in schema["fields"])])
    if kind == "enum":
        return len(schema["symbols"])
    if kind == "array":
        return variety(schema["items"])
    if kind == "map":
        return variety(schema["values"])
    if isinstance(kind, dict | list):
        return variety(kind)
    return 1


def check_readable(writer: dict[str, Any], reader: dict[str, Any]) -> list[str]:
    """Problems reading ``writer``-written samples with ``reader``; empty = compatible."""
    try:
        w = parse_schema(dict(writer))
        r = parse_schema(dict(reader))
    except Exception as exc:
        return [f"invalid schema: {exc}"]
    problems = enum_problems(writer, reader)
    for i in range(variety(writer)):
        datum = sample_record(writer, i)
        buf = BytesIO()
        try:
            schemaless_writer(buf, w, datum)
            buf.seek(0)
            schemaless_reader(buf, w, r)
        except Exception as exc:  # SchemaResolutionError mostly
            msg = f"{type(exc).__name__}: {exc}"
            if msg not in problems:
                problems.append(msg)
    return problems


def _enums(schema: Any, out: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every enum definition in a schema JSON, by name."""
    if isinstance(schema, list):
        for s in schema:
            _enums(s, out)
    elif isinstance(schema, dict):
        if schema.get("type") == "enum":
            out[schema["name"]] = schema
        for key in ("fields", "items", "values", "type"):
            sub = schema.get(key)
            if isinstance(sub, list) and key == "fields":
                for f in sub:
                    _enums(f["type"], out)
            elif isinstance(sub, dict | list):
                _enums(sub, out)
    return out


def enum_problems(writer: dict[str, Any], reader: dict[str, Any]) -> list[str]:
    """Enums may only gain symbols and must keep their default.

    Resolution alone would accept a removed symbol when the reader has a default (old values
    silently become the default), which loses information: the rule forbids it explicitly.
    """
    problems = []
    old, new = _enums(writer, {}), _enums(reader, {})
    for name, w in old.items():
        r = new.get(name)
        if r is None:
            continue
        lost = [s for s in w["symbols"] if s not in r["symbols"]]
        if lost:
            problems.append(f"enum {name} lost symbol(s) {', '.join(lost)}")
        if "default" in w and r.get("default") != w["default"]:
            problems.append(f"enum {name} changed its default {w['default']!r}")
    return problems


def roundtrip_problems(schema: dict[str, Any]) -> list[str]:
    """Samples of ``schema`` must come back identical when read with the same schema."""
    parsed = parse_schema(dict(schema))
    problems = []
    for i in range(variety(schema)):
        datum = sample_record(schema, i)
        buf = BytesIO()
        schemaless_writer(buf, parsed, datum)
        buf.seek(0)
        back = schemaless_reader(buf, parsed, None)
        if _normalize(back) != _normalize(datum):
            problems.append(f"sample {i} changed in a round trip: {datum!r} -> {back!r}")
    return problems


def _normalize(value: Any) -> Any:
    """Logical types decode to datetime/UUID; compare on their wire values."""
    from datetime import datetime

    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value

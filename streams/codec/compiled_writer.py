"""Avro bodies written by a Python function generated for one record schema: derived records.

Why: the worker encodes a snapshot per changed customer per checkpoint, plus every other
engine record, for the derived topics. ``fastavro.schemaless_writer`` needs a dict per record
(built field by field from the dataclass) and then walks the parsed schema, resolving each
union by validating the value against its branches: ~80 µs for a snapshot here, the largest
single cost of a checkpoint. A function generated once per schema reads the record's
attributes and appends their encodings to a ``bytearray`` in straight-line code.

fastavro stays the reference: the tests check that both write the same bytes for generated
records of every derived kind (Avro's binary encoding of a value is unique, so "the same
bytes" is the whole contract).

Values come from attributes (a dataclass, for instance), not dict keys; the items of an array
of records are tuples in the record's field order (``(name, value)`` pairs for a
``NamedCount``). Supported types: ``null``, ``boolean``, ``int``, ``long``, ``double``,
``string``, unions of ``null`` and one of those, arrays of those or of flat records of those.
Anything else makes :func:`compile_writer` return None (the caller then uses fastavro).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

#: ``writer(record, out)`` appends the Avro body of ``record`` to ``out``.
CompiledWriter = Callable[[Any, bytearray], None]


class _Unsupported(Exception):
    pass


def _varint(value: str, ind: str, bits: int) -> list[str]:
    """Append ``value`` (an int expression) as a zig-zag varint (small values: one append)."""
    return [
        f"{ind}z = ({value} << 1) ^ ({value} >> {bits - 1})",
        f"{ind}if z < 0x80:",
        f"{ind}    o.append(z)",
        f"{ind}else:",
        f"{ind}    while z > 0x7F:",
        f"{ind}        o.append((z & 0x7F) | 0x80)",
        f"{ind}        z >>= 7",
        f"{ind}    o.append(z)",
    ]


def _write(schema: Any, value: str, ind: str, depth: int, named: dict[str, Any]) -> list[str]:
    if isinstance(schema, str) and schema in named:
        schema = named[schema]  # a record defined earlier in the schema, used again by name
    if isinstance(schema, dict) and schema.get("type") in ("boolean", "int", "long", "double",
                                                           "string", "null"):  # fmt: skip
        schema = schema["type"]
    if schema == "null":
        return []
    if schema == "boolean":
        return [f"{ind}o.append(1 if {value} else 0)"]
    if schema == "int":
        return _varint(value, ind, 32)
    if schema == "long":
        return _varint(value, ind, 64)
    if schema == "double":
        return [f"{ind}o += PACK_DOUBLE(float({value}))"]
    if schema == "string":
        v = f"s{depth}"
        return [f"{ind}{v} = {value}.encode()", *_varint(f"len({v})", ind, 64), f"{ind}o += {v}"]
    if isinstance(schema, list):
        if len(schema) != 2 or schema[0] != "null":
            raise _Unsupported(f"union {schema!r}")
        v = f"u{depth}"
        return [f"{ind}{v} = {value}", f"{ind}if {v} is None:", f"{ind}    o.append(0)",
                f"{ind}else:", f"{ind}    o.append(2)",
                *_write(schema[1], v, ind + "    ", depth + 1, named)]  # fmt: skip
    if isinstance(schema, dict) and schema.get("type") == "array":
        items = schema["items"]
        a, x = f"a{depth}", f"x{depth}"
        lines = [f"{ind}{a} = {value}", f"{ind}if {a}:", *_varint(f"len({a})", ind + "    ", 64),
                 f"{ind}    for {x} in {a}:"]  # fmt: skip
        if isinstance(items, str) and items in named:
            items = named[items]
        if isinstance(items, dict) and items.get("type") == "record":
            named.setdefault(items["name"], items)
            for k, field in enumerate(items["fields"]):
                lines += _write(field["type"], f"{x}[{k}]", ind + "        ", depth + 1, named)
        else:
            lines += _write(items, x, ind + "        ", depth + 1, named)
        return [*lines, f"{ind}o.append(0)"]
    raise _Unsupported(repr(schema)[:80])


def writer_source(schema: dict[str, Any]) -> str:
    """The generated function's source (for tests and docs)."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise _Unsupported("not a record")
    lines = ["def write(r, o):"]
    named: dict[str, Any] = {}
    for field in schema["fields"]:
        name = field["name"]
        if not isinstance(name, str) or not name.isidentifier():
            raise _Unsupported(f"field name {name!r}")
        lines += _write(field["type"], f"r.{name}", "    ", 0, named)
    return "\n".join(lines) + "\n"


def compile_writer(schema: dict[str, Any]) -> CompiledWriter | None:
    """A writer of bodies in ``schema`` (a record schema JSON with named types inlined), or
    None when it uses a type this module does not compile."""
    try:
        source = writer_source(schema)
    except _Unsupported:
        return None
    namespace: dict[str, Any] = {"PACK_DOUBLE": struct.Struct("<d").pack}
    # generated from the schema's structure alone (field names are checked to be
    # identifiers), never from record data
    exec(compile(source, f"<avro writer for {schema.get('name', 'record')}>", "exec"), namespace)
    writer: CompiledWriter = namespace["write"]
    return writer

"""Avro bodies read by a Python function generated for one schema: the worker's decode hot path.

Why: ``fastavro.schemaless_reader`` walks the parsed schema for every record (a dict lookup
and a type dispatch per field) and costs ~10 µs for a journey event here, the largest single
item of the worker's profile. A function generated once per writer schema reads the same
bytes in straight-line code (fields in order, the common one-byte varints without a loop) in
about half that. fastavro stays the reference: it parses the schemas, encodes, resolves older
writer schemas into the current one (records of those take the fastavro path), and the tests
check this reader against it on generated records and on corrupted bytes.

Only what journey schemas use is compiled: records of ``null``, ``boolean``, ``int``,
``long``, ``string``, ``bytes``, enums and unions of those. Anything else (nested records,
arrays, maps, fixed, floats) makes :func:`compile_reader` return None and the codec falls
back to fastavro; so does an explicit ``kafka.compiled_decoder = false``.

Bad bytes raise ``IndexError`` (truncated, enum or union index out of range),
``UnicodeDecodeError`` or ``ValueError`` (negative length, a varint wider than 64 bits, which
fastavro silently wraps around); the codec turns those into a ``malformed`` dead-letter
reason. The generated reader is never more lenient than fastavro.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: ``reader(data, offset) -> (record, end offset)``.
CompiledReader = Callable[[bytes, int], tuple[dict[str, Any], int]]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "string", "bytes"})


class _Unsupported(Exception):
    pass


def _varint(
    target: str, ind: str, *, then: Sequence[str] = (), fast: tuple[str, str] | None = None
) -> list[str]:
    """Read a zig-zag varint into ``target``: its first byte, then the rest of it."""
    return [*_read_byte(ind), *_varint_rest(target, ind, then=then, fast=fast)]


def _read_byte(ind: str) -> list[str]:
    """Read one byte into ``x`` (a union compares its branch byte as is)."""
    return [f"{ind}x = b[p]", f"{ind}p += 1"]


def _varint_rest(
    target: str, ind: str, *, then: Sequence[str] = (), fast: tuple[str, str] | None = None
) -> list[str]:
    """The varint whose first byte is ``x``, into ``target``.

    One byte of a non-negative value (lengths, enum indexes, union branches, small numbers:
    the common case) needs no loop and no zig-zag arithmetic. Gathering a wide varint's bytes
    with ``int.from_bytes`` and masks measured slower than this loop. ``then`` follows the
    general path; ``fast`` = (name, expression of ``x >> 1``) replaces the one-byte path's
    ``target = x >> 1`` (an enum's symbol looked up at once).
    """
    fast_target, fast_value = fast or (target, "x >> 1")
    return [
        f"{ind}if x & 0x81:",
        f"{ind}    if x & 0x80:",
        f"{ind}        n = x & 0x7F",
        f"{ind}        s = 7",
        f"{ind}        while True:",
        f"{ind}            x = b[p]",
        f"{ind}            p += 1",
        f"{ind}            n |= (x & 0x7F) << s",
        f"{ind}            s += 7",
        f"{ind}            if not x & 0x80:",
        f"{ind}                break",
        f"{ind}        if n >> 64:",  # fastavro wraps such values around; refuse them instead
        f"{ind}            raise ValueError(f'varint wider than 64 bits before offset {{p}}')",
        f"{ind}        x = n",
        f"{ind}    {target} = (x >> 1) ^ -(x & 1)",
        *[f"{ind}    {line}" for line in then],
        f"{ind}else:",
        f"{ind}    {fast_target} = {fast_value}",
    ]


def _length_prefixed(target: str, ind: str, text: bool) -> list[str]:
    read = "b[p:e].decode()" if text else "b[p:e]"
    return [
        *_varint("n", ind),
        f"{ind}e = p + n",
        f"{ind}if n < 0 or e > end:",
        f"{ind}    raise ValueError(f'length {{n}} at offset {{p}} of {{end}} bytes')",
        f"{ind}{target} = {read}",
        f"{ind}p = e",
    ]


def _type_name(schema: Any) -> Any:
    if isinstance(schema, dict) and schema.get("type") in _PRIMITIVES:
        return schema["type"]  # {"type": "string"} (with annotations) is the primitive
    return schema


def _read(schema: Any, target: str, ind: str, consts: dict[str, Any]) -> list[str]:
    schema = _type_name(schema)
    if schema == "null":
        return [f"{ind}{target} = None"]
    if schema == "boolean":
        # fastavro reads any non-zero byte as true: so does this reader
        return [f"{ind}{target} = b[p] != 0", f"{ind}p += 1"]
    if schema in ("int", "long"):
        return _varint(target, ind)
    if schema == "string":
        return _length_prefixed(target, ind, text=True)
    if schema == "bytes":
        return _length_prefixed(target, ind, text=False)
    if isinstance(schema, dict) and schema.get("type") == "enum":
        name = f"SYMBOLS_{len(consts)}"
        consts[name] = tuple(schema["symbols"])
        then = ["if i < 0:", "    raise IndexError(i)", f"{target} = {name}[i]"]
        return _varint("i", ind, then=then, fast=(target, f"{name}[x >> 1]"))
    if isinstance(schema, list):
        # The branch byte compared as is (branch k is the byte 2k); anything else (a
        # non-minimal or out-of-range index) goes through the general varint.
        lines = _read_byte(ind)
        for k, branch in enumerate(schema[:64]):
            lines.append(f"{ind}{'if' if k == 0 else 'elif'} x == {2 * k}:")
            lines += _read(branch, target, ind + "    ", consts)
        lines.append(f"{ind}else:")
        inner = ind + "    "
        lines += _varint_rest("u", inner)
        for k, branch in enumerate(schema):
            lines.append(f"{inner}{'if' if k == 0 else 'elif'} u == {k}:")
            lines += _read(branch, target, inner + "    ", consts)
        lines += [f"{inner}else:", f"{inner}    raise IndexError(f'union branch {{u}}')"]
        return lines
    raise _Unsupported(repr(schema)[:80])


def reader_source(schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The generated function's source and its constants (enum symbols); for tests and docs."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise _Unsupported("not a record")
    consts: dict[str, Any] = {}
    # Fields are read into locals and the dict is built once at the end (one instruction,
    # not one store per field).
    lines = ["def read(b, p):", "    end = len(b)"]
    names = []
    for k, field in enumerate(schema["fields"]):
        name = field["name"]
        if not isinstance(name, str) or not name.isidentifier():
            raise _Unsupported(f"field name {name!r}")
        names.append(name)
        lines += _read(field["type"], f"f{k}", "    ", consts)
    fields = ", ".join(f"{name!r}: f{k}" for k, name in enumerate(names))
    lines.append(f"    return {{{fields}}}, p")
    return "\n".join(lines) + "\n", consts


def compile_reader(schema: dict[str, Any]) -> CompiledReader | None:
    """A reader for bodies written with ``schema`` (a parsed record schema), or None when the
    schema uses a type this module does not compile (the caller then uses fastavro)."""
    try:
        source, consts = reader_source(schema)
    except _Unsupported:
        return None
    namespace: dict[str, Any] = dict(consts)
    name = schema.get("name", "record")
    # the source is generated from the schema's structure alone (field names are checked to
    # be identifiers; symbols go in as constants), never from record data
    exec(compile(source, f"<avro reader for {name}>", "exec"), namespace)
    reader: CompiledReader = namespace["read"]
    return reader

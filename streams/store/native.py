"""Decode ClickHouse's ``Native`` format (what chdb returns for ``fmt="Native"``) into Python.

Why Native and not CSV/JSON or Arrow: Native carries every column's exact ClickHouse type, so
values are decoded by type (an Enum8 comes back as its name, a ``DateTime('UTC')`` as a UTC
``datetime``, a ``UInt64`` as an exact int), with no text splitting and no float round-trip.
Arrow loses those types (chdb sends DateTime as ``uint32`` and Enum8 as ``int8``).  Native is also
columnar, so fixed-width columns decode with one ``numpy.frombuffer`` each.

Layout, per block: varint column count, varint row count, then per column: name, type name (both
varint-length-prefixed) and the column's data.  A result is zero or more blocks back to back.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal
from typing import Any

import numpy as np

from streams.store.base import QueryResult, StoreError
from streams.store.types import CHType, parse_type

_EPOCH_DATE = dt.date(1970, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_FIXED: dict[str, str] = {
    "UInt8": "<u1",
    "UInt16": "<u2",
    "UInt32": "<u4",
    "UInt64": "<u8",
    "Int8": "<i1",
    "Int16": "<i2",
    "Int32": "<i4",
    "Int64": "<i8",
    "Float32": "<f4",
    "Float64": "<f8",
}
_WIDE = {"Int128": (16, True), "UInt128": (16, False), "Int256": (32, True), "UInt256": (32, False)}
_LC_INDEX = ("<u1", "<u2", "<u4", "<u8")


class NativeDecodeError(StoreError):
    """The engine returned something this decoder cannot read (an unsupported type)."""


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def varint(self) -> int:
        shift = result = 0
        buf = self.buf
        while True:
            b = buf[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def take(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        if len(out) != n:
            raise NativeDecodeError("truncated Native data from the engine")
        self.pos += n
        return out

    def array(self, dtype: str, n: int) -> np.ndarray:
        arr = np.frombuffer(self.buf, dtype=dtype, count=n, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def string(self) -> str:
        return self.take(self.varint()).decode("utf-8", errors="surrogateescape")


def _decimal_width(t: CHType) -> int:
    name = t.name
    if name in ("Decimal32", "Decimal64", "Decimal128", "Decimal256"):
        return {"Decimal32": 4, "Decimal64": 8, "Decimal128": 16, "Decimal256": 32}[name]
    precision = int(t.literals[0])
    return 4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32


def _decimal_scale(t: CHType) -> int:
    return int(t.literals[-1]) if t.name != "Decimal" or len(t.literals) > 1 else 0


def _read(r: _Reader, t: CHType, n: int) -> list[Any]:
    """Read ``n`` values of type ``t``."""
    name = t.name
    if name in _FIXED:
        return list(r.array(_FIXED[name], n).tolist())
    if name in _WIDE:
        width, signed = _WIDE[name]
        raw = r.take(width * n)
        return [
            int.from_bytes(raw[i : i + width], "little", signed=signed)
            for i in range(0, len(raw), width)
        ]
    if name == "Bool":
        return [bool(x) for x in r.array("<u1", n).tolist()]
    if name == "String":
        return [r.string() for _ in range(n)]
    if name == "FixedString":
        size = int(t.literals[0])
        raw = r.take(size * n)
        return [
            raw[i : i + size].rstrip(b"\0").decode("utf-8", errors="surrogateescape")
            for i in range(0, len(raw), size)
        ]
    if name == "Date":
        return [_EPOCH_DATE + dt.timedelta(days=d) for d in r.array("<u2", n).tolist()]
    if name == "Date32":
        return [_EPOCH_DATE + dt.timedelta(days=d) for d in r.array("<i4", n).tolist()]
    if name == "DateTime":
        return [_EPOCH + dt.timedelta(seconds=s) for s in r.array("<u4", n).tolist()]
    if name == "DateTime64":
        scale = 10 ** int(t.literals[0])
        return [
            _EPOCH + dt.timedelta(microseconds=v * 1_000_000 // scale)
            for v in r.array("<i8", n).tolist()
        ]
    if name == "UUID":
        halves = r.array("<u8", 2 * n).tolist()
        return [uuid.UUID(int=(halves[i] << 64) | halves[i + 1]) for i in range(0, 2 * n, 2)]
    if name.startswith("Decimal"):
        width = _decimal_width(t)
        scale = _decimal_scale(t)
        raw = r.take(width * n)
        return [
            Decimal(int.from_bytes(raw[i : i + width], "little", signed=True)).scaleb(-scale)
            for i in range(0, len(raw), width)
        ]
    if name in ("Enum8", "Enum16"):
        names = {code: label for label, code in t.enum}
        codes = r.array("<i1" if name == "Enum8" else "<i2", n).tolist()
        return [names.get(c, str(c)) for c in codes]
    if name == "Nullable":
        nulls = r.array("<u1", n).tolist()
        values = _read(r, t.inner, n)
        return [None if isnull else v for isnull, v in zip(nulls, values, strict=True)]
    if name == "Nothing":
        r.take(n)
        return [None] * n
    if name == "Array":
        offsets = r.array("<u8", n).tolist()
        flat = _read(r, t.inner, offsets[-1] if offsets else 0)
        out, start = [], 0
        for end in offsets:
            out.append(flat[start:end])
            start = end
        return out
    if name == "Map":
        offsets = r.array("<u8", n).tolist()
        total = offsets[-1] if offsets else 0
        keys = _read(r, t.args[0], total)
        vals = _read(r, t.args[1], total)
        maps, start = [], 0
        for end in offsets:
            maps.append(dict(zip(keys[start:end], vals[start:end], strict=True)))
            start = end
        return maps
    if name == "Tuple":
        elems = [_read(r, sub, n) for sub in t.args]
        return list(zip(*elems, strict=True)) if elems else [() for _ in range(n)]
    if name == "LowCardinality":
        return _read_low_cardinality(r, t, n)
    if name == "IPv4":
        return [ipaddress.IPv4Address(x) for x in r.array("<u4", n).tolist()]
    if name == "IPv6":
        raw = r.take(16 * n)
        return [ipaddress.IPv6Address(raw[i : i + 16]) for i in range(0, len(raw), 16)]
    raise NativeDecodeError(
        f"cannot decode ClickHouse type {t} from the embedded engine; convert it in SQL "
        "(e.g. toString(...), or finalizeAggregation(...) for aggregate states)"
    )


def _read_low_cardinality(r: _Reader, t: CHType, n: int) -> list[Any]:
    # Serialization: UInt64 key version, then UInt64 index type (low byte = index width, flag
    # 0x200 = "additional keys follow"), the dictionary (row count + values of the *non-nullable*
    # inner type, where index 0 stands for NULL when the inner type is Nullable), then the row
    # count and the indexes.
    r.array("<u8", 1)
    if n == 0:
        return []
    index_type = int(r.array("<u8", 1)[0])
    inner = t.inner
    nullable = inner.name == "Nullable"
    dict_type = inner.inner if nullable else inner
    dictionary: list[Any] = []
    if index_type & 0x200:
        size = int(r.array("<u8", 1)[0])
        dictionary = _read(r, dict_type, size)
    rows = int(r.array("<u8", 1)[0])
    indexes = r.array(_LC_INDEX[index_type & 0xFF], rows).tolist()
    if nullable:
        return [None if i == 0 else dictionary[i] for i in indexes]
    return [dictionary[i] for i in indexes]


def decode_native(buf: bytes) -> QueryResult:
    """Decode a whole Native result (all blocks) into a :class:`QueryResult`."""
    r = _Reader(buf)
    columns: list[str] = []
    types: list[str] = []
    data: list[list[Any]] = []
    while r.pos < len(buf):
        ncols = r.varint()
        nrows = r.varint()
        block: list[list[Any]] = []
        names, tnames = [], []
        for _ in range(ncols):
            names.append(r.string())
            tname = r.string()
            tnames.append(tname)
            # "Zero items of data is always represented as zero number of bytes" (NativeWriter).
            block.append(_read(r, parse_type(tname), nrows) if nrows else [])
        if not columns:
            columns, types = names, tnames
            data = [[] for _ in names]
        for acc, col in zip(data, block, strict=True):
            acc.extend(col)
    rows = list(zip(*data, strict=True)) if data else []
    return QueryResult(columns=columns, types=types, rows=rows)

"""Raw-event rows as Avro, built from the bytes Kafka delivered: the embedded sink's hot path.

A row of ``events`` is the event's own record plus four values the worker adds: the event type,
the event time in whole seconds, and the customer's opening time and channel (copied so cohort
queries need no JOIN). Avro's binary encoding of a record is the concatenation of its fields'
encodings, so a row of the record schema::

    (event_type, occurred_at, opened_at, opening_channel, <the event's fields>)

is those four values' bytes followed by the event's body *exactly as the producer wrote it*,
whenever it was written with the event type's current schema. ClickHouse reads such rows
natively (one Avro object container per event type and write), matching fields to columns by
name; the record's ``occurred_at`` is renamed ``occurred_at_ms``, its column. The Python side
is then one ``struct`` pack and one concatenation per event, where the column path
(:func:`streams.sink.rows.event_values`) builds a tuple, transposes the batch and converts it to
Arrow, all holding the GIL of a GIL-bound worker, while chdb decodes Avro in its own threads.

The rows are the same as the column path's (tested on chdb): nulls of the nullable fields
become the columns' defaults (``input_format_null_as_default``), booleans 0/1. The two added
times are Avro doubles (8 bytes, packed in C; whole seconds are exact), read into the
``DateTime`` columns. Bodies of other schema versions, and events without their record (held
for their opening since before a restart), are encoded again with the current schema, so every
row of a type shares one container schema.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Mapping
from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_writer, writer

from streams.codec.base import Codec
from streams.codec.schemas import SchemaSet, strip_logical_types
from streams.settings import EVENT_TYPES

#: event type (enum index, one varint byte), occurred_at and opened_at (doubles, seconds),
#: opening channel (enum index, one varint byte).
_PREFIX = struct.Struct("<BddB")


def _enum_symbols(schema: Mapping[str, Any], field: str) -> list[str]:
    for f in schema["fields"]:
        if f["name"] == field:
            t = f["type"]
            if isinstance(t, dict) and t.get("type") == "enum":
                return list(t["symbols"])
    raise ValueError(f"{schema.get('name')}: field {field!r} is not an enum")


class AvroEventRows:
    """Encodes raw-event rows (see the module docstring) and buffers them per event type.

    One per worker; :meth:`take` detaches the buffered rows as an :class:`AvroBatch` for a
    write in another thread. Not thread-safe: rows are added on the event loop only.
    """

    def __init__(self, codec: Codec, schemas: SchemaSet) -> None:
        self._current_body = codec.current_body
        channels = _enum_symbols(schemas.current["account_opened"].source, "channel")
        if len(channels) > 63 or len(EVENT_TYPES) > 63:
            raise ValueError("an enum index must fit one varint byte")
        self._channel_code = {c: 2 * i for i, c in enumerate(channels)}  # zig-zag varint
        self._other = self._channel_code["other"]
        added: list[dict[str, Any]] = [
            {"name": "event_type", "type": {"type": "enum", "name": "journey.rows.EventType",
                                            "symbols": list(EVENT_TYPES)}},
            {"name": "occurred_at", "type": "double"},
            {"name": "opened_at", "type": "double"},
            {"name": "opening_channel", "type": {"type": "enum",
                                                 "name": "journey.rows.OpeningChannel",
                                                 "symbols": channels}},
        ]  # fmt: skip
        #: event type -> (its code, columns of its rows, container header, sync marker,
        #: parsed current schema for re-encoding)
        self._types: dict[str, tuple[int, tuple[str, ...], bytes, bytes, Any]] = {}
        for code, event_type in enumerate(EVENT_TYPES):
            source = strip_logical_types(dict(schemas.current[event_type].source))
            fields: list[dict[str, Any]] = [
                dict(f, name="occurred_at_ms") if f["name"] == "occurred_at" else f
                for f in source["fields"]
            ]
            row_schema: dict[str, Any] = {
                "type": "record",
                "name": "journey.rows.EventRow",
                "fields": [*added, *fields],
            }
            sync = os.urandom(16)
            header = BytesIO()
            writer(header, parse_schema(row_schema), [], codec="null", sync_marker=sync)
            columns = tuple(f["name"] for f in [*added, *fields])
            self._types[event_type] = (2 * code, columns, header.getvalue(), sync,
                                       parse_schema(source))  # fmt: skip
        self._rows: dict[str, list[bytes]] = {t: [] for t in EVENT_TYPES}
        self._pending = 0

    def row(
        self,
        event_type: str,
        event: Mapping[str, Any],
        value: bytes | None,
        opened_at_ms: int | None,
        opening_channel: str | None,
    ) -> bytes:
        """The row of ``event`` (decoded from ``value``, if known) as Avro binary."""
        code, _, _, _, schema = self._types[event_type]
        body = None if value is None else self._current_body(value)
        if body is None:
            buf = BytesIO()
            schemaless_writer(buf, schema, dict(event))
            body = buf.getvalue()
        return (
            _PREFIX.pack(
                code,
                event["occurred_at"] // 1000,
                0 if opened_at_ms is None else opened_at_ms // 1000,
                self._channel_code.get(opening_channel or "other", self._other),
            )
            + body
        )

    def add(
        self,
        event_type: str,
        event: Mapping[str, Any],
        value: bytes | None,
        opened_at_ms: int | None,
        opening_channel: str | None,
    ) -> None:
        """Buffer the row of one event (see :meth:`row`)."""
        self._rows[event_type].append(
            self.row(event_type, event, value, opened_at_ms, opening_channel)
        )
        self._pending += 1

    def __len__(self) -> int:
        return self._pending

    def take(self) -> AvroBatch:
        """Detach the buffered rows."""
        rows, self._rows = self._rows, {t: [] for t in EVENT_TYPES}
        self._pending = 0
        parts = {}
        for event_type, encoded in rows.items():
            if encoded:
                _, columns, header, sync, _ = self._types[event_type]
                parts[event_type] = (columns, header, sync, encoded)
        return AvroBatch(parts)


class AvroBatch:
    """Rows of one write: per event type, an Avro object container with its columns."""

    __slots__ = ("_parts",)

    def __init__(self, parts: dict[str, tuple[tuple[str, ...], bytes, bytes, list[bytes]]]):
        self._parts = parts

    def __len__(self) -> int:
        return sum(len(p[3]) for p in self._parts.values())

    def containers(self) -> Iterator[tuple[str, tuple[str, ...], bytes, int]]:
        """``(event type, columns, container bytes, rows)`` per event type with rows."""
        for event_type, (columns, header, sync, rows) in self._parts.items():
            data = b"".join(rows)
            yield (
                event_type,
                columns,
                b"".join((header, _long(len(rows)), _long(len(data)), data, sync)),
                len(rows),
            )


def _long(n: int) -> bytes:
    """Avro ``long``: zig-zag, then base-128 varint (block headers only: not the hot path)."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)

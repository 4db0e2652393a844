"""Avro single-object encoding: the default wire format, needing no schema registry.

Per the Avro specification a single-object-encoded value is::

    C3 01 | CRC-64-AVRO fingerprint of the writer schema (8 bytes, little-endian) | Avro body

The fingerprint names the writer schema without any network service, so an embedded install
works out of the box, and any Avro library can decode the bytes given the ``.avsc`` files.
Decoding looks the fingerprint up among the known writer schemas (current + ``schemas/history``)
and reads into the *current* schema of that type by Avro schema resolution, so old data keeps
decoding after a compatible schema change. The hot path is one dict lookup plus a
reader generated for the writer schema (:mod:`streams.codec.compiled`; fastavro's
``schemaless_reader`` for older writers, which need schema resolution).
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from fastavro import schemaless_writer

from streams.codec.base import DecodeError, EncodeError, read_body, topic_event_types
from streams.codec.compiled import CompiledReader, compile_reader
from streams.codec.schemas import SchemaSet, default_schemas
from streams.settings import EVENT_TYPES, TopicSettings

MAGIC = b"\xc3\x01"
HEADER_LEN = len(MAGIC) + 8


class SingleObjectCodec:
    """Encode/decode journey events as Avro single-object encoded bytes."""

    def __init__(
        self,
        schemas: SchemaSet | None = None,
        topics: TopicSettings | None = None,
        *,
        compiled: bool = True,
    ):
        self.schemas = schemas or default_schemas()
        # fingerprint -> (event_type, writer schema, reader schema or None when identical,
        # generated reader or None): passing no reader schema when writer == reader skips
        # fastavro's resolution step; such bodies are read by a generated reader (compiled).
        self._readers: dict[bytes, tuple[str, Any, Any, CompiledReader | None]] = {}
        for fp, version in self.schemas.by_fingerprint.items():
            current = self.schemas.current[version.event_type]
            reader = None if fp == current.fingerprint else current.decoding
            fast = compile_reader(version.decoding) if compiled and reader is None else None
            self._readers[fp] = (version.event_type, version.decoding, reader, fast)
        self._writers = {
            t: (MAGIC + v.fingerprint, v.parsed) for t, v in self.schemas.current.items()
        }
        topics = topics or TopicSettings.model_validate({})
        self._topic_types = topic_event_types({t: topics.name(t) for t in EVENT_TYPES})

    def encode(self, event_type: str, record: dict[str, Any]) -> bytes:
        """Header of the current schema of ``event_type`` followed by the Avro body."""
        try:
            header, schema = self._writers[event_type]
        except KeyError:
            raise EncodeError(f"unknown event type {event_type!r}") from None
        buf = BytesIO()
        buf.write(header)
        try:
            schemaless_writer(buf, schema, record)
        except Exception as exc:  # fastavro raises ValueError/TypeError/AttributeError...
            raise EncodeError(f"{event_type}: cannot encode record: {exc!r}") from exc
        return buf.getvalue()

    def decode(self, data: bytes, topic: str | None = None) -> tuple[str, dict[str, Any]]:
        """Decode single-object bytes into ``(event_type, record)`` in the current schema."""
        if data[:2] != MAGIC:
            raise DecodeError("not_avro", _describe_foreign(data))
        if len(data) < HEADER_LEN:
            raise DecodeError("malformed", f"truncated header: {len(data)} bytes")
        fp = bytes(data[2:HEADER_LEN])
        entry = self._readers.get(fp)
        if entry is None:
            raise DecodeError(
                "unknown_schema",
                f"no known writer schema has fingerprint {fp.hex()} (add it to schemas/history/)",
            )
        event_type, writer, reader, fast = entry
        return read_body(
            data, HEADER_LEN, event_type, writer, reader, topic, self._topic_types, fast
        )

    def current_body(self, data: bytes) -> bytes | None:
        """The body after the header, if the fingerprint is the current schema of its type."""
        entry = self._readers.get(data[2:HEADER_LEN])
        return data[HEADER_LEN:] if entry is not None and entry[2] is None else None


def _describe_foreign(data: bytes) -> str:
    """Best guess of what non-single-object bytes are, to make the dead-letter reason useful."""
    if not data:
        return "empty value"
    if data[:1] == b"\x00" and len(data) >= 5:
        return "Confluent Schema Registry framing (magic byte 0); set kafka.schema_registry_url"
    if data[:1] in (b"{", b"["):
        return "looks like JSON, not Avro"
    return f"unknown framing, first bytes {bytes(data[:4]).hex()}"

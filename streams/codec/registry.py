"""Confluent Schema Registry wire format, for banks that already run a registry.

Value bytes are ``00 | schema id (4 bytes, big-endian) | Avro body``. Encoding goes through
confluent-kafka's own ``AvroSerializer`` so registration, subject naming and framing are exactly
what every other Confluent client expects; subjects follow the TopicNameStrategy
(``<topic>-value``), which must be set explicitly because confluent-kafka 2.16 defaults to
another strategy.

Decoding does the framing itself instead of using ``AvroDeserializer``: the deserializer returns
``datetime``/``UUID`` objects for logical types, while journey's core wants epoch-millis ints and
strings, and the fast path should be one dict lookup + ``fastavro.schemaless_reader`` like the
single-object codec. The writer schema for an unseen id is fetched once from the registry
(confluent-kafka's client caches it too), matched to an event type by fingerprint or by record
name, and read into the current schema by Avro schema resolution.

``confluent_kafka.schema_registry`` needs ``authlib``, ``cachetools``, ``attrs`` and ``httpx``;
it is imported lazily so the default single-object mode does not depend on them.
"""

from __future__ import annotations

import json
from typing import Any

from streams.codec.base import DecodeError, EncodeError, read_body, topic_event_types
from streams.codec.compiled import CompiledReader, compile_reader
from streams.codec.schemas import SchemaSet, default_schemas, make_version
from streams.settings import EVENT_TYPES, TopicSettings

MAGIC_BYTE = 0
HEADER_LEN = 5


def parse_header(data: bytes) -> int:
    """Schema id of registry-framed bytes; :class:`DecodeError` if they are not framed so."""
    if not data:
        raise DecodeError("not_avro", "empty value")
    if data[0] != MAGIC_BYTE:
        hint = (
            " (Avro single-object encoding: unset schema_registry_url)"
            if data[:2] == (b"\xc3\x01")
            else ""
        )
        raise DecodeError("not_avro", f"first byte {data[0]:#04x} is not the magic byte 0{hint}")
    if len(data) < HEADER_LEN:
        raise DecodeError("malformed", f"truncated header: {len(data)} bytes")
    return int.from_bytes(data[1:HEADER_LEN], "big")


class RegistryCodec:
    """Encode with confluent-kafka's AvroSerializer; decode registry-framed bytes fast."""

    def __init__(
        self,
        url: str,
        topics: TopicSettings | None = None,
        schemas: SchemaSet | None = None,
        client_config: dict[str, Any] | None = None,
        *,
        compiled: bool = True,
    ) -> None:
        from confluent_kafka.schema_registry import (
            SchemaRegistryClient,
            topic_subject_name_strategy,
        )
        from confluent_kafka.schema_registry.avro import AvroSerializer

        self.schemas = schemas or default_schemas()
        self.topics = topics or TopicSettings.model_validate({})
        self.client = SchemaRegistryClient({"url": url, **(client_config or {})})
        conf = {"auto.register.schemas": True, "subject.name.strategy": topic_subject_name_strategy}
        self._serializers = {
            t: AvroSerializer(self.client, json.dumps(v.source), conf=conf)
            for t, v in self.schemas.current.items()
        }
        self._topic_of = {t: self.topics.name(t) for t in EVENT_TYPES}
        self._topic_types = topic_event_types(self._topic_of)
        #: schema id -> (event_type, writer schema, reader schema or None when identical,
        #: generated reader when no resolution is needed)
        self._readers: dict[int, tuple[str, Any, Any, CompiledReader | None]] = {}
        self._compiled = compiled

    def encode(self, event_type: str, record: dict[str, Any]) -> bytes:
        """Register (once) and frame with the schema id of the event type's current schema."""
        from confluent_kafka.serialization import MessageField, SerializationContext

        serializer = self._serializers.get(event_type)
        if serializer is None:
            raise EncodeError(f"unknown event type {event_type!r}")
        ctx = SerializationContext(self._topic_of[event_type], MessageField.VALUE)
        try:
            data = serializer(record, ctx)
        except Exception as exc:
            raise EncodeError(f"{event_type}: cannot encode record: {exc!r}") from exc
        assert data is not None  # only None for a None record
        return bytes(data)

    def decode(self, data: bytes, topic: str | None = None) -> tuple[str, dict[str, Any]]:
        """Decode ``00 | id | body`` into ``(event_type, record)`` in the current schema."""
        schema_id = parse_header(data)
        entry = self._readers.get(schema_id)
        if entry is None:
            entry = self._resolve(schema_id)
        event_type, writer, reader, fast = entry
        return read_body(
            data, HEADER_LEN, event_type, writer, reader, topic, self._topic_types, fast
        )

    def current_body(self, data: bytes) -> bytes | None:
        """The body after the header, if the schema id is (known to be) the current schema."""
        entry = self._readers.get(int.from_bytes(data[1:HEADER_LEN], "big"))
        return data[HEADER_LEN:] if entry is not None and entry[2] is None else None

    def _resolve(self, schema_id: int) -> tuple[str, Any, Any, CompiledReader | None]:
        """Fetch writer schema ``schema_id`` once and decide which event type it belongs to."""
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        try:
            schema = self.client.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise DecodeError(
                    "unknown_schema", f"schema id {schema_id} not in registry"
                ) from exc
            raise DecodeError("registry_unavailable", f"schema id {schema_id}: {exc}") from exc
        except Exception as exc:  # connection refused, timeouts, TLS...
            raise DecodeError("registry_unavailable", f"schema id {schema_id}: {exc!r}") from exc
        if schema.schema_type not in (None, "AVRO"):
            raise DecodeError("not_avro", f"schema id {schema_id} is {schema.schema_type}")
        try:
            source = json.loads(schema.schema_str or "")
            known = self.schemas.by_fingerprint.get(make_version("?", source, None).fingerprint)
            event_type = known.event_type if known else self._type_by_name(source)
            writer = make_version(event_type, source, None)
        except DecodeError:
            raise
        except Exception as exc:
            raise DecodeError("unknown_schema", f"schema id {schema_id}: {exc!r}") from exc
        current = self.schemas.current[event_type]
        reader = None if writer.fingerprint == current.fingerprint else current.decoding
        fast = compile_reader(writer.decoding) if self._compiled and reader is None else None
        entry = (event_type, writer.decoding, reader, fast)
        self._readers[schema_id] = entry
        return entry

    def _type_by_name(self, source: Any) -> str:
        """Event type whose current schema has the same full record name as ``source``."""
        name = source.get("name", "") if isinstance(source, dict) else ""
        if "." not in name and isinstance(source, dict) and source.get("namespace"):
            name = f"{source['namespace']}.{name}"
        for event_type, version in self.schemas.current.items():
            if version.parsed.get("name") == name:
                return event_type
        raise DecodeError("unknown_schema", f"writer schema {name!r} is no journey event")

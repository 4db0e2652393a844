"""What every wire format offers the rest of journey, and the one error decoding may raise.

Producers, the worker and the tools never branch on the serialization mode: they get a
:class:`Codec` from :func:`streams.codec.codec_from_settings` and call ``encode``/``decode``.
Bytes on a topic come from outside journey and can be anything, so decoding has exactly one
failure type, :class:`DecodeError`, whose ``reason`` is machine-readable (the worker routes the
message to the dead-letter topic and counts it by reason) and whose message is for humans.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, Literal, Protocol, runtime_checkable

from fastavro import schemaless_reader

from streams.codec.compiled import CompiledReader
from streams.codec.schemas import SchemaSet

DecodeReason = Literal[
    "malformed",  # header recognised but the body does not decode with the writer schema
    "unknown_schema",  # fingerprint / schema id of a writer schema journey does not know
    "wrong_topic",  # a valid event, but of a type that does not belong on this topic
    "not_avro",  # no recognised framing: not Avro single-object nor registry-framed bytes
    "registry_unavailable",  # the schema registry could not be asked for the writer schema
]


class DecodeError(ValueError):
    """Bytes that cannot become an event. Never fatal: callers dead-letter and carry on."""

    def __init__(self, reason: DecodeReason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason: DecodeReason = reason
        self.message = message


class EncodeError(ValueError):
    """A record that cannot be written with its event type's schema (a producer-side bug)."""


@runtime_checkable
class Codec(Protocol):
    """Turns ``(event_type, record)`` into message-value bytes and back."""

    #: The schemas it reads and writes: records decode into each type's current schema.
    schemas: SchemaSet

    def encode(self, event_type: str, record: dict[str, Any]) -> bytes:
        """Serialize one record of ``event_type`` with its current schema."""
        ...

    def decode(self, data: bytes, topic: str | None = None) -> tuple[str, dict[str, Any]]:
        """Return ``(event_type, record)``; raise :class:`DecodeError` and nothing else.

        ``topic``, when given, must be the topic of ``data``'s event type (else ``wrong_topic``).
        """
        ...

    def current_body(self, data: bytes) -> bytes | None:
        """The Avro body of ``data`` when its writer schema is its type's current one, else None.

        For bytes :meth:`decode` accepted: such a body encodes exactly the record ``decode``
        returned, so a sink may forward it instead of encoding the record again.
        """
        ...


def topic_event_types(topic_names: dict[str, str]) -> dict[str, str]:
    """Invert ``{event_type: topic}`` for the wrong-topic check (topics are unique per type)."""
    return {topic: event_type for event_type, topic in topic_names.items()}


def read_body(
    data: bytes,
    header_len: int,
    event_type: str,
    writer: Any,
    reader: Any,
    topic: str | None,
    topic_types: Mapping[str, str],
    compiled: CompiledReader | None = None,
) -> tuple[str, dict[str, Any]]:
    """Shared tail of every framing: check the topic, read the Avro body, reject trailing bytes.

    The framings differ only in how the header names the writer schema; once it is resolved
    to ``(event_type, writer, reader)`` the rest is the same and lives here. ``compiled`` is
    the writer's generated reader (:mod:`streams.codec.compiled`), given when no schema
    resolution is needed; otherwise fastavro reads the body.
    """
    if topic is not None:
        expected = topic_types.get(topic)
        if expected is not None and expected != event_type:
            raise DecodeError(
                "wrong_topic", f"a {event_type} event on topic {topic!r} (for {expected})"
            )
    if compiled is not None and type(data) is bytes:
        try:
            body, end = compiled(data, header_len)
        except (IndexError, ValueError) as exc:  # truncated, bad index, length, UTF-8
            raise DecodeError("malformed", f"{event_type} body does not decode: {exc!r}") from exc
        if end != len(data):
            raise DecodeError(
                "malformed", f"{len(data) - end} trailing bytes after a {event_type} body"
            )
        return event_type, body
    fo = BytesIO(data)
    fo.seek(header_len)
    try:
        record = schemaless_reader(fo, writer, reader)
    except Exception as exc:  # EOFError, UnicodeDecodeError, IndexError, ... on bad bytes
        raise DecodeError("malformed", f"{event_type} body does not decode: {exc!r}") from exc
    if fo.tell() != len(data):
        raise DecodeError(
            "malformed", f"{len(data) - fo.tell()} trailing bytes after a {event_type} body"
        )
    return event_type, record  # type: ignore[return-value]

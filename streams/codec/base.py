"""What every wire format offers the rest of journey, and the one error decoding may raise.

Producers, the worker and the tools never branch on the serialization mode: they get a
:class:`Codec` from :func:`streams.codec.codec_from_settings` and call ``encode``/``decode``.
Bytes on a topic come from outside journey and can be anything, so decoding has exactly one
failure type, :class:`DecodeError`, whose ``reason`` is machine-readable (the worker routes the
message to the dead-letter topic and counts it by reason) and whose message is for humans.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

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

    def encode(self, event_type: str, record: dict[str, Any]) -> bytes:
        """Serialize one record of ``event_type`` with its current schema."""
        ...

    def decode(self, data: bytes, topic: str | None = None) -> tuple[str, dict[str, Any]]:
        """Return ``(event_type, record)``; raise :class:`DecodeError` and nothing else.

        ``topic``, when given, must be the topic of ``data``'s event type (else ``wrong_topic``).
        """
        ...


def topic_event_types(topic_names: dict[str, str]) -> dict[str, str]:
    """Invert ``{event_type: topic}`` for the wrong-topic check (topics are unique per type)."""
    return {topic: event_type for event_type, topic in topic_names.items()}

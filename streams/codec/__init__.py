"""Avro codecs for journey's events: one contract (``schemas/``), two wire formats.

* no schema registry configured → :class:`SingleObjectCodec` (Avro single-object encoding);
* ``kafka.schema_registry_url`` set → :class:`~streams.codec.registry.RegistryCodec`
  (Confluent wire format, imported lazily because it pulls in the registry client's deps).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streams.codec.base import Codec, DecodeError, DecodeReason, EncodeError
from streams.codec.schemas import SchemaSet, default_schemas, load_schema_set
from streams.codec.single_object import SingleObjectCodec
from streams.codec.validation import validate

if TYPE_CHECKING:
    from streams.settings import Settings

__all__ = [
    "Codec",
    "DecodeError",
    "DecodeReason",
    "EncodeError",
    "SchemaSet",
    "SingleObjectCodec",
    "codec_from_settings",
    "default_schemas",
    "load_schema_set",
    "validate",
]


def codec_from_settings(settings: Settings, schemas: SchemaSet | None = None) -> Codec:
    """The codec the settings ask for: registry framing when a registry URL is set."""
    if settings.kafka.schema_registry_url:
        from streams.codec.registry import RegistryCodec

        return RegistryCodec(
            settings.kafka.schema_registry_url,
            settings.topics,
            schemas,
            compiled=settings.kafka.compiled_decoder,
        )
    return SingleObjectCodec(schemas, settings.topics, compiled=settings.kafka.compiled_decoder)

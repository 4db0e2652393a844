"""The event contract, loaded once: parsed Avro schemas, fingerprints and known writer versions.

Where the ``.avsc`` files come from (first match wins):

1. ``JOURNEY_SCHEMAS_DIR`` — an explicit override, for installs that keep the contract elsewhere;
2. ``<repo>/schemas`` resolved as ``Path(__file__).parents[2] / "schemas"`` — a source checkout or
   an editable install, which is how journey is developed and tested;
3. ``streams/schemas`` next to the package — where a wheel can ship them as package data.

Each event type has one *current* schema (``schemas/<type>.avsc``): producers write it and
consumers read into it. Older versions stay in ``schemas/history/<type>/v<N>.avsc`` so that data
still on a topic, written by an older producer, keeps decoding: decoders look a writer schema up by
its fingerprint and let Avro schema resolution map it onto the current reader schema.

Decoding uses a *decoding variant* of every schema with its ``logicalType`` annotations removed:
``occurred_at`` then decodes as an ``int`` of epoch milliseconds and ``event_id`` as a ``str``,
which is what the pure core wants and is faster than building ``datetime``/``UUID`` objects only
to convert them back. The wire bytes are identical (logical types do not change the encoding or
the parsing canonical form, hence neither the fingerprint).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from streams.settings import EVENT_TYPES

SCHEMAS_DIR_ENV = "JOURNEY_SCHEMAS_DIR"
_HISTORY_FILE = re.compile(r"^v(\d+)\.avsc$")


class SchemaLoadError(RuntimeError):
    """The schema directory is missing, incomplete or holds an unparsable schema."""


def find_schemas_dir() -> Path:
    """Locate the directory of ``.avsc`` files (see the module docstring for the order)."""
    candidates: list[Path] = []
    env = os.environ.get(SCHEMAS_DIR_ENV)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise SchemaLoadError(f"{SCHEMAS_DIR_ENV}={env!r} is not a directory")
        return path
    here = Path(__file__).resolve()
    candidates.append(here.parents[2] / "schemas")
    candidates.append(here.parents[1] / "schemas")
    for path in candidates:
        if (path / f"{EVENT_TYPES[0]}.avsc").is_file():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise SchemaLoadError(
        f"cannot find the Avro schemas (tried {tried}); set {SCHEMAS_DIR_ENV} to their directory"
    )


def strip_logical_types(schema: Any) -> Any:
    """Copy of a schema JSON with every ``logicalType`` removed (same bytes, plain values)."""
    if isinstance(schema, dict):
        return {k: strip_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [strip_logical_types(v) for v in schema]
    return schema


def schema_fingerprint(schema_json: Mapping[str, Any]) -> bytes:
    """CRC-64-AVRO fingerprint of a schema's parsing canonical form, 8 bytes little-endian.

    fastavro returns the hex of the little-endian bytes, as the Java implementation and the
    single-object encoding header both use.
    """
    pcf = to_parsing_canonical_form(parse_schema(dict(schema_json), _write_hint=False))
    return bytes.fromhex(fingerprint(pcf, "CRC-64-AVRO"))


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One writer schema of an event type, current or historical."""

    event_type: str
    version: int | None  #: N of ``history/<type>/vN.avsc``; ``None`` for the current schema
    source: Mapping[str, Any]  #: schema JSON as written, logical types included
    parsed: Any  #: ``fastavro.parse_schema`` of ``source`` (for encoding and validation)
    decoding: Any  #: parsed schema without logical types (for fast decoding)
    canonical_form: str
    fingerprint: bytes  #: 8 bytes, little-endian CRC-64-AVRO


def make_version(event_type: str, source: Mapping[str, Any], version: int | None) -> SchemaVersion:
    """Parse one schema JSON into a :class:`SchemaVersion`; parsing happens here, once."""
    try:
        parsed = parse_schema(dict(source))
        decoding = parse_schema(strip_logical_types(dict(source)))
        pcf = to_parsing_canonical_form(parse_schema(dict(source), _write_hint=False))
    except Exception as exc:  # fastavro raises several types for bad schemas
        raise SchemaLoadError(f"invalid schema for {event_type!r} (v{version}): {exc}") from exc
    return SchemaVersion(
        event_type=event_type,
        version=version,
        source=source,
        parsed=parsed,
        decoding=decoding,
        canonical_form=pcf,
        fingerprint=bytes.fromhex(fingerprint(pcf, "CRC-64-AVRO")),
    )


@dataclass(slots=True)
class SchemaSet:
    """Current schema per event type plus every known writer schema by fingerprint."""

    current: dict[str, SchemaVersion]
    by_fingerprint: dict[bytes, SchemaVersion] = field(default_factory=dict)
    directory: Path | None = None

    def __post_init__(self) -> None:
        for version in self.current.values():
            self.by_fingerprint.setdefault(version.fingerprint, version)

    def register(self, version: SchemaVersion) -> None:
        """Make a (historical) writer schema decodable. Its type's current schema reads it."""
        if version.event_type not in self.current:
            raise SchemaLoadError(f"no current schema for event type {version.event_type!r}")
        self.by_fingerprint.setdefault(version.fingerprint, version)

    def history(self, event_type: str) -> list[SchemaVersion]:
        """Registered versions of one type other than the current one, oldest first."""
        cur = self.current[event_type].fingerprint
        found = [
            v
            for v in self.by_fingerprint.values()
            if v.event_type == event_type and v.fingerprint != cur
        ]
        return sorted(found, key=lambda v: v.version or 0)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaLoadError(f"cannot read schema {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SchemaLoadError(f"schema {path} is not a JSON object")
    return data


def iter_history(directory: Path) -> Iterable[tuple[str, int, Path]]:
    """``(event_type, N, path)`` for every ``history/<type>/vN.avsc`` under ``directory``."""
    root = directory / "history"
    if not root.is_dir():
        return
    for type_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(type_dir.iterdir()):
            match = _HISTORY_FILE.match(path.name)
            if match:
                yield type_dir.name, int(match.group(1)), path


def load_schema_set(directory: Path | None = None) -> SchemaSet:
    """Load and parse every current and historical schema (missing current ones are an error)."""
    directory = directory or find_schemas_dir()
    current: dict[str, SchemaVersion] = {}
    for event_type in EVENT_TYPES:
        path = directory / f"{event_type}.avsc"
        if not path.is_file():
            raise SchemaLoadError(f"missing schema {path}")
        current[event_type] = make_version(event_type, _read_json(path), None)
    schemas = SchemaSet(current=current, directory=directory)
    for event_type, n, path in iter_history(directory):
        if event_type not in current:
            raise SchemaLoadError(f"{path}: unknown event type {event_type!r}")
        schemas.register(make_version(event_type, _read_json(path), n))
    return schemas


_DEFAULT: SchemaSet | None = None


def default_schemas() -> SchemaSet:
    """The process-wide schema set, parsed on first use (schemas never change while running)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_schema_set()
    return _DEFAULT

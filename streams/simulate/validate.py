"""Check simulated events against the fixed Avro contract in ``schemas/*.avsc``.

Why here: tests and the CLI both need "does this dict satisfy its schema?", and the simulator is
only useful if every clean event it emits does. Uses fastavro's parser and validator so the check
is the same one a producer applies.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from streams.simulate.population import EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


@cache
def parsed_schemas(schema_dir: Path = SCHEMA_DIR) -> dict[str, Any]:
    """``{event_type: parsed schema}`` for the five event types."""
    import fastavro

    return {
        name: fastavro.parse_schema(json.loads((schema_dir / f"{name}.avsc").read_text()))
        for name in EVENT_TYPES
    }


def validate_event(event: dict[str, Any], raise_errors: bool = True) -> bool:
    """True when ``event`` (with its ``event_type`` key) matches that type's schema exactly:
    valid per fastavro, and no keys beyond the schema's fields."""
    from fastavro.validation import validate

    schema = parsed_schemas()[event["event_type"]]
    record = {k: v for k, v in event.items() if k != "event_type"}
    fields = {f["name"] for f in schema["fields"]}
    if set(record) != fields:
        if raise_errors:
            raise ValueError(f"fields differ: {sorted(set(record) ^ fields)}")
        return False
    return bool(validate(record, schema, raise_errors=raise_errors))

"""Hypothesis strategies for Avro values: any record a journey schema admits.

Shipped with the package (like the engine and ClickHouse fixtures) so code that reads or writes
journey events, journey's own codec and sink included, can be property-tested against the whole
value space of the schemas, not only the simulator's events. Needs ``hypothesis``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from streams.codec.schemas import SchemaSet, default_schemas


def values(schema: Any) -> st.SearchStrategy[Any]:
    """Values valid for an Avro schema (the types journey schemas use)."""
    if isinstance(schema, dict) and schema.get("type") == "enum":
        return st.sampled_from(schema["symbols"])
    if isinstance(schema, dict):
        return values(schema["type"])
    if isinstance(schema, list):
        return st.one_of(*(values(b) for b in schema))
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "string": st.text(),
        "bytes": st.binary(),
    }[schema]


def records(
    event_type: str, schemas: SchemaSet | None = None, **fields: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """Records of ``event_type``'s current schema; ``fields`` override single fields' values."""
    source = (schemas or default_schemas()).current[event_type].source
    return st.fixed_dictionaries(
        {f["name"]: fields.get(f["name"], values(f["type"])) for f in source["fields"]}
    )

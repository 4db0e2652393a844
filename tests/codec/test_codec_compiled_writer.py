"""The generated Avro writer against fastavro, its reference: the same bytes for every record."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.codec.compiled_writer import compile_writer, writer_source
from streams.codec.derived import DERIVED, DerivedCodec, derived_schema
from streams.codec.schemas import default_schemas
from streams.embedded.stack import simulated_events
from streams.engine import EngineConfig, PartitionEngine

GENERATED = DerivedCodec()
FASTAVRO = DerivedCodec(compiled=False)
LONG = st.integers(-(2**63), 2**63 - 1)


def _values(tp: Any) -> st.SearchStrategy[Any]:
    """Values of a derived record field's type hint (the types derived schemas map)."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return st.none() | _values(inner)
    if typing.get_origin(tp) is tuple:
        if args[0] is str:
            return st.lists(st.text(), max_size=4).map(tuple)
        return st.lists(st.tuples(st.text(), LONG), max_size=4).map(tuple)
    return {str: st.text(), int: LONG, float: st.floats(), bool: st.booleans()}[tp]


def _records(cls: type[Any]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _values(hints[f.name]) for f in dataclasses.fields(cls)}
    return st.fixed_dictionaries(fields).map(lambda kw: cls(**kw))


def test_every_derived_schema_compiles() -> None:
    for kind in DERIVED:
        assert compile_writer(derived_schema(kind)) is not None, kind


@pytest.mark.parametrize("kind", sorted(DERIVED))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_generated_records_are_written_as_fastavro_writes_them(kind: str, data: Any) -> None:
    record = data.draw(_records(DERIVED[kind][0]))
    assert GENERATED.encode(record) == FASTAVRO.encode(record)


def test_the_engines_records_are_written_as_fastavro_writes_them() -> None:
    engine = PartitionEngine(EngineConfig())
    out = []
    for event_type, ev in simulated_events(40, 15, 4):
        out += engine.process(event_type, ev)
    out += engine.advance(engine.max_seen + 400 * 86_400_000)
    out += engine.take_snapshots()
    published = [r for r in out if GENERATED.topic_key(r) is not None]
    assert {r.kind for r in published} >= {"snapshot", "stall_raised", "window_outcome",
                                            "defection", "risk_change", "cohort_entry"}  # fmt: skip
    for record in published:
        assert GENERATED.encode(record) == FASTAVRO.encode(record), record.kind
        assert GENERATED.decode(GENERATED.encode(record))["record_id"] == record.record_id


def test_types_it_does_not_compile_are_left_to_fastavro() -> None:
    def record(t: Any) -> dict[str, Any]:
        return {"type": "record", "name": "R", "fields": [{"name": "f", "type": t}]}

    for t in ({"type": "map", "values": "long"}, ["string", "long"], "bytes", "float",
              {"type": "enum", "name": "E", "symbols": ["a"]}):  # fmt: skip
        assert compile_writer(record(t)) is None, t
    assert compile_writer(record({"type": "array", "items": "long"})) is not None
    # the input events' schemas use enums: not compiled (their encoding is the producer's)
    assert compile_writer(dict(default_schemas().current["login"].source)) is None
    with pytest.raises(Exception, match="field name"):
        writer_source(record("long") | {"fields": [{"name": "not-an-identifier", "type": "long"}]})

"""Derived-topic Avro: generated from the engine's records, committed, and round-tripping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.codec.derived import DERIVED, DerivedCodec, derived_schema
from streams.engine import EngineConfig, PartitionEngine
from streams.engine.builders import closure, day, login, opened

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "derived"


@pytest.mark.parametrize("kind", sorted(DERIVED))
def test_committed_schema_is_what_the_code_generates(kind: str) -> None:
    committed = json.loads((SCHEMAS / f"{kind}.avsc").read_text())
    assert committed == derived_schema(kind), "run: python -m streams.codec.derived"


def test_engine_records_round_trip() -> None:
    t0 = 1_717_200_000_000
    engine = PartitionEngine(EngineConfig())
    out = []
    for ev in (
        opened("c", t0, channel="online"),
        login("c", t0 + day(1)),
        closure("c", t0 + day(3)),
    ):
        out += engine.process(*ev)
    out += engine.advance(t0 + day(400))
    out += engine.take_snapshots()
    codec = DerivedCodec()
    published = [r for r in out if codec.topic_key(r) is not None]
    assert {r.kind for r in published} >= {"defection", "snapshot", "window_outcome"}
    for record in published:
        back = codec.decode(codec.encode(record))
        assert back["kind"] == record.kind and back["record_id"] == record.record_id
        assert back["customer_id"] == "c"
    defection = next(r for r in published if r.kind == "defection")
    assert codec.decode(codec.encode(defection))["defection_kind"] == "closure"

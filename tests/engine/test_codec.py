"""State serialisation: versioned, compact, migrations from older versions."""

from __future__ import annotations

import json

import pytest

from streams.engine import PartitionEngine
from streams.engine.builders import day, login, opened, tx
from streams.engine.codec import STATE_VERSION, decode, decode_meta, encode, encode_meta
from streams.engine.state import FIELDS
from streams.testing.engine import T0, run


def _state(engine: PartitionEngine):
    run(engine, [opened("c", T0, channel="online"), login("c", T0 + day(1)), tx("c", T0 + day(2))])
    engine.advance(T0 + day(31))
    st = engine.state_of("c")
    assert st is not None
    return st


def test_version_byte_and_round_trip(engine: PartitionEngine) -> None:
    st = _state(engine)
    data = encode(st)
    assert data[0] == STATE_VERSION == 2
    assert decode(data) == st
    assert encode(decode(data)) == data


def test_v1_to_v2_migration_derives_cohorts(engine: PartitionEngine) -> None:
    st = _state(engine)
    assert st.open_stalls() == ["not_funded_by_day_30"]
    values = json.loads(encode(st)[1:])
    assert FIELDS[-1] == "cohorts"
    v1 = bytes((1,)) + json.dumps(values[:-1]).encode()  # v1 had no cohorts slot
    migrated = decode(v1)
    assert migrated.cohorts == {"stalled": [1, 1], "at_risk": [0, 0]}
    assert migrated.stalls == st.stalls and migrated.recent == st.recent


def test_rejects_unknown_versions_and_wrong_shape() -> None:
    with pytest.raises(ValueError, match="version"):
        decode(bytes((9,)) + b"[]")
    with pytest.raises(ValueError, match="slots"):
        decode(bytes((STATE_VERSION,)) + b"[1,2]")


def test_encode_prunes_dedup_ids_behind_the_watermark(engine: PartitionEngine) -> None:
    st = _state(engine)
    assert decode(encode(st, watermark=T0 + day(100))).seen == {}


def test_integers_wider_than_64_bits_survive(engine: PartitionEngine) -> None:
    # orjson refuses them on write (the standard library takes over) and would read them
    # back as floats: the state's counters must stay exact integers whatever their size
    st = _state(engine)
    st.n_events = 2**70 + 1
    back = decode(encode(st))
    assert back.n_events == 2**70 + 1 and type(back.n_events) is int
    assert back == st


def test_meta_round_trip() -> None:
    assert decode_meta(encode_meta(5, -3)) == (5, -3)

"""The generated Avro reader against fastavro, its reference: same records, never more lenient."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.codec import DecodeError, SingleObjectCodec, default_schemas
from streams.codec.compiled import compile_reader, reader_source
from streams.embedded.stack import simulated_events
from streams.testing.avro import records

SCHEMAS = default_schemas()
EVENT_TYPES = sorted(SCHEMAS.current)


def _records(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
    return records(event_type, SCHEMAS)


def _body(event_type: str, record: dict[str, Any]) -> bytes:
    buf = BytesIO()
    schemaless_writer(buf, SCHEMAS.current[event_type].decoding, record)
    return buf.getvalue()


def _fastavro(event_type: str, data: bytes, offset: int = 0) -> tuple[Any, int]:
    fo = BytesIO(data)
    fo.seek(offset)
    return schemaless_reader(fo, SCHEMAS.current[event_type].decoding, None), fo.tell()


READERS = {t: compile_reader(SCHEMAS.current[t].decoding) for t in EVENT_TYPES}


def test_every_journey_schema_compiles() -> None:
    assert all(READERS[t] is not None for t in EVENT_TYPES)
    source, consts = reader_source(SCHEMAS.current["transaction"].decoding)
    assert source.startswith("def read(b, p):") and "'amount_minor': f7" in source
    assert ("credit", "debit") in consts.values()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_record_as_fastavro(event_type: str, data: st.DataObject) -> None:
    record = data.draw(_records(event_type))
    body = b"\xc3\x01PREFIX" + _body(event_type, record)  # the reader starts at an offset
    reader = READERS[event_type]
    assert reader is not None
    got, end = reader(body, 8)
    want, want_end = _fastavro(event_type, body, 8)
    assert got == want == record
    assert end == want_end == len(body)


def _mutations() -> st.SearchStrategy[tuple[str, int, int]]:
    return st.tuples(
        st.sampled_from(["truncate", "set", "insert", "append"]),
        st.integers(0, 10_000),
        st.integers(0, 255),
    )


def _mutate(body: bytes, how: tuple[str, int, int]) -> bytes:
    kind, at, byte = how
    i = at % (len(body) + 1)
    if kind == "truncate":
        return body[:i]
    if kind == "set" and body:
        i = at % len(body)
        return body[:i] + bytes([byte]) + body[i + 1 :]
    if kind == "insert":
        return body[:i] + bytes([byte]) + body[i:]
    return body + bytes([byte])


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), how=st.lists(_mutations(), min_size=1, max_size=3))
def test_corrupted_bytes_never_more_lenient_than_fastavro(
    event_type: str, data: st.DataObject, how: list[tuple[str, int, int]]
) -> None:
    body = _body(event_type, data.draw(_records(event_type)))
    for h in how:
        body = _mutate(body, h)
    reader = READERS[event_type]
    assert reader is not None
    try:
        got, end = reader(body, 0)
    except (IndexError, ValueError):
        return  # rejected: the codec dead-letters it as malformed
    want, want_end = _fastavro(event_type, body)  # accepted: fastavro must agree exactly
    assert got == want
    assert end == want_end


def test_unsupported_types_fall_back_to_fastavro() -> None:
    array = {"name": "a", "type": {"type": "array", "items": "long"}}
    nested = parse_schema({"type": "record", "name": "X", "fields": [array]})
    assert compile_reader(nested) is None
    floating = {"name": "d", "type": "double"}
    double = parse_schema({"type": "record", "name": "Y", "fields": [floating]})
    assert compile_reader(double) is None


def test_codec_decodes_the_same_with_and_without_the_generated_reader() -> None:
    fast, plain = SingleObjectCodec(), SingleObjectCodec(compiled=False)
    n = 0
    for event_type, event in simulated_events(40, 15, 3):
        data = fast.encode(event_type, event)
        assert fast.decode(data) == plain.decode(data)
        n += 1
    assert n > 1000
    data = fast.encode("login", next(ev for t, ev in simulated_events(5, 3, 1) if t == "login"))
    for bad in (data[:-3], data + b"\x00"):
        for codec in (fast, plain):
            with pytest.raises(DecodeError) as exc:
                codec.decode(bad)
            assert exc.value.reason == "malformed"


def test_a_varint_wider_than_64_bits_is_malformed_not_wrapped() -> None:
    # fastavro wraps such a value around (to 0 here); the generated reader refuses it
    reader = compile_reader(parse_schema({"type": "record", "name": "L", "fields": [
        {"name": "n", "type": "long"}]}))  # fmt: skip
    assert reader is not None
    with pytest.raises(ValueError, match="64 bits"):
        reader(b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", 0)
    assert reader(b"\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", 0) == ({"n": 2**63 - 1}, 10)


def test_non_minimal_and_negative_varints_read_as_fastavro_reads_them() -> None:
    # Writers emit minimal varints, which the reader takes in one comparison (union branches)
    # or one shift (small non-negative numbers); every other encoding takes the general path.
    schema = parse_schema({"type": "record", "name": "V", "fields": [
        {"name": "u", "type": ["null", "long", "string"]},
        {"name": "n", "type": "long"},
        {"name": "s", "type": "string"}]})  # fmt: skip
    reader = compile_reader(schema)
    assert reader is not None
    cases = [
        b"\x00\x00\x00",  # null, 0, ""
        b"\x02\x01\x02\x02a",  # branch 1: -1; 1; "a"
        b"\x82\x00\x03\x80\x00\x80\x00",  # branch 1 in two bytes: -2; 0 in two; "" likewise
        b"\x84\x00\x04hi\x7f\x04ok",  # branch 2 in two bytes: "hi"; -64; "ok"
        b"\x02\xff\x01\x00\x00",  # branch 1: -128 (two bytes); 0; ""
    ]
    for data in cases:
        fo = BytesIO(data)
        expected = schemaless_reader(fo, schema, None)
        assert reader(data, 0) == (expected, fo.tell()), data
    with pytest.raises(IndexError):
        reader(b"\x06\x00\x00", 0)  # branch 3 of 3

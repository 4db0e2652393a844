"""Avro single-object encoding, checked against the spec independently of the code under test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from streams.codec import DecodeError, EncodeError, SingleObjectCodec, codec_from_settings
from streams.codec.evolution import sample_record
from streams.codec.schemas import default_schemas, find_schemas_dir, load_schema_set
from streams.embedded.stack import simulated_events
from streams.settings import EVENT_TYPES, Settings, TopicSettings

# --- CRC-64-AVRO written from the Avro specification's pseudo-code ("Schema Fingerprints") ---
EMPTY = 0xC15D213AA4D7A795


def _fp_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
        table.append(fp)
    return table


FP_TABLE = _fp_table()


def crc64_avro(data: bytes) -> int:
    fp = EMPTY
    for byte in data:
        fp = (fp >> 8) ^ FP_TABLE[(fp ^ byte) & 0xFF]
    return fp


def _pcf(schema: object, namespace: str = "") -> str:
    """Parsing Canonical Form for the subset our schemas use (records, enums, unions, names).

    [FULLNAMES] names become full names, the namespace inherited from the enclosing schema;
    [STRIP] only name, type, fields, symbols are kept, in that order; no whitespace.
    """
    if isinstance(schema, str):
        return json.dumps(schema)
    if isinstance(schema, list):
        return "[" + ",".join(_pcf(s, namespace) for s in schema) + "]"
    assert isinstance(schema, dict)
    kind = schema["type"]
    if kind not in ("record", "enum", "fixed", "array", "map"):
        return _pcf(kind, namespace)  # primitive with attributes, e.g. logicalType: stripped
    parts = []
    if "name" in schema:
        name = schema["name"]
        namespace = schema.get("namespace", namespace)
        if "." not in name and namespace:
            name = f"{namespace}.{name}"
        namespace = name.rsplit(".", 1)[0] if "." in name else ""
        parts.append(f'"name":{json.dumps(name)}')
    parts.append(f'"type":{json.dumps(kind)}')
    if kind == "record":
        fields = ",".join(
            '{"name":' + json.dumps(f["name"]) + ',"type":' + _pcf(f["type"], namespace) + "}"
            for f in schema["fields"]
        )
        parts.append(f'"fields":[{fields}]')
    if kind == "enum":
        parts.append('"symbols":' + json.dumps(schema["symbols"], separators=(",", ":")))
    return "{" + ",".join(parts) + "}"


def test_crc64_avro_reference_values() -> None:
    # the fingerprint of the empty input is the algorithm's seed
    assert crc64_avro(b"") == EMPTY


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_header_bytes_match_spec(event_type: str) -> None:
    source = dict(default_schemas().current[event_type].source)
    pcf = _pcf(source)
    assert pcf == default_schemas().current[event_type].canonical_form
    expected = b"\xc3\x01" + crc64_avro(pcf.encode()).to_bytes(8, "little")
    data = SingleObjectCodec().encode(event_type, sample_record(source, 3))
    assert data[:10] == expected


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_round_trip_every_type(event_type: str) -> None:
    codec = SingleObjectCodec()
    source = dict(default_schemas().current[event_type].source)
    for i in range(4):
        record = sample_record(source, i)
        decoded_type, decoded = codec.decode(codec.encode(event_type, record))
        assert decoded_type == event_type
        assert decoded == record
        assert isinstance(decoded["occurred_at"], int)
        assert isinstance(decoded["event_id"], str)


@pytest.fixture(scope="module")
def login_bytes() -> bytes:
    source = dict(default_schemas().current["login"].source)
    return SingleObjectCodec().encode("login", sample_record(source, 1))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not_avro"),
        (b"garbage that is not avro", "not_avro"),
        (b'{"event_type": "login"}', "not_avro"),
        (b"\x00\x00\x00\x00\x01abc", "not_avro"),
        (b"\xc3\x01\x01\x02", "malformed"),
        (b"\xc3\x01" + b"\xff" * 8 + b"body", "unknown_schema"),
    ],
)
def test_bad_bytes_raise_decode_error(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        SingleObjectCodec().decode(data)
    assert info.value.reason == reason
    assert info.value.message


def test_truncated_and_padded_bodies_are_malformed(login_bytes: bytes) -> None:
    codec = SingleObjectCodec()
    for cut in range(11, len(login_bytes)):
        with pytest.raises(DecodeError) as info:
            codec.decode(login_bytes[:cut])
        assert info.value.reason == "malformed", cut
    with pytest.raises(DecodeError, match="trailing"):
        codec.decode(login_bytes + b"\x00")


def test_random_garbage_after_valid_header_never_crashes(login_bytes: bytes) -> None:
    import random

    rng = random.Random(7)
    codec = SingleObjectCodec()
    for _ in range(500):
        data = login_bytes[:10] + bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        try:
            codec.decode(data)
        except DecodeError as exc:
            assert exc.reason == "malformed"


def test_wrong_topic(login_bytes: bytes) -> None:
    topics = TopicSettings(prefix="x.")
    codec = SingleObjectCodec(topics=topics)
    assert codec.decode(login_bytes, "x.login")[0] == "login"
    assert codec.decode(login_bytes, "some.other.topic")[0] == "login"  # not an input topic
    with pytest.raises(DecodeError) as info:
        codec.decode(login_bytes, "x.closure")
    assert info.value.reason == "wrong_topic"


def test_encode_errors() -> None:
    codec = SingleObjectCodec()
    with pytest.raises(EncodeError, match="unknown event type"):
        codec.encode("nope", {})
    with pytest.raises(EncodeError):
        codec.encode("login", {"event_id": 1})


def test_older_writer_from_history_is_resolved_into_current(tmp_path: Path) -> None:
    """Data written with history/login/v1 (no auth_method) decodes with the default filled in."""
    shutil.copytree(find_schemas_dir(), tmp_path, dirs_exist_ok=True)
    old = json.loads((tmp_path / "login.avsc").read_text())
    old["fields"] = [f for f in old["fields"] if f["name"] != "auth_method"]
    # the old writer becomes v1, the current schema v2 (the newest history is always current)
    (tmp_path / "history" / "login" / "v2.avsc").write_text((tmp_path / "login.avsc").read_text())
    (tmp_path / "history" / "login" / "v1.avsc").write_text(json.dumps(old))
    schemas = load_schema_set(tmp_path)
    [v1] = [v for v in schemas.history("login") if "auth_method" not in json.dumps(v.source)]

    # a producer that still only knows v1 writes single-object bytes with v1's fingerprint
    from io import BytesIO

    from fastavro import schemaless_writer

    record = sample_record(old, 2)
    buf = BytesIO(b"\xc3\x01" + crc64_avro(_pcf(old).encode()).to_bytes(8, "little"))
    buf.seek(0, 2)
    schemaless_writer(buf, v1.parsed, record)

    with pytest.raises(DecodeError) as info:  # unknown without the history folder
        SingleObjectCodec().decode(buf.getvalue())
    assert info.value.reason == "unknown_schema"

    event_type, decoded = SingleObjectCodec(schemas).decode(buf.getvalue())
    assert event_type == "login"
    assert decoded == {**record, "auth_method": None}
    # its body is not the current schema's: a sink must encode the decoded record again
    assert SingleObjectCodec(schemas).current_body(buf.getvalue()) is None


def test_current_body_is_the_bytes_after_the_header_for_current_writers() -> None:
    codec = SingleObjectCodec()
    et, ev = next(iter(simulated_events(10, 15, 3)))
    data = codec.encode(et, ev)
    assert codec.current_body(data) == data[10:]
    assert codec.current_body(b"\xc3\x01" + bytes(8) + data[10:]) is None  # unknown writer


def test_codec_from_settings_default_is_single_object() -> None:
    settings = Settings(kafka={"bootstrap_servers": "127.0.0.1:1"})
    assert isinstance(codec_from_settings(settings), SingleObjectCodec)

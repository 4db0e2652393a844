"""Raw-event rows as Avro (the delivered body, four values prepended) equal the column rows."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import reader, schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.codec import SingleObjectCodec
from streams.codec.schemas import default_schemas, find_schemas_dir, load_schema_set
from streams.embedded.stack import simulated_events
from streams.settings import EVENT_TYPES
from streams.sink.avro_rows import AvroEventRows
from streams.sink.batcher import Batcher
from streams.sink.rows import EVENT_COLUMNS, event_values
from streams.store import Store, migrate, open_store
from streams.testing.avro import records

SCHEMAS = default_schemas()
CODEC = SingleObjectCodec(SCHEMAS)
CHANNELS = next(
    f["type"]["symbols"]
    for f in SCHEMAS.current["account_opened"].source["fields"]
    if f["name"] == "channel"
)
#: Event times a ClickHouse DateTime holds (the column path ships seconds as UInt32).
TIMES = st.integers(0, (2**32 - 1) * 1000)

#: (event type, event, encoded bytes or None, opening time, opening channel) as the worker has
#: them: the bytes are missing for an event held since an earlier fetch.
Event = tuple[str, dict[str, Any], bytes | None, int | None, str | None]


@st.composite
def _events(draw: st.DrawFn) -> Event:
    event_type = draw(st.sampled_from(EVENT_TYPES))
    ev = draw(records(event_type, SCHEMAS, occurred_at=TIMES, event_id=st.uuids().map(str)))
    value = CODEC.encode(event_type, ev) if draw(st.booleans()) else None
    opened = draw(st.none() | TIMES)
    return event_type, ev, value, opened, draw(st.none() | st.sampled_from(CHANNELS))


def _read_back(rows: AvroEventRows) -> list[dict[str, Any]]:
    """Every buffered row, as any Avro library reads the containers."""
    out: list[dict[str, Any]] = []
    for _, columns, payload, n in rows.take().containers():
        got: list[dict[str, Any]] = list(reader(BytesIO(payload)))  # type: ignore[arg-type]
        assert len(got) == n and all(tuple(r) == columns for r in got)
        out.extend(got)
    return out


@given(st.lists(_events(), max_size=30))
@settings(max_examples=60, deadline=None)
def test_a_row_is_the_event_with_four_values_prepended(events: list[Event]) -> None:
    rows = AvroEventRows(CODEC, SCHEMAS)
    for event_type, ev, value, opened, channel in events:
        rows.add(event_type, ev, value, opened, channel)
    assert len(rows) == len(events)
    expected = []
    for event_type in EVENT_TYPES:  # one container per event type, in the types' order
        for et, ev, _, opened, channel in events:
            if et == event_type:
                fields = {("occurred_at_ms" if k == "occurred_at" else k): v for k, v in ev.items()}
                expected.append({
                    "event_type": et,
                    "occurred_at": float(ev["occurred_at"] // 1000),
                    "opened_at": float(0 if opened is None else opened // 1000),
                    "opening_channel": channel or "other",
                    **fields,
                })  # fmt: skip
    assert _read_back(rows) == expected
    assert len(rows) == 0  # taken


@given(_events())
@settings(max_examples=40, deadline=None)
def test_the_delivered_body_and_the_record_encoded_again_give_the_same_row(e: Event) -> None:
    event_type, ev, _, opened, channel = e
    rows = AvroEventRows(CODEC, SCHEMAS)
    value = CODEC.encode(event_type, ev)
    assert rows.row(event_type, ev, value, opened, channel) == rows.row(
        event_type, ev, None, opened, channel
    )


def test_an_older_writers_body_is_encoded_again_in_the_current_schema(tmp_path: Path) -> None:
    shutil.copytree(find_schemas_dir(), tmp_path, dirs_exist_ok=True)
    old = json.loads((tmp_path / "login.avsc").read_text())
    old["fields"] = [f for f in old["fields"] if f["name"] != "auth_method"]
    (tmp_path / "history" / "login").mkdir(parents=True, exist_ok=True)
    (tmp_path / "history" / "login" / "v2.avsc").write_text((tmp_path / "login.avsc").read_text())
    (tmp_path / "history" / "login" / "v1.avsc").write_text(json.dumps(old))
    schemas = load_schema_set(tmp_path)
    codec = SingleObjectCodec(schemas)
    [v1] = [v for v in schemas.history("login") if "auth_method" not in json.dumps(v.source)]
    record = next(ev for t, ev in simulated_events(5, 15, 1) if t == "login")
    del record["auth_method"]
    buf = BytesIO()
    buf.write(b"\xc3\x01" + v1.fingerprint)
    schemaless_writer(buf, v1.parsed, record)
    event_type, ev = codec.decode(buf.getvalue())
    assert codec.current_body(buf.getvalue()) is None
    rows = AvroEventRows(codec, schemas)
    rows.add(event_type, ev, buf.getvalue(), None, None)
    [row] = _read_back(rows)
    assert row["auth_method"] is None and row["event_id"] == record["event_id"]
    assert row["occurred_at_ms"] == record["occurred_at"]


# --------------------------------------------------------------------------- on chdb
@pytest.fixture(scope="module")
def two_stores(chdb_root: Path) -> Iterator[tuple[Store, Store]]:
    """The events table twice: written through columns, and through Avro."""
    with (
        open_store(f"chdb://{chdb_root}?database=avro_rows_columns") as columns,
        open_store(f"chdb://{chdb_root}?database=avro_rows_avro") as avro,
    ):
        migrate(columns)
        migrate(avro)
        yield columns, avro
        columns.execute("DROP DATABASE avro_rows_columns")
        avro.execute("DROP DATABASE avro_rows_avro")


def _both_ways(stores: tuple[Store, Store], events: list[Event]) -> tuple[list[Any], list[Any]]:
    by_columns, by_avro = stores
    out = []
    for store in stores:
        store.execute("TRUNCATE TABLE events")
    b = Batcher(by_columns)
    b.add_tuples("events", EVENT_COLUMNS, [event_values(t, ev, o, c) for t, ev, _, o, c in events])
    assert b.flush() == len(events)
    a = Batcher(by_avro)
    rows = AvroEventRows(CODEC, SCHEMAS)
    a.encoded("events", rows)
    for event_type, ev, value, opened, channel in events:
        rows.add(event_type, ev, value, opened, channel)
    assert (a.pending, a.flush()) == (len(events), len(events))
    for store in stores:
        out.append(store.execute("SELECT * EXCEPT ingested_at FROM events ORDER BY event_id"))
    return out[0], out[1]


def test_simulated_events_land_as_the_same_rows_both_ways(two_stores: tuple[Store, Store]) -> None:
    events: list[Event] = []
    opened: dict[str, tuple[int, str]] = {}
    for i, (event_type, ev) in enumerate(simulated_events(60, 15, 11)):
        if event_type == "account_opened":
            opened.setdefault(ev["customer_id"], (ev["occurred_at"], ev["channel"]))
        o, c = opened.get(ev["customer_id"], (None, None))
        value = CODEC.encode(event_type, ev) if i % 7 else None  # some re-encoded
        events.append((event_type, ev, value, o, c))
    by_columns, by_avro = _both_ways(two_stores, events)
    assert len(by_avro) == len(events) > 1000
    assert by_avro == by_columns


@given(st.lists(_events(), min_size=1, max_size=15, unique_by=lambda e: e[1]["event_id"]))
@settings(max_examples=25, deadline=None)
def test_any_valid_events_land_as_the_same_rows_both_ways(
    two_stores: tuple[Store, Store], events: list[Event]
) -> None:
    by_columns, by_avro = _both_ways(two_stores, events)
    assert by_avro == by_columns

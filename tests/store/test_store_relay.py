"""The query relay: read-only queries on a chdb folder another process owns, through it.

The owner is a real second process (``streams.testing.relay_owner``) that opens the folder with
the worker's own ``prepare_store`` (so the relay starts as under ``journey up``) and answers
direct queries; this process only ever reaches the folder through ``open_store``, as an
analyst's ``journey query`` does, and compares.
"""

from __future__ import annotations

import datetime as dt
import http.client
import importlib.util
import json
import math
import os
import pickle
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from streams.store import QueryResult, StoreError, open_store
from streams.store.embedded import EmbeddedStore, FolderOwnedError
from streams.store.relay import (
    RELAY_FILE,
    RelayInfo,
    RelayStore,
    decode_result,
    decode_value,
    encode_result,
    encode_value,
    read_only_problem,
    read_relay_file,
)
from streams.testing.relay_owner import Owner

POPULATION = str(Path(__file__).resolve().parents[1] / "analytics")

# Every type the Native decoder returns, with the awkward values (NaN, infinities, -0.0,
# invalid UTF-8, extreme integers, Decimal scale, nested tuples/maps with non-string keys).
ZOO = r"""
SELECT
    number AS n,
    toDateTime('2024-02-29 23:59:59', 'UTC') + number AS dt,
    toDateTime64('2024-01-01 00:00:00.123456', 6, 'UTC') AS dt64,
    toDate('2024-03-01') AS d,
    toDate32('1900-01-01') AS d32,
    toDecimal64('-12.3400', 4) AS dec,
    toDecimal128('1234567890123456789.0123456789', 10) AS dec128,
    toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS u,
    (toInt8(-1), 'x', [toDate('2024-01-01')]) AS tup,
    [nan, inf, -inf, -0., 0.1, NULL] AS floats,
    toFloat32(0.1) AS f32,
    map('a', toUInt64(18446744073709551615), 'b', toUInt64(0)) AS m,
    map(toUUID('00000000-0000-0000-0000-000000000001'), toDate('2024-01-01')) AS m2,
    toLowCardinality(toNullable(if(number = 1, NULL, 'lc'))) AS lc,
    CAST('closure', 'Enum8(\'closure\' = 1, \'other\' = 2)') AS e,
    toInt128('-170141183460469231731687303715884105728') AS i128,
    toUInt256('115792089237316195423570985008687907853269984665640564039457584007913129639935')
        AS u256,
    toIPv4('10.0.0.1') AS ip4,
    toIPv6('::1') AS ip6,
    number % 2 = 0 AS b,
    toFixedString('ab', 4) AS fs,
    unhex('ff61') AS bad_utf8,
    'ünï "q" \\ \n\t' AS s,
    NULL AS nothing,
    CAST(NULL, 'Nullable(DateTime(\'UTC\'))') AS ndt
FROM numbers(3)
ORDER BY n
"""


def population() -> Any:
    """tests/analytics/analytics_population.py (the bank the owner loads)."""
    if "analytics_population" not in sys.modules:
        path = f"{POPULATION}/analytics_population.py"
        spec = importlib.util.spec_from_file_location("analytics_population", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # (its dataclasses look their module up)
        spec.loader.exec_module(module)
    return sys.modules["analytics_population"]


def same(a: QueryResult, b: QueryResult) -> None:
    """Equal columns and types, and rows equal value by value *and* type by type (repr)."""
    assert (a.columns, a.types) == (b.columns, b.types)
    assert repr(a.rows) == repr(b.rows)


@pytest.fixture(scope="module")
def owner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Owner]:
    folder = tmp_path_factory.mktemp("relay") / "chdb"
    with Owner(folder) as proc:
        proc.call(op="load", database="default", population=POPULATION, rollups=True)
        yield proc


@pytest.fixture
def relay(owner: Owner) -> Iterator[RelayStore]:
    store = open_store(f"chdb://{owner.folder}")
    assert isinstance(store, RelayStore)
    yield store
    store.close()


# -- the read-only rule -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  (SELECT 1) UNION ALL (SELECT 2)",
        "-- a comment\n/* another /* nested */ one */ select 1;",
        "# hash comment\nWITH 1 AS x SELECT x",
        "SHOW TABLES",
        "DESCRIBE TABLE events",
        "desc events",
        "EXISTS TABLE events",
        "SELECT ';' AS a, 'INTO OUTFILE' AS b, `into` FROM t",
        "SELECT $$; DROP TABLE x$$",
    ],
)
def test_read_only_statements_pass(sql: str) -> None:
    assert read_only_problem(sql) is None


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("INSERT INTO events VALUES (1)", "INSERT is not a read-only statement"),
        ("CREATE TABLE x (a UInt8) ENGINE = Memory", "CREATE is not"),
        ("drop table events", "DROP is not"),
        ("ALTER TABLE events DELETE WHERE 1", "ALTER is not"),
        ("SET readonly = 0", "SET is not"),
        ("USE system", "USE is not"),
        ("KILL QUERY WHERE 1", "KILL is not"),
        ("OPTIMIZE TABLE events FINAL", "OPTIMIZE is not"),
        ("SYSTEM FLUSH LOGS", "SYSTEM is not"),
        ("/* SELECT */ DROP TABLE events", "DROP is not"),
        ("-- SELECT\nTRUNCATE TABLE events", "TRUNCATE is not"),
        ("'SELECT' DROP", "' is not"),
        ("SELECT 1; DROP TABLE events", "one statement at a time"),
        ("SELECT 1;\n-- fine\n; SELECT 2", "one statement at a time"),
        ("SELECT 1 INTO OUTFILE '/tmp/x.csv'", "INTO OUTFILE"),
        # the quote inside the heredoc must not swallow the INTO OUTFILE that follows it
        ("SELECT $$'$$ INTO OUTFILE '/tmp/x' --'", "INTO OUTFILE"),
        ("SELECT 1 /* a /* b */ ' */ INTO OUTFILE 'x' --'", "INTO OUTFILE"),
        ("SELECT 'unterminated", "unterminated ' quote"),
        ("  -- nothing\n", "empty query"),
    ],
)
def test_anything_else_is_refused(sql: str, why: str) -> None:
    problem = read_only_problem(sql)
    assert problem is not None and why in problem


# -- values in JSON ---------------------------------------------------------------------------
def test_values_round_trip_through_strict_json() -> None:
    values = [
        None, True, False, 0, -(2**255), 2**256 - 1, 0.1, -0.0, math.inf, -math.inf, "",
        "ünï \udcff \x00", Decimal("1.2300"), Decimal("-1E+2"),
        dt.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=dt.UTC), dt.datetime(2024, 1, 1),
        dt.date(1900, 1, 1), uuid.UUID(int=1), [1, [None, "a"]], (1, ("x", [])), (),
        {1: "a", "k": [dt.date(2024, 1, 1)]}, {uuid.UUID(int=2): (1.5, None)}, b"\x00\xff",
    ]  # fmt: skip
    text = json.dumps([encode_value(v) for v in values], allow_nan=False, ensure_ascii=True)
    back = [decode_value(v) for v in json.loads(text, parse_constant=float)]
    assert repr(back) == repr(values)
    assert back[14].tzinfo is dt.UTC and back[15].tzinfo is None
    nan = decode_value(json.loads(json.dumps(encode_value(math.nan))))
    assert isinstance(nan, float) and math.isnan(nan)


def test_unsupported_values_are_refused() -> None:
    with pytest.raises(StoreError, match="cannot send a set through the query relay"):
        encode_value({1, 2})
    with pytest.raises(StoreError, match="cannot read"):
        decode_value({"$": "frobnicate", "v": 1})


def test_result_codec_keeps_the_shape() -> None:
    r = QueryResult(columns=["a", "b"], types=["Tuple(UInt8)", "Float64"], rows=[((1,), math.inf)])
    back = decode_result(json.loads(json.dumps(encode_result(r), allow_nan=False)))
    assert back == r and isinstance(back.rows[0], tuple)


# -- through a real owner ---------------------------------------------------------------------
def test_open_store_goes_through_the_owner(owner: Owner, relay: RelayStore) -> None:
    info = read_relay_file(str(owner.folder))
    assert info is not None and info.pid == owner.pid == relay.owner_pid
    # 0600: the token is for the folder's user only
    assert stat.S_IMODE(os.stat(owner.folder / RELAY_FILE).st_mode) == 0o600
    sql = "SELECT count(), uniqExact(customer_id) FROM events FINAL"
    through = relay.execute(sql)
    assert through == owner.query(sql).rows and through[0][1] == 7  # the seven customers
    assert 20 < through[0][0] <= len(population().event_rows())
    assert relay.server_version().startswith("26.")
    relay.ping()


def test_every_type_comes_back_as_a_direct_query_gives_it(owner: Owner, relay: RelayStore) -> None:
    direct = owner.query(ZOO)
    through = relay.query_columns(ZOO)
    assert len(through.rows) == 3
    same(through, direct)
    row = through.rows[0]
    assert row[1] == dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=dt.UTC)
    assert row[5] == Decimal("-12.3400") and str(row[5]) == "-12.3400"
    assert math.isnan(row[9][0]) and row[9][1:5] == [math.inf, -math.inf, -0.0, 0.1]
    assert math.copysign(1, row[9][3]) == -1 and row[9][5] is None
    assert row[11] == {"a": 2**64 - 1, "b": 0} and row[15] == -(2**127)
    assert row[21] == "\udcffa"  # invalid UTF-8 kept as the direct decoder keeps it
    assert through.rows[1][13] is None  # a NULL in LowCardinality(Nullable(String))


def test_empty_results_keep_their_columns(owner: Owner, relay: RelayStore) -> None:
    sql = "SELECT customer_id, opened_at FROM customer_state WHERE customer_id = 'nobody'"
    through = relay.query_columns(sql)
    assert through.columns == ["customer_id", "opened_at"] and through.rows == []
    same(through, owner.query(sql))


def test_parameters_stay_query_parameters(relay: RelayStore) -> None:
    sql = ("SELECT {s:String} AS s, {i:Int64} AS i, {u:UInt64} AS u, {f:Float64} AS f, "
           "{d:Date} AS d, {t:DateTime('UTC')} AS t, {id:UUID} AS id, "
           "{a:Array(Nullable(String))} AS a, {n:Nullable(Int32)} AS n, {b:Bool} AS b")  # fmt: skip
    hostile = "x' OR 1=1 -- {s:String}"
    params = {
        "s": hostile, "i": -5, "u": 2**64 - 1, "f": 0.5, "d": dt.date(2024, 2, 29),
        "t": dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC), "id": uuid.UUID(int=7),
        "a": ["a", None], "n": None, "b": True,
    }  # fmt: skip
    assert relay.execute(sql, params) == [(
        hostile, -5, 2**64 - 1, 0.5, dt.date(2024, 2, 29),
        dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC), uuid.UUID(int=7), ["a", None], None, True,
    )]  # fmt: skip
    found = relay.execute("SELECT count() FROM customer_state FINAL WHERE segment = {s:String}",
                          {"s": "mass' OR 1=1 --"})  # fmt: skip
    assert found == [(0,)]
    # the owner checks types as strictly as a direct query does
    with pytest.raises(StoreError, match=r"parameter 'i' \(Int64\): expected int, got str"):
        relay.execute("SELECT {i:Int64}", {"i": "5"})
    with pytest.raises(StoreError, match="missing query parameter"):
        relay.execute("SELECT {i:Int64}")


def test_owner_errors_come_back_as_store_errors(relay: RelayStore) -> None:
    with pytest.raises(StoreError) as err:
        relay.execute("SELECT * FROM no_such_table")
    assert err.value.code == 60 and "no_such_table" in err.value.message


def test_writes_are_refused_by_client_and_owner(owner: Owner, relay: RelayStore) -> None:
    with pytest.raises(StoreError, match=r"inserts into the embedded store at \S+ go through"):
        relay.insert("events", ["customer_id"], [["x"]])
    with pytest.raises(StoreError, match=rf"DROP is not a read-only .* process {owner.pid} "):
        relay.execute("DROP TABLE events")
    # the owner refuses too, whatever the client checks
    out = owner.folder.parent / "relay-out.csv"
    for sql, why in (("DROP TABLE events", "DROP is not a read-only statement"),
                     ("SELECT 1; DROP TABLE events", "one statement at a time"),
                     (f"SELECT 1 INTO OUTFILE '{out}'", "INTO OUTFILE")):  # fmt: skip
        status, body = raw_post(relay, "/v1/query", {"database": "default", "sql": sql})
        assert status == 400 and why in body["error"], body
    assert "events" in owner.call(op="tables")["tables"]
    assert not out.exists()
    # and the session it runs queries on is read-only in the engine; the worker's is not
    sql = "SELECT toUInt8(getSetting('readonly'))"
    assert relay.execute(sql) == [(2,)] and owner.query(sql).rows == [(0,)]


def raw_post(store: RelayStore, path: str, body: dict[str, Any],
             token: str | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", store.info.port, timeout=30)
    headers = {} if token == "" else {"Authorization": f"Bearer {token or store.info.token}"}
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    return response.status, data


def test_a_wrong_token_is_rejected(relay: RelayStore) -> None:
    query = {"database": "default", "sql": "SELECT count() FROM events"}
    assert raw_post(relay, "/v1/query", query)[0] == 200
    for token in ("", "not-the-token", relay.info.token + "x"):
        status, body = raw_post(relay, "/v1/query", query, token=token)
        assert (status, body) == (403, {"error": "wrong or missing query relay token"})
    forged = RelayStore(relay.folder, "default", RelayInfo(relay.info.pid, relay.info.port, "x"))
    with pytest.raises(StoreError, match="wrong or missing query relay token"):
        forged.execute("SELECT 1")


def test_read_only_sessions_refuse_writes_in_the_engine(chdb_root: Path) -> None:
    # The relay's second line of defence: its sessions run with readonly = 2 (this process's
    # own chdb folder here; the owner does the same on its folder).
    database = "t_ro_" + uuid.uuid4().hex[:12]
    with EmbeddedStore(str(chdb_root), database) as writer:
        writer.execute("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
        with EmbeddedStore(str(chdb_root), database, read_only=True) as ro:
            for sql in ("INSERT INTO t VALUES (1)", "CREATE TABLE u (x UInt8) ENGINE = Memory",
                        "SELECT 1 SETTINGS readonly = 0"):  # fmt: skip
                with pytest.raises(StoreError) as err:
                    ro.execute(sql)
                assert err.value.code == 164, err.value.message  # READONLY
            assert ro.execute("SELECT count() FROM t SETTINGS max_threads = 1") == [(0,)]
        writer.insert("t", ["x"], [[1, 2]])  # other sessions are not read-only
        assert writer.execute("SELECT sum(x) FROM t") == [(3,)]
        writer.execute(f"DROP DATABASE `{database}`")


def test_roll_ups_are_created_by_the_owner_on_first_use(owner: Owner) -> None:
    from streams.analytics.rollup import ensure_rollups

    owner.call(op="load", database="fresh", population=POPULATION, rollups=False)
    assert "customer_activity" not in owner.call(op="tables", database="fresh")["tables"]
    store = open_store(f"chdb://{owner.folder}?database=fresh")
    assert isinstance(store, RelayStore)
    with pytest.raises(StoreError, match="CREATE is not a read-only statement"):
        store.execute("CREATE TABLE IF NOT EXISTS customer_activity (x UInt8) ENGINE = Memory")
    filled = ensure_rollups(store)
    assert "customer_activity" in filled
    tables = owner.call(op="tables", database="fresh")["tables"]
    assert {"customer_activity", "customer_activity_mv"} <= set(tables)
    assert ensure_rollups(store) == []  # idempotent: no second back-fill
    sql = "SELECT count() FROM customer_activity FINAL"
    assert store.execute(sql) == [(7,)] == owner.query(sql, "fresh").rows


def test_queries_do_not_hold_up_the_workers_inserts(owner: Owner, relay: RelayStore) -> None:
    # A two-second analyst query runs on a session of its own: the worker's store inserts at
    # once meanwhile (one shared session would make the insert wait the two seconds).
    result: list[Any] = []
    slow = threading.Thread(target=lambda: result.append(relay.execute("SELECT sleep(2)")))
    started = time.monotonic()
    slow.start()
    time.sleep(0.5)
    seconds = owner.call(op="insert", rows=1000)["seconds"]
    slow.join()
    assert result == [[(0,)]] and time.monotonic() - started >= 2
    assert seconds < 1.0, seconds


# -- stale relay files and clean shutdown -----------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_relay(folder: Path, pid: int, port: int, token: str = "t") -> None:
    body = {"protocol": 1, "pid": pid, "host": "127.0.0.1", "port": port, "token": token}
    (folder / RELAY_FILE).write_text(json.dumps(body))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_stale_relay_file_gives_the_old_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "chdb"
    with Owner(folder, relay=False):  # a script holding the folder, serving nothing
        with pytest.raises(FolderOwnedError) as err:
            open_store(f"chdb://{folder}")
        assert "another process owns the embedded store" in err.value.message
        assert err.value.detail == "" and err.value.retryable
        again = pickle.loads(pickle.dumps(err.value))  # (errors cross process pools)
        assert type(again) is FolderOwnedError and again.message == err.value.message
        dead = _dead_pid()
        _write_relay(folder, dead, _free_port())
        with pytest.raises(FolderOwnedError) as err:
            open_store(f"chdb://{folder}")
        assert err.value.detail == (
            f"the query relay file names process {dead}, which is not running"
        )
        _write_relay(folder, os.getpid(), _free_port())  # alive, but serves no relay
        with pytest.raises(FolderOwnedError, match="does not answer"):
            open_store(f"chdb://{folder}")


def test_clean_close_removes_the_relay_file(tmp_path: Path) -> None:
    folder = tmp_path / "chdb"
    with Owner(folder) as proc:
        info = read_relay_file(str(folder))
        assert info is not None and info.pid == proc.pid
        store = open_store(f"chdb://{folder}")
        assert store.execute("SELECT 41 + 1") == [(42,)]
        proc.call(op="close")
        assert not (folder / RELAY_FILE).exists()
        with pytest.raises(StoreError, match="does not answer"):
            store.execute("SELECT 1")  # the relay stopped with the store
        assert sorted(p.name for p in folder.iterdir() if "relay" in p.name) == []


def test_a_killed_owner_leaves_a_file_the_next_opener_removes(tmp_path: Path) -> None:
    folder = tmp_path / "chdb"
    owner = Owner(folder)
    owner.kill()  # SIGKILL: the file stays, the lock goes with the process
    assert read_relay_file(str(folder)) is not None
    # A new process opens the folder itself (nobody owns it now) and drops the stale file.
    done = subprocess.run(
        [sys.executable, "-c",
         f"from streams.store import open_store; s = open_store('chdb://{folder}'); "
         "print(type(s).__name__, s.execute('SELECT 7')[0][0])"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["EmbeddedStore", "7"]
    assert not (folder / RELAY_FILE).exists()

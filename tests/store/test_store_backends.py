"""Behaviour every backend must share, run once against the 18.16 server and once against chdb."""

from __future__ import annotations

import datetime as dt

import pytest

from streams.store import Store, StoreError, migrate
from streams.store.params import ParameterError

UTC = dt.UTC
T0 = dt.datetime(2024, 1, 15, 9, 0, tzinfo=UTC)

EVENT_COLUMNS = [
    "event_id", "event_type", "customer_id", "account_id", "occurred_at", "occurred_at_ms",
    "opened_at", "opening_channel", "channel", "product", "amount_minor", "balance_after_minor",
]  # fmt: skip


def ev(eid: str, etype: str, cust: str, day: float, opened_day: float, opening: str,
       channel: str, amount: int = 0, balance: int | None = None) -> list[object]:  # fmt: skip
    occurred = T0 + dt.timedelta(days=day)
    opened = T0 + dt.timedelta(days=opened_day)
    acct = f"a-{cust}" if etype != "login" else None
    product = "current_account" if etype == "account_opened" else ""
    ms = int(occurred.timestamp() * 1000)
    row = [eid, etype, cust, acct, occurred, ms, opened, opening, channel, product]
    return [*row, amount, balance]


# Two January cohorts: c1 opened in branch, c2 online; c3 opened in February online.
ROWS = [
    ev("e1", "account_opened", "c1", 0, 0, "branch", "branch"),
    ev("e2", "login", "c1", 1, 0, "branch", "mobile"),
    ev("e3", "transaction", "c1", 2, 0, "branch", "pos", 1250, 8750),
    ev("e4", "transaction", "c1", 2.5, 0, "branch", "online", 500, 8250),
    ev("e5", "account_opened", "c2", 3, 3, "online", "online"),
    ev("e6", "login", "c2", 3, 3, "online", "online"),
    ev("e7", "closure", "c2", 40, 3, "online", "contact_centre"),
    ev("e8", "account_opened", "c3", 20, 20, "online", "online"),
]


def columns(rows: list[list[object]]) -> list[list[object]]:
    return [list(col) for col in zip(*rows, strict=True)]


@pytest.fixture
def migrated(store: Store) -> Store:
    migrate(store)
    return store


def test_ping_and_version(store: Store) -> None:
    store.ping()
    major = int(store.server_version().split(".")[0])
    assert major in (18, 26) or major > 18


def test_columnar_insert_then_exact_results(migrated: Store) -> None:
    assert migrated.insert("events", EVENT_COLUMNS, columns(ROWS)) == len(ROWS)
    res = migrated.query_columns(
        "SELECT customer_id, count() AS n, sum(amount_minor) AS amount, "
        "min(occurred_at) AS first, max(balance_after_minor) AS bal "
        "FROM events FINAL GROUP BY customer_id ORDER BY customer_id"
    )
    assert res.columns == ["customer_id", "n", "amount", "first", "bal"]
    assert res.rows == [
        ("c1", 4, 1750, T0, 8750),
        ("c2", 3, 0, T0 + dt.timedelta(days=3), None),
        ("c3", 1, 0, T0 + dt.timedelta(days=20), None),
    ]
    # Enum names, Nullable, DateTime('UTC') defaults and typed params round-trip identically.
    row = migrated.execute(
        "SELECT event_type, channel, account_id, opened_at, region "
        "FROM events WHERE event_id = {id:String}",
        {"id": "e2"},
    )
    assert row == [("login", "mobile", None, T0, "")]


def test_reinsert_then_final_is_idempotent(migrated: Store) -> None:
    q = (
        "SELECT toStartOfMonth(opened_at) AS cohort, event_type, count() AS n "
        "FROM events FINAL GROUP BY cohort, event_type ORDER BY cohort, event_type"
    )
    migrated.insert("events", EVENT_COLUMNS, columns(ROWS))
    first = migrated.execute(q)
    migrated.insert("events", EVENT_COLUMNS, columns(ROWS))  # the whole batch re-delivered
    migrated.insert("events", EVENT_COLUMNS, columns(ROWS[2:4]))  # and part of it again
    assert migrated.execute("SELECT count() FROM events")[0][0] >= len(ROWS)  # before merges
    assert migrated.execute(q) == first
    assert first == [
        (dt.date(2024, 1, 1), "account_opened", 2),
        (dt.date(2024, 1, 1), "login", 2),
        (dt.date(2024, 1, 1), "transaction", 2),
        (dt.date(2024, 1, 1), "closure", 1),
        (dt.date(2024, 2, 1), "account_opened", 1),
    ]
    assert migrated.execute("SELECT uniqExact(event_id) FROM events") == [(len(ROWS),)]


def test_materialized_view_counts_are_dedup_safe(migrated: Store) -> None:
    for _ in range(3):  # every batch delivered three times
        migrated.insert("events", EVENT_COLUMNS, columns(ROWS))
    res = migrated.execute(
        "SELECT open_month, opening_channel, uniqExactMerge(customers) AS customers, "
        "uniqExactMerge(events) AS events FROM cohort_daily "
        "GROUP BY open_month, opening_channel ORDER BY open_month, opening_channel"
    )
    assert res == [
        (dt.date(2024, 1, 1), "branch", 1, 4),
        (dt.date(2024, 1, 1), "online", 1, 3),
        (dt.date(2024, 2, 1), "online", 1, 1),
    ]
    daily = migrated.execute(
        "SELECT day, uniqExactMerge(events) FROM cohort_daily "
        "WHERE event_type = {t:String} GROUP BY day ORDER BY day",
        {"t": "transaction"},
    )
    assert daily == [(dt.date(2024, 1, 17), 2)]


@pytest.mark.parametrize(
    "attack", ["x' OR 1=1 --", "x'; DROP TABLE events; --", "\\' OR 1=1", "c1'"]
)
def test_parameters_bind_injection_attempts_as_plain_strings(migrated: Store, attack: str) -> None:
    migrated.insert("events", EVENT_COLUMNS, columns(ROWS))
    assert migrated.execute("SELECT {s:String} AS s", {"s": attack}) == [(attack,)]
    n = migrated.execute("SELECT count() FROM events WHERE customer_id = {c:String}", {"c": attack})
    assert n == [(0,)]
    assert migrated.execute("SELECT count() FROM events") == [(len(ROWS),)]


def test_typed_parameters_on_both_engines(store: Store) -> None:
    got = store.execute(
        "SELECT {s:String}, {n:UInt8}, {i:Int64}, {f:Float64}, {d:Date}, "
        "{t:DateTime('UTC')}, {a:Array(String)}, {z:Nullable(String)}, {e:Array(UInt32)}",
        {
            "s": "tab\there\nnew 'q' \\ {x:String}",
            "n": 255,
            "i": -(2**63),
            "f": 0.25,
            "d": dt.date(2024, 2, 29),
            "t": dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "a": ["a'b", "", "c\\d"],
            "z": None,
            "e": [],
        },
    )
    assert got == [
        (
            "tab\there\nnew 'q' \\ {x:String}",
            255,
            -(2**63),
            0.25,
            dt.date(2024, 2, 29),
            dt.datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
            ["a'b", "", "c\\d"],
            None,
            [],
        )
    ]
    assert store.execute("SELECT number FROM system.numbers LIMIT {n:UInt32}", {"n": 2}) == [
        (0,),
        (1,),
    ]


def test_parameter_errors_are_clear(store: Store) -> None:
    with pytest.raises(ParameterError, match="out of range"):
        store.execute("SELECT {n:UInt8}", {"n": 300})
    with pytest.raises(ParameterError, match="expected int"):
        store.execute("SELECT {n:Int64}", {"n": "1 OR 1=1"})
    with pytest.raises(ParameterError, match="missing"):
        store.execute("SELECT {n:Int64}")
    with pytest.raises(ParameterError, match="not used"):
        store.execute("SELECT 1", {"n": 1})


def test_empty_result_keeps_column_names(store: Store) -> None:
    res = store.query_columns(
        "SELECT number AS n, toString(number) AS s FROM numbers(10) WHERE number > 100"
    )
    assert res.columns == ["n", "s"] and res.types == ["UInt64", "String"] and res.rows == []


def test_sql_error_is_not_retryable(store: Store) -> None:
    with pytest.raises(StoreError) as info:
        store.execute("SELECT * FROM no_such_table")
    assert info.value.retryable is False
    assert info.value.code == 60
    assert "no_such_table" in str(info.value)


def test_ragged_insert_is_refused(migrated: Store) -> None:
    with pytest.raises(StoreError, match="different lengths"):
        migrated.insert("events", ["event_id", "customer_id"], [["a", "b"], ["c"]])


def test_numpy_columns(migrated: Store) -> None:
    np = pytest.importorskip("numpy")
    n = 1000
    migrated.insert(
        "customer_state",
        ["customer_id", "opened_at", "opening_channel", "products", "version", "risk_score"],
        [
            np.array([f"c{i % 10}" for i in range(n)], dtype=object),
            np.array([T0.replace(tzinfo=None)] * n, dtype="datetime64[s]"),
            np.array(["online"] * n, dtype=object),
            np.array([["savings"]] * n + [[]], dtype=object)[:n],
            np.arange(n, dtype=np.uint64),
            np.linspace(0, 1, n, dtype=np.float32),
        ],
    )
    rows = migrated.execute(
        "SELECT customer_id, version, opened_at FROM customer_state FINAL ORDER BY customer_id"
    )
    assert rows[0] == ("c0", 990, T0) and rows[-1] == ("c9", 999, T0) and len(rows) == 10


def test_closed_store_refuses(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.execute("SELECT 1")


def test_naive_datetimes_are_utc_on_every_backend(migrated: Store) -> None:
    naive = dt.datetime(2024, 3, 1, 12, 30)
    migrated.insert(
        "customer_state",
        ["customer_id", "opened_at", "opening_channel", "funded_at", "version"],
        [["c1", "c2"], [naive, T0], ["branch", "mobile"], [None, naive], [1, 1]],
    )
    rows = migrated.execute("SELECT opened_at, funded_at FROM customer_state ORDER BY customer_id")
    assert rows == [(naive.replace(tzinfo=UTC), None), (T0, naive.replace(tzinfo=UTC))]

"""A seven-customer bank, written by hand, that every analytics test reads.

Every expected number in ``tests/analytics`` is worked out from this file by reasoning (the
working is in each test's comments), never copied from a query's output.  Times: each customer
opens at 12:00 UTC on their opening day; an event "on day d" happens at opening + d days + 1 h,
so its day since opening is exactly d (whole 24-hour days, as in docs/rules.md).  The data's
"now" (``AS_OF``) is 2024-07-01 00:00 UTC, so tenures are whole days minus half a day: c1, opened
2024-01-01 12:00, has a tenure of 181 days.

====  =========  =======  ========  ======  ======  =======  ==================================
id    opened     channel  segment   region  branch  product  story
====  =========  =======  ========  ======  ======  =======  ==================================
c1    Jan 1      branch   mass      north   b1      current  login d1, credit d2, card d3/10/40/100
c2    Jan 10     online   mass      south   -       current  login d0, closure d20
c3    Jan 20     mobile   premium   north   -       savings  credit d5, login d35, dormancy d95,
                                                             closure d150 (2nd episode)
c4    Feb 5      branch   premium   south   b2      current  login d2, direct deposit d8, bill pay
                                                             d15/20/25/30/65, complaint d10
                                                             (fees) resolved d12
c5    Feb 15     online   mass      north   -       current  complaint d3 (service, open), ATM d4,
                                                             closure d30
c6    Mar 1      online   mass      south   -       current  credit d1, interest d20, drained d50
c7    Mar 10     mobile   mass      north   -       savings  login d0, card + credit d1, transfer
                                                             out to another bank d86, outbound d100
====  =========  =======  ========  ======  ======  =======  ==================================

Days since 2024-01-01 of each opening: c1 0, c2 9, c3 19, c4 35, c5 45, c6 60, c7 69 (2024 is a
leap year).  Tenures at AS_OF: c1 181, c2 172, c3 162, c4 146, c5 136, c6 121, c7 112.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from streams.analytics.rollup import ensure_rollups
from streams.store import Store, migrate

UTC = dt.UTC
AS_OF = dt.datetime(2024, 7, 1, tzinfo=UTC)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Customer:
    id: str
    opened: dt.datetime
    channel: str
    segment: str
    region: str
    branch: str
    product: str
    stage: str


def _open(month: int, day: int) -> dt.datetime:
    return dt.datetime(2024, month, day, 12, tzinfo=UTC)


CUSTOMERS = [
    Customer("c1", _open(1, 1), "branch", "mass", "north", "b1", "current", "sticky"),
    Customer("c2", _open(1, 10), "online", "mass", "south", "", "current", "defected"),
    Customer("c3", _open(1, 20), "mobile", "premium", "north", "", "savings", "defected"),
    Customer("c4", _open(2, 5), "branch", "premium", "south", "b2", "current", "engaged"),
    Customer("c5", _open(2, 15), "online", "mass", "north", "", "current", "defected"),
    Customer("c6", _open(3, 1), "online", "mass", "south", "", "current", "defected"),
    Customer("c7", _open(3, 10), "mobile", "mass", "north", "", "savings", "defected"),
]
BY_ID = {c.id: c for c in CUSTOMERS}


@dataclass
class Ev:
    """One raw event on day ``day`` of customer ``cust`` (fields not given take defaults)."""

    cust: str
    day: int
    event_type: str
    channel: str = "online"
    fields: dict[str, Any] = field(default_factory=dict)


def login(cust: str, day: int, channel: str = "online") -> Ev:
    return Ev(cust, day, "login", channel, {"success": 1})


def tx(cust: str, day: int, kind: str, direction: str, ci: int, channel: str, **kw: Any) -> Ev:
    return Ev(cust, day, "transaction", channel, {
        "kind": kind, "direction": direction, "customer_initiated": ci, "amount_minor": 10_000,
        **kw,
    })  # fmt: skip


EVENTS = [
    *[
        Ev(
            c.id,
            0,
            "account_opened",
            c.channel,
            {"is_new_customer": 1, "product": c.product, "segment": c.segment},
        )
        for c in CUSTOMERS
    ],
    # c1: activated d1 (login online = digital), funded d2, debit card d3 -> sticky d3,
    # 5th customer-initiated transaction on d100 (engaged late).
    login("c1", 1),
    tx("c1", 2, "transfer_in", "credit", 1, "branch"),
    tx("c1", 3, "card_purchase", "debit", 1, "pos"),
    tx("c1", 10, "card_purchase", "debit", 1, "pos"),
    tx("c1", 40, "card_purchase", "debit", 1, "pos"),
    tx("c1", 100, "card_purchase", "debit", 1, "pos"),
    # c2: one online login on the opening day, then a closure.
    login("c2", 0),
    Ev("c2", 20, "closure", "contact_centre", {"reason": "switched_bank", "last_account": 1}),
    # c3: funded in branch d5 (activated, funded), mobile login d35.
    tx("c3", 5, "transfer_in", "credit", 1, "branch"),
    login("c3", 35, "mobile"),
    # c4: online login d2, direct deposit d8 (bank-initiated: funds, sticky, not activity),
    # online bill payments d15..d65 (5th on d65 -> engaged), a fees complaint d10 resolved d12.
    login("c4", 2),
    tx("c4", 8, "direct_deposit", "credit", 0, "batch"),
    *[tx("c4", d, "bill_pay", "debit", 1, "online") for d in (15, 20, 25, 30, 65)],
    Ev(
        "c4",
        10,
        "complaint",
        "contact_centre",
        {"complaint_id": "k4", "category": "fees", "severity": "medium", "status": "opened"},
    ),
    Ev(
        "c4",
        12,
        "complaint",
        "contact_centre",
        {"complaint_id": "k4", "category": "fees", "severity": "medium", "status": "resolved"},
    ),
    # c5: a service complaint d3 never resolved, one ATM withdrawal d4, closure d30.
    Ev(
        "c5",
        3,
        "complaint",
        "contact_centre",
        {"complaint_id": "k5", "category": "service", "severity": "high", "status": "opened"},
    ),
    tx("c5", 4, "atm_withdrawal", "debit", 1, "atm"),
    Ev("c5", 30, "closure", "branch", {"reason": "service", "last_account": 1}),
    # c6: funded in branch d1; interest d20 is not activity and does not fund.
    tx("c6", 1, "transfer_in", "credit", 1, "branch"),
    tx("c6", 20, "interest", "credit", 0, "batch"),
    # c7: mobile login d0 (digital), card purchase + online credit d1 (debit card -> sticky d1,
    # funded d1), large online transfer out to another bank d86.
    login("c7", 0, "mobile"),
    tx("c7", 1, "card_purchase", "debit", 1, "pos"),
    tx("c7", 1, "transfer_in", "credit", 1, "online"),
    tx("c7", 86, "transfer_out", "debit", 1, "online", counterparty_type="other_bank"),
]
#: A re-delivered copy (same event_id) of c1's day-40 purchase: queries must not count it twice.
DUPLICATE_OF = 11

#: (customer, record suffix, kind, day, window, stage reached, last touchpoint, its channel,
#:  open complaint)
DEFECTIONS = [
    ("c2", "1", "closure", 20, "day_90", "activated", "login", "online", 0),
    ("c3", "1", "dormancy", 95, "year_1", "funded", "login", "mobile", 0),
    ("c3", "2", "closure", 150, "year_1", "funded", "login", "mobile", 0),
    ("c5", "1", "closure", 30, "day_90", "activated", "complaint", "contact_centre", 1),
    ("c6", "1", "balance_drained", 50, "day_90", "funded", "transaction", "branch", 0),
    ("c7", "1", "outbound_transfer", 100, "year_1", "sticky", "transaction", "online", 0),
]

#: (customer, rule, deadline day, episode): stalls are raised exactly at opening + day.
STALLS = [
    ("c3", "no_sticky_by_day_90", 90, 1),
    ("c4", "no_activity_30_days_in_day_90", 60, 1),
    ("c5", "no_login_by_day_7", 7, 1),
    ("c5", "not_funded_by_day_30", 30, 1),
    ("c6", "no_login_by_day_7", 7, 1),
    ("c6", "no_activity_30_days_in_day_90", 31, 1),
    ("c6", "no_sticky_by_day_90", 90, 1),
    ("c7", "no_activity_30_days_in_day_90", 31, 1),
    ("c7", "no_activity_30_days_in_day_90", 61, 2),
]


def at(cust: str, day: int, hours: int = 1) -> dt.datetime:
    return BY_ID[cust].opened + day * DAY + dt.timedelta(hours=hours)


def _columnar(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    cols = list(rows[0])
    return cols, [[r[c] for r in rows] for c in cols]


def event_rows() -> list[dict[str, Any]]:
    rows = []
    for i, e in enumerate([*EVENTS, EVENTS[DUPLICATE_OF]]):
        c = BY_ID[e.cust]
        when = c.opened if e.event_type == "account_opened" else at(e.cust, e.day)
        eid = f"e{i if i < len(EVENTS) else DUPLICATE_OF}"
        row: dict[str, Any] = {
            "event_id": eid, "event_type": e.event_type, "customer_id": c.id,
            "occurred_at": when, "occurred_at_ms": int(when.timestamp() * 1000),
            "opened_at": c.opened, "opening_channel": c.channel, "channel": e.channel,
            "branch_id": c.branch, "region": c.region, "product": "", "segment": "",
            "is_new_customer": 0, "success": 0, "amount_minor": 0, "kind": "", "direction": "",
            "customer_initiated": 0, "counterparty_type": "", "complaint_id": "",
            "category": "", "severity": "", "status": "", "reason": "", "last_account": 0,
        }  # fmt: skip
        row.update(e.fields)
        rows.append(row)
    return rows


def state_rows() -> list[dict[str, Any]]:
    first = {d[0]: d for d in reversed(DEFECTIONS)}
    rows = []
    for c in CUSTOMERS:
        d = first.get(c.id)
        rows.append({
            "customer_id": c.id, "opened_at": c.opened, "opening_channel": c.channel,
            "branch_id": c.branch, "region": c.region, "segment": c.segment,
            "products": [c.product], "stage": c.stage, "defected": int(d is not None),
            "defection_kind": d[2] if d else "", "version": 2,
        })  # fmt: skip
    # An older version of c1 that FINAL must hide (it claims c1 opened online).
    rows.append({**rows[0], "opening_channel": "online", "stage": "opened", "version": 1})
    return rows


def defection_rows() -> list[dict[str, Any]]:
    rows = []
    for cust, suffix, kind, day, window, stage, touch, touch_ch, complaint in DEFECTIONS:
        c = BY_ID[cust]
        rows.append({
            "record_id": f"{cust}:defection:{suffix}", "customer_id": cust, "kind": kind,
            "defected_at": at(cust, day), "detected_at": at(cust, day), "opened_at": c.opened,
            "days_since_opening": day, "window": window, "stage_reached": stage,
            "last_touchpoint": touch, "last_touchpoint_channel": touch_ch,
            "opening_channel": c.channel, "branch_id": c.branch, "region": c.region,
            "segment": c.segment, "products": [c.product], "open_complaint": complaint,
            "version": 1,
        })  # fmt: skip
    rows.append(dict(rows[0]))  # c2's defection re-delivered: FINAL collapses it
    return rows


def stall_rows() -> list[dict[str, Any]]:
    rows = []
    for cust, rule, day, episode in STALLS:
        c = BY_ID[cust]
        deadline = c.opened + day * DAY
        rows.append({
            "record_id": f"{cust}:stall:{rule}:{episode}", "customer_id": cust, "milestone": rule,
            "deadline_day": day, "deadline_at": deadline, "detected_at": deadline,
            "opened_at": c.opened, "window": "day_90" if day < 90 else "year_1",
            "opening_channel": c.channel, "branch_id": c.branch, "region": c.region,
            "segment": c.segment, "products": [c.product], "version": 1,
        })  # fmt: skip
    return rows


def load(store: Store) -> Store:
    """Migrate ``store``, insert the population (each table in one insert), build the roll-ups."""
    migrate(store)
    for table, rows in (
        ("events", event_rows()),
        ("customer_state", state_rows()),
        ("defections", defection_rows()),
        ("stalls", stall_rows()),
    ):
        cols, data = _columnar(rows)
        store.insert(table, cols, data)
    ensure_rollups(store)  # created after the rows: the back-fill path (test_rollup: the MVs)
    return store

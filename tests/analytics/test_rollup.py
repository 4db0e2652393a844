"""The analytics roll-ups: back-filled once, then fed by their materialized views, idempotent."""

from __future__ import annotations

import datetime as dt

from analytics_population import AS_OF, event_rows

from streams.analytics.catalogue import get_query
from streams.analytics.rollup import ensure_rollups
from streams.store import Store, migrate


def test_backfill_then_views_keep_it_current(store: Store) -> None:
    migrate(store)
    rows = event_rows()
    cols = list(rows[0])
    first = [r for r in rows if r["customer_id"] != "c4"]
    store.insert("events", cols, [[r[c] for r in first] for c in cols])
    filled = ["customer_activity", "customer_early_transactions", "customer_complaints"]
    assert ensure_rollups(store) == filled  # back-filled from events
    assert ensure_rollups(store) == []  # already there: nothing to do
    # c4 arrives after the roll-ups exist: the materialized views pick it up; re-sending c1's
    # events (a re-delivery) changes nothing.
    later = [r for r in rows if r["customer_id"] in ("c4", "c1")]
    store.insert("events", cols, [[r[c] for r in later] for c in cols])
    # Activity bit d of word w = day 64 w + d: c1 is active on days 1, 2, 3, 10, 40 (word 0)
    # and 100 (word 1, bit 36); c4 on 2, 15, 20, 25, 30 and 65 (word 1, bit 1).
    words = dict(store.execute(
        "SELECT customer_id, (groupBitOrMerge(active_w0), groupBitOrMerge(active_w1),"
        " groupBitOrMerge(active_w2)) FROM customer_activity GROUP BY customer_id"
    ))  # fmt: skip
    assert words["c1"] == (2**1 + 2**2 + 2**3 + 2**10 + 2**40, 2**36, 0)
    assert words["c4"] == (2**2 + 2**15 + 2**20 + 2**25 + 2**30, 2**1, 0)  # not d8's deposit
    engaged = store.execute(
        "SELECT customer_id, arraySort(groupArray(day)) FROM customer_early_transactions FINAL"
        " WHERE customer_id = 'c1' GROUP BY customer_id"
    )
    assert engaged == [("c1", [2, 3, 10, 40, 100])]  # five distinct transactions, not ten
    complaints = store.execute(
        "SELECT complaint_id, argMinMerge(category), minMerge(resolved_at) FROM customer_complaints"
        " GROUP BY customer_id, complaint_id ORDER BY complaint_id"
    )
    assert complaints == [
        ("k4", "fees", dt.datetime(2024, 2, 17, 13, tzinfo=dt.UTC)),  # c4: Feb 5 + 12 days
        ("k5", "service", dt.datetime(2106, 2, 7, 6, 28, 15, tzinfo=dt.UTC)),  # never resolved
    ]
    # The retention grid reads its customers from the roll-up's openings: c4, which arrived
    # through the view, is in February's cohort (with c5) although customer_state is empty.
    rows = get_query("retention_grid").run(store, {"as_of": AS_OF}).as_dicts()
    first = {r["cohort"]: r["eligible"] for r in rows if r["period"] == 0}
    assert first == {dt.date(2024, 1, 1): 3, dt.date(2024, 2, 1): 2, dt.date(2024, 3, 1): 2}

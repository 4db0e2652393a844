"""Engine records to ClickHouse rows: the where/when columns analysts read are filled."""

from __future__ import annotations

from streams.engine import EngineConfig, PartitionEngine
from streams.engine.builders import closure, complaint, day, opened, tx
from streams.sink.rows import output_rows, ts

T0 = 1_700_000_000_000


def test_customer_state_and_stall_rows_carry_activity_complaint_defection_and_stage() -> None:
    engine = PartitionEngine(EngineConfig())
    out = []
    for ev in (
        opened("c", T0, channel="online"),
        tx("c", T0 + day(2), amount=9_000, direction="credit", kind="transfer_in",
           channel="mobile"),
        complaint("c", T0 + day(4), "k1"),
        tx("c", T0 + day(5), kind="fee", amount=300, customer_initiated=False,
           counterparty="bank"),
        closure("c", T0 + day(20), last_account=True),
    ):  # fmt: skip
        out += engine.process(*ev)
    out += engine.advance(T0 + day(30))
    out += engine.take_snapshots()
    rows = output_rows(out)

    (state,) = [r for r in rows["customer_state"] if r["version"] == max(
        s["version"] for s in rows["customer_state"])]  # fmt: skip
    assert state["last_activity_at"] == ts(T0 + day(2))  # the fee is not the customer's
    assert state["last_complaint_at"] == ts(T0 + day(4))
    assert state["defected"] == 1 and state["defected_at"] == ts(T0 + day(20))

    (stall,) = [r for r in rows["stalls"] if r["milestone"] == "no_login_by_day_7"]
    assert stall["stage_reached"] == "funded"
    assert stall["products"]

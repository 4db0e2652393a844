"""How engine records and raw events become ClickHouse rows: the one mapping to the tables.

The tables are defined in ``sql/migrations``; each function here returns a dict keyed by that
table's column names. Times become UTC ``datetime`` values (whole seconds; the raw events
table keeps milliseconds too). Every row carries a deterministic ``record_id``/``version`` from
the engine, so re-delivered rows collapse in the ReplacingMergeTree tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from streams.engine.outputs import (
    CustomerSnapshot,
    Defection,
    Output,
    StallCleared,
    StallRaised,
    WindowOutcome,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Tables the sink writes, in the order a flush writes them.
TABLES = ("events", "customer_state", "defections", "stalls", "window_outcomes")


def ts(ms: int | None) -> datetime | None:
    """Epoch milliseconds to an aware UTC datetime (None stays None)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms // 1000, tz=UTC)


def ts0(ms: int | None) -> datetime:
    """Like :func:`ts` but unknown becomes the epoch (for non-nullable columns)."""
    return EPOCH if ms is None else datetime.fromtimestamp(ms // 1000, tz=UTC)


def _window(day: int) -> str:
    return "day_90" if day < 90 else "year_1" if day < 365 else "after_year_1"


#: Columns of ``events`` the sink writes, in the order of :func:`event_values`.
EVENT_COLUMNS = (
    "event_id", "event_type", "customer_id", "account_id", "occurred_at", "occurred_at_ms",
    "opened_at", "opening_channel", "channel", "branch_id", "region", "product", "segment",
    "is_new_customer", "campaign", "success", "auth_method", "amount_minor", "currency",
    "direction", "kind", "customer_initiated", "counterparty_type", "balance_after_minor",
    "complaint_id", "category", "severity", "status", "reason", "last_account",
)  # fmt: skip


def event_values(
    event_type: str, ev: Mapping[str, Any], opened_at_ms: int | None, opening_channel: str | None
) -> tuple[Any, ...]:
    """A decoded event as a row of ``events`` (:data:`EVENT_COLUMNS` order), opening copied.

    The hot path of the sink (one call per event): a tuple, and times as int epoch seconds.
    """
    g = ev.get
    t = ev["occurred_at"]
    return (
        ev["event_id"],
        event_type,
        ev["customer_id"],
        g("account_id"),
        t // 1000,
        t,
        0 if opened_at_ms is None else opened_at_ms // 1000,
        opening_channel or "other",
        g("channel") or "other",
        g("branch_id") or "",
        g("region") or "",
        g("product") or "",
        g("segment") or "",
        1 if g("is_new_customer") else 0,
        g("campaign") or "",
        1 if g("success") else 0,
        g("auth_method") or "",
        g("amount_minor") or 0,
        g("currency") or "",
        g("direction") or "",
        g("kind") or "",
        1 if g("customer_initiated") else 0,
        g("counterparty_type") or "",
        g("balance_after_minor"),
        g("complaint_id") or "",
        g("category") or "",
        g("severity") or "",
        g("status") or "",
        g("reason") or "",
        1 if g("last_account") else 0,
    )


def event_row(
    event_type: str, ev: Mapping[str, Any], opened_at_ms: int | None, opening_channel: str | None
) -> dict[str, Any]:
    """Like :func:`event_values`, as a ``{column: value}`` dict with datetime times."""
    row = dict(
        zip(EVENT_COLUMNS, event_values(event_type, ev, opened_at_ms, opening_channel), strict=True)
    )
    row["occurred_at"] = ts0(ev["occurred_at"])
    row["opened_at"] = ts0(opened_at_ms)
    return row


def snapshot_row(s: CustomerSnapshot) -> dict[str, Any]:
    sticky = [
        name
        for name, day in (
            ("digital_banking", s.digital_day),
            ("debit_card", s.debit_card_day),
            ("bill_pay", s.bill_pay_day),
            ("direct_deposit", s.direct_deposit_day),
        )
        if day is not None
    ]
    opened = s.opened_at_ms

    def at_day(day: int | None) -> datetime | None:
        return None if day is None or opened is None else ts(opened + day * 86_400_000)

    return {
        "customer_id": s.customer_id,
        "opened_at": ts0(opened),
        "opening_channel": s.opening_channel or "other",
        "branch_id": s.branch_id or "",
        "region": s.region or "",
        "segment": s.segment or "",
        "products": list(s.products),
        "campaign": s.campaign or "",
        "stage": s.stage,
        "first_login_at": ts(s.first_login_at_ms),
        "funded_at": ts(s.funded_at_ms),
        "first_sticky_at": at_day(s.sticky_day),
        "sticky_services": sticky,
        "sticky_online_day": s.digital_day,
        "sticky_debit_card_day": s.debit_card_day,
        "sticky_bill_pay_day": s.bill_pay_day,
        "sticky_direct_deposit_day": s.direct_deposit_day,
        "logins": s.logins_total,
        "transactions": s.transactions,
        "customer_initiated_count": s.customer_transactions,
        "last_activity_at": ts(s.last_activity_at_ms),
        "last_touchpoint_at": ts(s.last_touch_at_ms),
        "last_touchpoint": s.last_touch_type or "",
        "last_touchpoint_channel": s.last_touch_channel or "",
        "balance_minor": s.balance_minor,
        "complaints_open": s.complaints_open,
        "complaints_total": s.complaints_total,
        "last_complaint_at": ts(s.last_complaint_at_ms),
        "defected": int(s.defected),
        "defection_kind": s.defection_kind or "",
        "defected_at": ts(s.defected_at_ms),
        "risk_score": s.risk_score / 100.0,
        "risk_reasons": [f"{reason}:{weight}" for reason, weight in s.risk_reasons],
        "version": s.version,
    }


def defection_row(d: Defection) -> dict[str, Any]:
    return {
        "record_id": d.record_id,
        "customer_id": d.customer_id,
        "kind": d.defection_kind,
        "sub_reason": d.detail,
        "defected_at": ts0(d.at_ms),
        "detected_at": ts0(d.at_ms),
        "opened_at": ts0(d.opened_at_ms),
        "days_since_opening": d.day,
        "window": d.window,
        "stage_reached": d.stage_reached,
        "last_touchpoint": d.last_touch_type or "",
        "last_touchpoint_channel": d.last_touch_channel or "",
        "last_touchpoint_at": ts(d.last_touch_at_ms),
        "opening_channel": d.opening_channel or "",
        "branch_id": d.branch_id or "",
        "region": d.region or "",
        "segment": d.segment or "",
        "products": list(d.products),
        "open_complaint": int(d.complaint_open),
        "complaint_id": "",
        "complaint_category": "",
        "days_since_complaint": d.complaint_open_days,
        "risk_score": None,
        "version": 1,
    }


def stall_raised_row(s: StallRaised) -> dict[str, Any]:
    return {
        "record_id": s.record_id,
        "customer_id": s.customer_id,
        "milestone": s.rule,
        "deadline_day": s.day,
        "deadline_at": ts0(s.at_ms),
        "detected_at": ts0(s.at_ms),
        "opened_at": ts0(s.opened_at_ms),
        "window": _window(s.day),
        "stage_reached": s.stage_reached,
        "last_touchpoint": "",
        "last_touchpoint_channel": "",
        "last_touchpoint_at": None,
        "opening_channel": s.opening_channel or "",
        "branch_id": s.branch_id or "",
        "region": s.region or "",
        "segment": s.segment or "",
        "products": list(s.products),
        "open_complaint": 0,
        "resolved_at": None,
        "version": 1,
    }


def window_row(w: WindowOutcome) -> dict[str, Any]:
    return {
        "record_id": w.record_id,
        "customer_id": w.customer_id,
        "window": w.window,
        "opened_at": ts0(w.window_start_ms),
        "window_end_at": ts0(w.window_end_ms),
        "outcome": w.outcome,
        "stage_reached": w.stage_reached,
        "defected": int(w.outcome == "defected"),
        "defection_kind": "",
        "defected_at": None,
        "days_since_opening": None,
        "logins": w.logins,
        "transactions": w.transactions,
        "customer_initiated_count": w.customer_transactions,
        "sticky_services": [m for m in w.milestones if m != "opened"],
        "complaints_total": w.complaints_opened,
        "complaints_open": w.complaints_open_at_end,
        "opening_channel": w.opening_channel or "",
        "branch_id": w.branch_id or "",
        "region": w.region or "",
        "segment": w.segment or "",
        "products": list(w.products),
        "risk_score": None,
        "version": 1,
    }


def output_rows(outputs: list[Output]) -> dict[str, list[dict[str, Any]]]:
    """Group engine records into rows per table (records with no table are skipped here:
    they travel on derived topics instead)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for out in outputs:
        if isinstance(out, CustomerSnapshot):
            rows.setdefault("customer_state", []).append(snapshot_row(out))
        elif isinstance(out, Defection):
            rows.setdefault("defections", []).append(defection_row(out))
        elif isinstance(out, StallRaised):
            rows.setdefault("stalls", []).append(stall_raised_row(out))
        elif isinstance(out, WindowOutcome):
            rows.setdefault("window_outcomes", []).append(window_row(out))
        elif isinstance(out, StallCleared):
            # A cleared stall keeps its raised row (same record_id would need the raised
            # attributes to replace it); resolution is visible in customer_state/open_stalls.
            continue
    return rows

"""Applying one accepted event to a customer's facts (order-independent) and ``recent``.

Every update here is a min, a max by (occurred_at, event_id), a count, or a set/dict keyed by
an id, so applying the same events in any order gives the same facts. Time-ordered meaning is
left to ``timeline.py``, which folds ``recent`` once the watermark has passed it.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Mapping
from typing import Any

from streams.engine.config import EngineConfig
from streams.engine.events import DIGITAL_CHANNELS, SEVERITY_RANK
from streams.engine.state import (
    CLOSURE,
    CMP_OPEN,
    CMP_RESOLVED,
    LOGIN_FAIL,
    LOGIN_OK,
    OPEN,
    TX_BANK,
    TX_CI,
    TX_CI_BIG_OUT,
    CustomerState,
)

_NOT_FUNDING = frozenset({"interest", "fee"})


def _first(st: CustomerState, service: str, t: int) -> None:
    cur = st.sticky.get(service)
    if cur is None or t < cur:
        st.sticky[service] = t


def apply_event(st: CustomerState, etype: str, ev: Mapping[str, Any], cfg: EngineConfig) -> None:
    """Record ``ev`` in ``st``. The caller has checked lateness and duplicates."""
    t: int = ev["occurred_at"]
    eid: str = ev["event_id"]
    ch: str = ev["channel"]
    st.seen[eid] = t
    st.n_events += 1
    st.version += 1
    if st.last_t is None or t > st.last_t:
        st.last_t = t
    ref = ""
    amount = 0
    bal: int | None = None

    if etype == "transaction":
        amount = ev["amount_minor"]
        credit = ev["direction"] == "credit"
        kind = ev["kind"]
        ci = ev["customer_initiated"]
        st.tx_count += 1
        if credit:
            st.credit_minor += amount
        else:
            st.debit_minor += amount
        if st.first_tx_t is None or t < st.first_tx_t:
            st.first_tx_t = t
        if credit and kind not in _NOT_FUNDING and (st.funded_t is None or t < st.funded_t):
            st.funded_t = t
        if ci:
            st.citx_count += 1
            if st.first_citx_t is None or t < st.first_citx_t:
                st.first_citx_t = t
            ets = st.engaged_ts
            if len(ets) < cfg.engaged_min_transactions or t < ets[-1]:
                insort(ets, t)
                del ets[cfg.engaged_min_transactions :]
            if kind == "card_purchase":
                _first(st, "debit_card", t)
            elif kind == "bill_pay":
                _first(st, "bill_pay", t)
            if ch in DIGITAL_CHANNELS:
                _first(st, "digital", t)
            if (
                not credit
                and amount >= cfg.large_outbound_minor
                and ev["counterparty_type"] == "other_bank"
            ):
                code = TX_CI_BIG_OUT
            else:
                code = TX_CI
        else:
            code = TX_BANK
        if kind == "direct_deposit" and credit:
            _first(st, "direct_deposit", t)
        ref = ev.get("account_id") or ""
        bal = ev.get("balance_after_minor")
        if bal is not None:
            cur = st.balances.get(ref)
            if cur is None or (t, eid) > (cur[0], cur[1]):
                st.balances[ref] = [t, eid, bal]
        if not credit:
            amount = -amount
    elif etype == "login":
        if ev["success"]:
            code = LOGIN_OK
            st.logins[ch] = st.logins.get(ch, 0) + 1
            if st.first_login_t is None or (t, eid) < (st.first_login_t, st.first_login_eid):
                st.first_login_t = t
                st.first_login_eid = eid
                st.first_login_channel = ch
            if ch in DIGITAL_CHANNELS:
                _first(st, "digital", t)
        else:
            code = LOGIN_FAIL
            st.failed_logins += 1
    elif etype == "account_opened":
        code = OPEN
        product = ev["product"]
        cur_p = st.products.get(product)
        if cur_p is None or t < cur_p:
            st.products[product] = t
        if st.first_open_t is None or t < st.first_open_t:
            st.first_open_t = t
        if ev.get("is_new_customer", True) and (
            st.opened_at is None or (t, eid) < (st.opened_at, st.open_eid)
        ):
            st.opened_at = t
            st.open_eid = eid
            st.open_channel = ch
            st.branch_id = ev.get("branch_id")
            st.region = ev.get("region")
            st.segment = ev["segment"]
            st.campaign = ev.get("campaign")
    elif etype == "complaint":
        ref = ev["complaint_id"]
        amount = SEVERITY_RANK.get(ev["severity"], 1)
        c = st.complaints.get(ref)
        if c is None:
            c = st.complaints[ref] = [None, None, ev["severity"], ev["category"]]
        if ev["status"] == "opened":
            code = CMP_OPEN
            if c[0] is None or t < c[0]:
                c[0] = t
                c[2] = ev["severity"]
                c[3] = ev["category"]
        else:
            code = CMP_RESOLVED
            if c[1] is None or t < c[1]:
                c[1] = t
    elif etype == "closure":
        code = CLOSURE
        st.closures += 1
        if ev["last_account"]:
            insort(st.last_closures, [t, eid, ev["reason"]])
    else:
        raise ValueError(f"unknown event type {etype!r}")

    if code != TX_BANK:
        touch = st.touch
        if touch is None or (t, eid) > (touch[0], touch[1]):
            st.touch = [t, eid, ch, etype]
    insort(st.recent, (t, eid, code, ch, ref, amount, bal))

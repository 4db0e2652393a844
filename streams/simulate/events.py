"""Render one customer's plan as a time-ordered stream of events (dicts matching the schemas).

Why a generator with its own small agenda: a customer's events are produced lazily, in event-time
order, so the population can merge 20k+ customers without holding their journeys in memory.
Each scheduled item is ``(instant, seq, code)``; routine activity (logins, card purchases,
transfers, ...) is a set of Poisson or periodic processes started by the milestone that enables
them (first login, funding, first use of a service) and stopped by the plan's defection.

Invariants the ground truth relies on (tested in ``tests/simulate``):

* the first event is the customer's ``account_opened`` (is_new_customer=true) at ``opened_at``;
* milestone events happen exactly at the planned instants, and nothing qualifying happens before
  them (no successful login before ``first_login_at``, no credit before ``funded_at``, no
  card_purchase / bill_pay / direct_deposit before the service's first use, and no
  customer-initiated transaction on an online/mobile channel before ``first_login_at``: digital
  banking, a sticky service, is first used at the first login);
* while a customer is active, customer-initiated activity (successful logins, customer-initiated
  transactions) never pauses for more than ``max_active_gap_days`` — a *filler* login (or a small
  inbound transfer before the first login) is inserted when a gap would open;
* a closure defector's last event is the ``closure`` with ``last_account=true``;
* a silent leaver's last customer-initiated activity is at ``defection_at``; afterwards only
  bank-side events (fees, interest, complaint resolutions) occur until a resurrection, if any.

Event details (amounts, routine times, event ids) come from ``ev``, a random stream shared by the
whole population and consumed in the deterministic global merge order, so output is reproducible.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator
from typing import Any

from streams.simulate.model import CustomerPlan
from streams.simulate.params import DAY_MS, HOUR_MS, SimulationParams

Event = dict[str, Any]

# Agenda codes. Milestones and the defection sequence are planned; the rest are processes.
_FIRST_LOGIN, _FUND, _CARD1, _BILL1, _DD1 = 1, 2, 3, 4, 5
_C_OPEN, _C_RESOLVE, _OPEN2, _CLOSE2 = 6, 7, 8, 9
_DRAIN, _CLOSE_LAST, _FINAL, _RESURRECT, _END = 10, 11, 12, 13, 14
# Routine processes (>= 20). Customer-initiated unless noted.
_LOGIN, _FLOGIN, _CARD, _BILL, _DD, _TIN, _TOUT, _ATM, _CASH = 20, 21, 22, 23, 24, 25, 26, 27, 28
_FEE, _INTEREST = 40, 41  # bank-initiated
_CUSTOMER_PROCESSES = frozenset({_LOGIN, _FLOGIN, _CARD, _BILL, _DD, _TIN, _TOUT, _ATM, _CASH})


def uuid4_str(bits: int) -> str:
    """Same text as ``str(uuid.UUID(int=bits, version=4))`` (tested), several times faster."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


_VARIANT = "89ab"


def customer_events(
    plan: CustomerPlan, params: SimulationParams, ev: random.Random
) -> Iterator[Event]:
    """Yield the customer's events in non-decreasing ``occurred_at`` order."""
    seg = params.segment(plan.segment)
    prod = params.product(plan.product)
    cid, acct, branch, region = plan.customer_id, plan.account_id, plan.branch_id, plan.region
    currency = params.currency
    horizon = params.horizon_end_ms
    scale = seg.amount_scale
    act = seg.activity_mult
    digital = plan.digital_only
    keep = params.keep_balance_minor
    max_gap = params.max_active_gap_days * DAY_MS
    period = round(params.posting_period_days * DAY_MS)
    dd_period = round(params.direct_deposit_period_days * DAY_MS)
    fee_minor = prod.monthly_fee_minor if not seg.fee_free else 0
    interest_factor = prod.interest_rate * params.posting_period_days / 365
    p_other_bank = params.p_transfer_out_other_bank
    getbits = ev.getrandbits
    rnd = ev.random
    log = math.log
    heappush, heappop = heapq.heappush, heapq.heappop
    #: Mean interval (ms) of each Poisson process.
    mean_gap = {
        code: DAY_MS / rate
        for code, rate in (
            (_LOGIN, params.login_rate * act),
            (_FLOGIN, params.failed_login_rate),
            (_CARD, params.card_purchase_rate * act),
            (_BILL, params.bill_pay_rate * act),
            (_TIN, params.transfer_in_rate * act),
            (_TOUT, params.transfer_out_rate * act),
            (_ATM, params.atm_withdrawal_rate * act),
            (_CASH, params.cash_deposit_rate * act),
        )
        if rate > 0
    }

    tau = plan.defection_at
    closure = plan.kind == "closure"
    silent = plan.kind == "silent_attrition"
    resurrect = plan.resurrected_at
    # Routine customer processes run while t < routine_until (and again from a resurrection).
    if tau is None:
        routine_until = horizon
    elif closure:
        routine_until = min(t for t in (plan.drain_at, plan.second_closed_at, tau) if t is not None)
    else:
        routine_until = tau
    # Fillers keep gaps short up to this instant (and again from a resurrection).
    filler_until = horizon if tau is None else tau
    closure_at = tau if closure and tau is not None else horizon + 1

    agenda: list[tuple[int, int, int, Any]] = []
    counter = itertools.count()

    def at(t: int | None, code: int, arg: Any = None) -> None:
        if t is not None and t < horizon:
            heappush(agenda, (t, next(counter), code, arg))

    def base(event_type: str, t: int, account: str | None, channel: str) -> Event:
        return {
            "event_type": event_type,
            "event_id": uuid4_str(getbits(128)),
            "customer_id": cid,
            "account_id": account,
            "occurred_at": t,
            "channel": channel,
            "branch_id": branch,
            "region": region,
        }

    balance = 0

    def txn(
        t: int,
        kind: str,
        direction: str,
        amount: int,
        initiated: bool,
        counterparty: str,
        channel: str,
    ) -> Event:
        nonlocal balance
        balance += amount if direction == "credit" else -amount
        if initiated and not logged_in and channel in _DIGITAL:
            # Digital banking is a sticky service first used at the first login (a decided
            # instant): before it, the customer's own transactions arrive through other channels.
            channel = "pos" if kind == "card_purchase" else "batch"
        return {
            "event_type": "transaction",
            "event_id": uuid4_str(getbits(128)),
            "customer_id": cid,
            "account_id": acct,
            "occurred_at": t,
            "channel": channel,
            "branch_id": branch,
            "region": region,
            "amount_minor": amount,
            "currency": currency,
            "direction": direction,
            "kind": kind,
            "customer_initiated": initiated,
            "counterparty_type": counterparty,
            "balance_after_minor": balance,
        }

    def login(t: int, success: bool) -> Event:
        u = rnd()
        if u < 0.6:
            channel, method = "mobile", ("biometric" if u < 0.3 else "otp")
        else:
            channel, method = "online", ("password" if u < 0.88 else "otp")
        return {
            "event_type": "login",
            "event_id": uuid4_str(getbits(128)),
            "customer_id": cid,
            "account_id": None,
            "occurred_at": t,
            "channel": channel,
            "branch_id": branch,
            "region": region,
            "success": success,
            "auth_method": method,
        }

    def digital_channel() -> str:
        return "mobile" if rnd() < 0.55 else "online"

    def assisted_or_digital(p_assisted: float) -> str:
        if not digital and rnd() < p_assisted:
            return "branch" if rnd() < 0.6 else "contact_centre"
        return digital_channel()

    def amount(mean: float) -> int:
        return 100 + int(-mean * scale * log(1.0 - rnd()))

    def debit_ok(amt: int) -> int:
        """Clamp a routine debit so the balance stays >= keep; 0 means skip it."""
        avail = balance - keep
        if amt <= avail:
            return amt
        return avail if avail >= 100 else 0

    # ---- opening ------------------------------------------------------------------------------
    t0 = plan.opened_at
    e = base("account_opened", t0, acct, plan.channel)
    e["product"] = plan.product
    e["segment"] = plan.segment
    e["is_new_customer"] = True
    e["campaign"] = plan.campaign
    yield e

    if plan.first_login_at != resurrect:  # else the comeback login is the first one
        at(plan.first_login_at, _FIRST_LOGIN)
    at(plan.funded_at, _FUND)
    at(plan.debit_card_at, _CARD1)
    at(plan.bill_pay_at, _BILL1)
    at(plan.direct_deposit_at, _DD1)
    for c in plan.complaints:
        at(c.opened_at, _C_OPEN, c)
        at(c.resolved_at, _C_RESOLVE, c)
    at(plan.second_opened_at, _OPEN2)
    at(plan.second_closed_at, _CLOSE2)
    if closure:
        at(plan.drain_at, _DRAIN)
        at(tau, _CLOSE_LAST)
    else:
        if silent and not plan.never_engaged:
            at(tau, _FINAL)
        at(resurrect, _RESURRECT)
        at(horizon - 1, _END)

    last_act = t0  # last customer-initiated activity
    t_prev = t0
    logged_in = False
    funded = False
    started: set[int] = set()  # processes started before the defection (resumed on comeback)
    dormant = False
    epoch = 0  # bumped on a comeback so pre-silence process instances die
    back = resurrect if resurrect is not None else horizon + 1

    def schedule(code: int, t: int) -> None:
        """Next occurrence of a routine process after t."""
        if code == _DD:
            nt = t + dd_period + int((rnd() * 4 - 2) * DAY_MS)
        elif code == _FEE:
            nt = t + period
        elif code == _INTEREST:
            nt = t + period + HOUR_MS
        else:
            nt = t + int(-mean_gap[code] * log(1.0 - rnd()))
        if nt < horizon:
            heappush(agenda, (nt, next(counter), code, epoch))

    def start(code: int, t: int) -> None:
        if code == _DD or code in mean_gap:
            started.add(code)
            schedule(code, t)

    while agenda:
        t, _, code, arg = heappop(agenda)
        if t >= closure_at and code != _CLOSE_LAST:
            continue  # nothing after (or with) the closure of the last account
        if code in _CUSTOMER_PROCESSES and (arg != epoch or dormant or (routine_until <= t < back)):
            continue  # the process dies; a comeback restarts it
        # -- fillers: keep customer-initiated gaps short while the customer is active -------
        while (
            t - last_act > max_gap
            and code != _RESURRECT
            and (t <= filler_until or (t >= back and not dormant))
        ):
            ft = max(t_prev, last_act + int(max_gap * (0.5 + 0.45 * rnd())))
            if logged_in:
                yield login(ft, True)
            elif funded:
                yield txn(
                    ft,
                    "transfer_in",
                    "credit",
                    amount(5_000),
                    True,
                    "other_bank",
                    digital_channel(),
                )
            else:  # pragma: no cover - excluded by the plan (min(login, funding) < max gap)
                raise AssertionError(f"{cid}: no activity possible at {ft}")
            last_act = t_prev = ft
        t_prev = t

        # -- routine processes (the bulk of the events) --------------------------------------
        if code >= _LOGIN:
            if code == _LOGIN:
                last_act = t
                schedule(code, t)
                yield login(t, True)
            elif code == _CARD:
                schedule(code, t)
                amt = debit_ok(amount(3_000))
                if amt:
                    last_act = t
                    yield txn(
                        t,
                        "card_purchase",
                        "debit",
                        amt,
                        True,
                        "merchant",
                        "pos" if rnd() < 0.6 else "online",
                    )
            elif code == _TOUT:
                schedule(code, t)
                amt = debit_ok(amount(12_000))
                if amt:
                    last_act = t
                    other = rnd() < p_other_bank
                    yield txn(
                        t,
                        "transfer_out",
                        "debit",
                        amt,
                        True,
                        "other_bank" if other else "same_bank",
                        assisted_or_digital(0.15),
                    )
            elif code == _ATM:
                schedule(code, t)
                amt = debit_ok(_ATM_AMOUNTS[int(rnd() * 4)])
                if amt:
                    last_act = t
                    yield txn(t, "atm_withdrawal", "debit", amt, True, "unknown", "atm")
            elif code == _BILL:
                schedule(code, t)
                amt = debit_ok(amount(8_000))
                if amt:
                    last_act = t
                    yield txn(
                        t, "bill_pay", "debit", amt, True, "merchant", assisted_or_digital(0.1)
                    )
            elif code == _TIN:
                schedule(code, t)
                last_act = t
                yield txn(
                    t,
                    "transfer_in",
                    "credit",
                    amount(20_000),
                    True,
                    "other_bank" if rnd() < 0.7 else "same_bank",
                    digital_channel(),
                )
            elif code == _DD:
                schedule(code, t)
                last_act = t
                yield txn(
                    t,
                    "direct_deposit",
                    "credit",
                    amount(180_000),
                    True,
                    seg.direct_deposit_payer,
                    "batch",
                )
            elif code == _CASH:
                schedule(code, t)
                last_act = t
                yield txn(
                    t,
                    "cash_deposit",
                    "credit",
                    amount(15_000),
                    True,
                    "unknown",
                    "branch" if rnd() < 0.5 else "atm",
                )
            elif code == _FLOGIN:
                schedule(code, t)
                yield login(t, False)
            elif code == _FEE:
                schedule(code, t)
                yield txn(t, "fee", "debit", fee_minor, False, "bank", "batch")
            elif code == _INTEREST:
                schedule(code, t)
                interest = int(balance * interest_factor)
                if interest >= 1:
                    yield txn(t, "interest", "credit", interest, False, "bank", "batch")
            continue

        # -- planned milestones and the defection sequence -----------------------------------
        out: Event | None = None
        if code == _FIRST_LOGIN:
            out = login(t, True)
            logged_in = True
            start(_LOGIN, t)
            start(_FLOGIN, t)
            last_act = t
        elif code == _FUND:
            if not digital and rnd() < 0.4:
                out = txn(t, "cash_deposit", "credit", amount(40_000), True, "unknown", "branch")
            else:
                out = txn(
                    t,
                    "transfer_in",
                    "credit",
                    amount(50_000),
                    True,
                    "other_bank",
                    digital_channel(),
                )
            funded = True
            last_act = t
            for proc in (_TIN, _TOUT) if digital else (_TIN, _TOUT, _ATM, _CASH):
                start(proc, t)
            if fee_minor:
                schedule(_FEE, t)
            if interest_factor > 0:
                schedule(_INTEREST, t)
        elif code == _CARD1:
            amt = min(amount(3_000), max(100, balance - keep))
            out = txn(
                t,
                "card_purchase",
                "debit",
                amt,
                True,
                "merchant",
                "pos" if rnd() < 0.6 else "online",
            )
            last_act = t
            start(_CARD, t)
        elif code == _BILL1:
            amt = min(amount(8_000), max(100, balance - keep))
            out = txn(t, "bill_pay", "debit", amt, True, "merchant", assisted_or_digital(0.1))
            last_act = t
            start(_BILL, t)
        elif code == _DD1:
            out = txn(
                t,
                "direct_deposit",
                "credit",
                amount(180_000),
                True,
                seg.direct_deposit_payer,
                "batch",
            )
            last_act = t
            start(_DD, t)
        elif code in (_C_OPEN, _C_RESOLVE):
            out = base("complaint", t, acct, arg.channel if code == _C_OPEN else "contact_centre")
            out["complaint_id"] = arg.complaint_id
            out["category"] = arg.category
            out["severity"] = arg.severity
            out["status"] = "opened" if code == _C_OPEN else "resolved"
        elif code == _OPEN2:
            assert plan.second_product is not None
            out = base("account_opened", t, plan.second_account_id, assisted_or_digital(0.4))
            out["product"] = plan.second_product
            out["segment"] = plan.segment
            out["is_new_customer"] = False
            out["campaign"] = None
        elif code == _CLOSE2:
            out = base("closure", t, plan.second_account_id, assisted_or_digital(0.5))
            out["reason"] = "customer_request"
            out["last_account"] = False
        elif code == _DRAIN or (code == _FINAL and plan.drain_at == t):
            amt = balance if balance > 100 else 100
            out = txn(t, "transfer_out", "debit", amt, True, "other_bank", assisted_or_digital(0.2))
            last_act = t
            if code == _FINAL:
                dormant = True
        elif code == _FINAL:
            if last_act < t:
                if logged_in:
                    out = login(t, True)
                elif balance - keep >= 200:
                    out = txn(
                        t,
                        "transfer_out",
                        "debit",
                        debit_ok(amount(3_000)),
                        True,
                        "same_bank",
                        digital_channel(),
                    )
                else:
                    out = txn(
                        t,
                        "transfer_in",
                        "credit",
                        amount(3_000),
                        True,
                        "other_bank",
                        digital_channel(),
                    )
                last_act = t
            dormant = True
        elif code == _CLOSE_LAST:
            if plan.second_account_id is not None and plan.second_closed_at is None:
                raise AssertionError("second account must be closed before the last one")
            out = base("closure", t, acct, assisted_or_digital(0.5))
            out["reason"] = plan.closure_reason
            out["last_account"] = True
        elif code == _RESURRECT:
            dormant = False
            epoch += 1
            last_act = t
            logged_in = True  # a comeback starts with a successful login
            out = login(t, True)
            for proc in sorted(started):
                schedule(proc, t)
            if _LOGIN not in started:
                start(_LOGIN, t)
        if out is not None:
            yield out


_ATM_AMOUNTS = (2_000, 4_000, 5_000, 10_000)
_DIGITAL = frozenset({"online", "mobile"})

__all__ = ["Event", "customer_events", "uuid4_str"]

"""What the simulator DECIDES for one customer, before a single event is written.

A :class:`CustomerPlan` holds every decision that the ground truth reports: who the customer is,
when each onboarding milestone happens, the complaints they raise, whether and how they defect,
and whether a silent leaver comes back. The event generator (``events.py``) only *renders* a plan
as events (amounts, routine activity, event ids); it never changes a decision. That split is what
lets ``truth.py`` compute expected answers straight from the decisions, independently of both the
rendered events and the journey engine.

Each customer's decisions come from their own ``random.Random`` seeded with
``"{seed}:customer:{index}"`` (string seeds are hashed with SHA-512, so this is stable across runs
and Python processes), so the truth of customer *i* does not depend on any other customer.

Defection is drawn from a piecewise-constant hazard (per day since opening) whose multiplier
changes at known instants: the base rate steps down at day 90 and at day 365, a missed deadline
raises it from the deadline on, each sticky service lowers it from its first use on, each
complaint raises it from the day it is raised. Sampling inverts the cumulative hazard against an
Exp(1) draw, so it is exact and costs a handful of operations per customer.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Any

from streams.simulate.params import DAY_MS, HOUR_MS, MINUTE_MS, SimulationParams

INF = math.inf


@dataclass(slots=True)
class PlannedComplaint:
    """A complaint the customer raises (opened) and, maybe, the bank resolves."""

    complaint_id: str
    opened_at: int
    category: str
    severity: str
    channel: str
    resolved_at: int | None


@dataclass(slots=True)
class CustomerPlan:
    """Every decision about one customer. All instants are epoch ms and < horizon_end_ms;
    ``None`` means "does not happen within the simulated horizon"."""

    index: int
    customer_id: str
    account_id: str
    opened_at: int
    channel: str
    segment: str
    product: str
    branch_id: str
    region: str
    digital_only: bool
    campaign: str | None
    #: First successful login (online or mobile).
    first_login_at: int | None = None
    #: First credit to the account (funding); always a customer-initiated credit.
    funded_at: int | None = None
    #: First use of each sticky service (card_purchase, bill_pay, direct_deposit transactions).
    debit_card_at: int | None = None
    bill_pay_at: int | None = None
    direct_deposit_at: int | None = None
    complaints: list[PlannedComplaint] = field(default_factory=list)
    second_product: str | None = None
    second_account_id: str | None = None
    second_opened_at: int | None = None
    second_closed_at: int | None = None
    #: Whether the customer defects within the horizon (decided, not "as of" anything).
    defected: bool = False
    #: 'closure' | 'silent_attrition' | None.
    kind: str | None = None
    #: closure: instant of the closure event with last_account=true. silent_attrition: instant
    #: of the last customer-initiated activity (an event is emitted exactly then, unless the
    #: customer never engaged, in which case it is the opening itself).
    defection_at: int | None = None
    closure_reason: str | None = None
    #: Instant of the outbound transfer to another bank that empties the account, if any.
    drain_at: int | None = None
    #: Silent leaver's comeback (first customer-initiated activity after the silence).
    resurrected_at: int | None = None
    #: True when the customer had no login and no funding within max_active_gap_days.
    never_engaged: bool = False

    @property
    def first_sticky_at(self) -> int | None:
        times = [t for t in (self.debit_card_at, self.bill_pay_at, self.direct_deposit_at) if t]
        return min(times) if times else None


def customer_rng(params: SimulationParams, index: int) -> random.Random:
    """The decision RNG of one customer (independent of every other customer)."""
    return random.Random(f"{params.seed}:customer:{index}")


def weighted(rng: random.Random, pairs: tuple[tuple[str, Any], ...]) -> str:
    """Pick a name from (name, weight-or-profile-with-.weight) pairs (one RNG draw)."""
    table = _TABLES.get(id(pairs))
    if table is None or table[0] is not pairs:
        weights = [w if isinstance(w, int | float) else w.weight for _, w in pairs]
        table = (pairs, [n for n, _ in pairs], list(itertools.accumulate(weights)))
        _TABLES[id(pairs)] = table
    _, names, cum = table
    return rng.choices(names, cum_weights=cum)[0]


_TABLES: dict[int, tuple[Any, list[str], list[float]]] = {}


def draw_opening(rng: random.Random, params: SimulationParams) -> tuple[str, int]:
    """Opening channel and instant: the first draws of a customer's RNG.

    Assisted channels open in business hours (09:00–17:00 UTC on weekdays); digital ones any
    time. Kept separate so the population can order customers by opening without planning them.
    """
    channel = weighted(rng, params.channels)
    start, end = params.start_ms, params.opening_end_ms
    n_days = (end - start) // DAY_MS
    while True:
        day = rng.randrange(n_days)
        day_start = start + day * DAY_MS
        if channel in ("branch", "contact_centre"):
            if ((day_start // DAY_MS) + 3) % 7 >= 5:  # 1970-01-01 was a Thursday
                continue
            at = day_start + 9 * HOUR_MS + rng.randrange(8 * HOUR_MS)
        else:
            at = day_start + rng.randrange(DAY_MS)
        if at < end:
            return channel, at


def plan_customer(params: SimulationParams, index: int) -> CustomerPlan:
    """Decide everything about customer ``index``."""
    rng = customer_rng(params, index)
    channel, opened_at = draw_opening(rng, params)
    ch = params.channel(channel)
    segment = weighted(rng, params.segments)
    seg = params.segment(segment)
    product = weighted(rng, params.products)
    prod = params.product(product)
    branch_id, region = params.branch_region(rng.randrange(params.n_branches))
    digital_only = rng.random() < ch.p_digital_only
    campaign = rng.choice(params.campaigns) if rng.random() < params.p_campaign else None
    cid = f"{params.customer_id_prefix}{index:07d}"
    plan = CustomerPlan(
        index=index,
        customer_id=cid,
        account_id=f"a{index:07d}1",
        opened_at=opened_at,
        channel=channel,
        segment=segment,
        product=product,
        branch_id=branch_id,
        region=region,
        digital_only=digital_only,
        campaign=campaign,
    )
    horizon_days = (params.horizon_end_ms - opened_at) / DAY_MS

    # -- candidate milestone days (INF = never) ---------------------------------------------
    login = _delay(rng, ch.p_login, ch.login_delay_mean_days)
    funded = _delay(rng, params.p_funding, ch.funding_delay_mean_days)
    card = funded + _delay(
        rng, params.p_debit_card * prod.sticky_mult, params.debit_card_delay_mean_days
    )
    bill = funded + _delay(
        rng, params.p_bill_pay * prod.sticky_mult, params.bill_pay_delay_mean_days
    )
    dd = funded + _delay(
        rng,
        params.p_direct_deposit * prod.sticky_mult * seg.direct_deposit_mult,
        params.direct_deposit_delay_mean_days,
    )
    complaint_days = _poisson_times(
        rng, params.complaint_rate_per_year * seg.complaint_mult / 365.0, horizon_days
    )
    second_day = INF
    if rng.random() < params.p_second_product:
        second_day = funded + rng.expovariate(1.0 / params.second_product_delay_mean_days)

    # -- defection ----------------------------------------------------------------------------
    never_engaged = min(login, funded) >= params.max_active_gap_days
    if never_engaged:
        tau = 0.0
    else:
        tau = _sample_defection_day(
            rng,
            params,
            ch.hazard_mult
            * seg.hazard_mult
            * prod.hazard_mult
            * (params.digital_only_hazard_mult if digital_only else 1.0),
            login,
            funded,
            card,
            bill,
            dd,
            complaint_days,
        )
    defected = tau < horizon_days
    complained_before = any(c < tau for c in complaint_days)
    p_closure = params.p_closure_after_complaint if complained_before else params.p_closure
    is_closure = (not never_engaged) and rng.random() < p_closure
    # Draws below are made for every customer, used or not, to keep RNG streams aligned.
    reason_u = rng.random()
    drain_u = rng.random()
    drain_lead_h = rng.uniform(1.0, 24.0)
    res_u = rng.random()
    res_delay = rng.expovariate(1.0 / params.resurrection_delay_mean_days)
    close2_u = rng.random()
    close2_delay = rng.expovariate(1.0 / 90.0)

    def at(days: float) -> int | None:
        """Day offset -> instant, None if never / not before the horizon."""
        if days == INF:
            return None
        t = opened_at + max(MINUTE_MS, round(days * DAY_MS))
        return t if t < params.horizon_end_ms else None

    def before(days: float, limit: float) -> int | None:
        return at(days) if days < limit else None

    cut = tau if defected else INF
    plan.first_login_at = before(login, cut)
    plan.funded_at = before(funded, cut)
    plan.debit_card_at = before(card, cut)
    plan.bill_pay_at = before(bill, cut)
    plan.direct_deposit_at = before(dd, cut)
    plan.never_engaged = never_engaged
    plan.second_opened_at = before(second_day, cut)
    if plan.second_opened_at is not None:
        others = [n for n, _ in params.products if n != product] or [product]
        plan.second_product = others[int(close2_u * 1e6) % len(others)]
        plan.second_account_id = f"a{index:07d}2"

    if defected:
        plan.defected = True
        tau_ms = opened_at if never_engaged else opened_at + max(MINUTE_MS, round(tau * DAY_MS))
        plan.defection_at = tau_ms
        if is_closure:
            plan.kind = "closure"
            # Nothing may share the closure's instant: milestones strictly before it.
            for name in (
                "first_login_at",
                "funded_at",
                "debit_card_at",
                "bill_pay_at",
                "direct_deposit_at",
                "second_opened_at",
            ):
                t = getattr(plan, name)
                if t is not None and t >= tau_ms:
                    setattr(plan, name, None)
            if plan.second_opened_at is None:
                plan.second_product = plan.second_account_id = None
            plan.closure_reason = _closure_reason(params, reason_u, complaint_days, tau)
            drain_at = tau_ms - round(drain_lead_h * HOUR_MS)
            if (
                drain_u < params.p_drain_closure
                and plan.funded_at is not None
                and drain_at > plan.funded_at
            ):
                plan.drain_at = drain_at
            if plan.second_opened_at is not None:
                plan.second_closed_at = max(
                    plan.second_opened_at + MINUTE_MS, tau_ms - 10 * MINUTE_MS
                )
                if plan.second_closed_at >= tau_ms:
                    plan.second_closed_at = None
                    plan.second_opened_at = plan.second_product = plan.second_account_id = None
        else:
            plan.kind = "silent_attrition"
            if not never_engaged and plan.first_login_at is None and plan.funded_at is None:
                # Defecting before any milestone: the last activity is one login at tau.
                plan.first_login_at = tau_ms
            if drain_u < params.p_drain_silent and plan.funded_at is not None:
                plan.drain_at = tau_ms  # the drain is the last customer-initiated activity
            if res_u < params.p_resurrection:
                back = tau_ms + (params.dormancy_days + 1) * DAY_MS + round(res_delay * DAY_MS)
                if back < params.horizon_end_ms:
                    plan.resurrected_at = back
                    if plan.first_login_at is None:
                        plan.first_login_at = back
    if plan.second_opened_at is not None and plan.second_closed_at is None:
        closed = second_day + close2_delay
        if close2_u < params.p_close_second_product and closed < cut:
            plan.second_closed_at = at(closed)

    plan.complaints = _complaints(rng, params, plan, complaint_days, cut)
    return plan


def _delay(rng: random.Random, p: float, mean_days: float) -> float:
    """Days until something with probability p happens at all (exponential delay), else INF.

    Both draws are always made so RNG streams stay aligned across parameter changes.
    """
    u = rng.random()
    d = rng.expovariate(1.0 / mean_days) if mean_days > 0 else 0.0
    return d if u < p else INF


def _poisson_times(rng: random.Random, rate_per_day: float, limit_days: float) -> list[float]:
    out: list[float] = []
    if rate_per_day <= 0:
        return out
    t = rng.expovariate(rate_per_day)
    while t < limit_days:
        out.append(t)
        t += rng.expovariate(rate_per_day)
    return out


def _sample_defection_day(
    rng: random.Random,
    params: SimulationParams,
    static_mult: float,
    login: float,
    funded: float,
    card: float,
    bill: float,
    dd: float,
    complaint_days: list[float],
) -> float:
    """Invert the cumulative piecewise-constant hazard at an Exp(1) draw; INF if never."""
    target = rng.expovariate(1.0)
    steps: list[tuple[float, float]] = []  # (day, factor applied from that day on)
    if login >= params.login_deadline_days:
        steps.append((params.login_deadline_days, params.missed_login_hazard_mult))
    if funded >= params.funding_deadline_days:
        steps.append((params.funding_deadline_days, params.missed_funding_hazard_mult))
    if min(card, bill, dd) >= params.sticky_deadline_days:
        steps.append((params.sticky_deadline_days, params.missed_sticky_hazard_mult))
    for day, mult in (
        (card, params.debit_card_hazard_mult),
        (bill, params.bill_pay_hazard_mult),
        (dd, params.direct_deposit_hazard_mult),
    ):
        if day < INF:
            steps.append((day, mult))
    for c in complaint_days[: params.complaint_cap]:
        steps.append((c, params.complaint_hazard_mult))
    onb, year = float(params.onboarding_window_days), float(params.year_window_days)
    base_steps = [
        (onb, params.hazard_year_1 / params.hazard_day_90),
        (year, params.hazard_after_year_1 / params.hazard_year_1),
    ]
    steps.extend(base_steps)
    steps.sort()
    rate = params.hazard_day_90 * static_mult
    t = 0.0
    acc = 0.0
    for day, factor in steps:
        if day > t:
            seg = (day - t) * rate
            if acc + seg >= target:
                return t + (target - acc) / rate
            acc += seg
            t = day
        rate *= factor
    return t + (target - acc) / rate if rate > 0 else INF


def _closure_reason(
    params: SimulationParams,
    u: float,
    complaint_days: list[float],
    tau: float,
) -> str:
    """Complainants mostly state fees or service; the rest follow closure_reasons."""
    if any(c < tau for c in complaint_days):
        if u < 0.6:
            return "fees" if u < 0.3 else "service"
        u = (u - 0.6) / 0.4
    x = u * sum(w for _, w in params.closure_reasons)
    for name, w in params.closure_reasons:
        if x < w:
            return name
        x -= w
    return params.closure_reasons[-1][0]


def _complaints(
    rng: random.Random,
    params: SimulationParams,
    plan: CustomerPlan,
    complaint_days: list[float],
    cut: float,
) -> list[PlannedComplaint]:
    out: list[PlannedComplaint] = []
    for n, day in enumerate(complaint_days):
        category = weighted(rng, params.complaint_categories)
        severity = weighted(rng, params.complaint_severities)
        channel = rng.choice(
            ("online", "mobile") if plan.digital_only else ("contact_centre", "branch", "online")
        )
        resolved_u = rng.random()
        resolve_days = rng.expovariate(1.0 / params.complaint_resolve_mean_days)
        if day >= cut:
            continue
        opened_at = plan.opened_at + max(MINUTE_MS, round(day * DAY_MS))
        if opened_at >= params.horizon_end_ms:
            continue
        if (
            plan.kind == "closure"
            and plan.defection_at is not None
            and opened_at >= plan.defection_at
        ):
            continue
        resolved_at: int | None = opened_at + max(HOUR_MS, round(resolve_days * DAY_MS))
        assert resolved_at is not None
        if resolved_u >= params.p_complaint_resolved or resolved_at >= params.horizon_end_ms:
            resolved_at = None
        elif (
            plan.kind == "closure"
            and plan.defection_at is not None
            and resolved_at >= plan.defection_at
        ):
            resolved_at = None  # nothing happens after the last account is closed
        elif (
            plan.kind == "silent_attrition"
            and not params.resolve_after_silence
            and plan.defection_at is not None
            and resolved_at > plan.defection_at
        ):
            resolved_at = None
        out.append(
            PlannedComplaint(
                complaint_id=f"{plan.customer_id}-k{n + 1}",
                opened_at=opened_at,
                category=category,
                severity=severity,
                channel=channel,
                resolved_at=resolved_at,
            )
        )
    return out

"""Ground truth: what the simulator decided, per customer, and the cohort answers it implies.

Why it exists: the journey engine is checked against answers computed *here*, straight from the
simulator's decisions (``model.CustomerPlan``), never from the engine's code nor by re-reading the
events. Everything is evaluated **as of** an instant (default: the horizon end), because a silent
leaver is only a defector once the dormancy period has elapsed without activity.

Definitions the engine must match (its config must equal the params in the truth header):

* **day since opening** of an instant ``t``: ``(t - opened_at) // 86_400_000`` (whole 24 h periods
  since the ``account_opened`` with is_new_customer=true; not calendar days).
* **customer-initiated activity**: the opening itself, a ``login`` with success=true, or a
  ``transaction`` with customer_initiated=true. Fees, interest, failed logins, complaints (opened
  or resolved) and closures with last_account=false are NOT activity.
* **closure defection**: the ``closure`` event with last_account=true. ``defection_at`` is its
  occurred_at; it is detected at that same instant.
* **silent attrition**: ``defection_at`` is the instant of the customer's last customer-initiated
  activity; it is detected at ``defection_at + dormancy_days * 86_400_000`` if no activity happens
  in between (the simulator guarantees none does). A silent leaver counts as defected as of ``T``
  iff ``detected_at <= T``. Active customers never go more than ``max_active_gap_days`` (< dormancy)
  without activity, so nobody else ever looks dormant.
* **window** of a defection: ``day_90`` iff its defection day < onboarding_window_days (90),
  ``year_1`` iff < year_window_days (365). For silent attrition the day is that of the *last
  activity*, not of the detection.
* **resurrection**: a detected silent leaver's first activity after the silence
  (``resurrected_at``); they still count as a (past) defection.
* **stalls** (milestone missed by its deadline, ``deadline_at = opened_at + days * 86_400_000``):
  ``no_login`` (no successful login before day 7), ``not_funded`` (no credit before day 30),
  ``no_sticky`` (no card_purchase, bill_pay or direct_deposit before day 90). A stall counts as of
  ``T`` iff ``deadline_at <= T``, the milestone's first instant is absent or ``>= deadline_at``,
  and the customer had not closed their last account before ``deadline_at``. ``dormant`` counts
  silent attrition detected by ``T`` (as in :func:`expected_defections_by_kind`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from streams.simulate.model import CustomerPlan, plan_customer
from streams.simulate.params import DAY_MS, DIGITAL_CHANNELS, SimulationParams

TRUTH_FORMAT = "journey-simulate-truth/1"
Window = Literal["day_90", "year_1"]
STALL_RULES: tuple[str, ...] = ("no_login", "not_funded", "no_sticky", "dormant")


@dataclass(frozen=True, slots=True)
class ComplaintTruth:
    complaint_id: str
    opened_at: int
    resolved_at: int | None
    category: str
    severity: str


@dataclass(frozen=True, slots=True)
class CustomerTruth:
    """One customer's decided journey (instants in epoch ms, None = did not happen)."""

    customer_id: str
    index: int
    opened_at: int
    channel: str
    segment: str
    product: str
    branch_id: str
    region: str
    digital_only: bool
    campaign: str | None
    first_login_at: int | None
    funded_at: int | None
    debit_card_at: int | None
    bill_pay_at: int | None
    direct_deposit_at: int | None
    first_sticky_at: int | None
    complaints: tuple[ComplaintTruth, ...]
    second_product: str | None
    second_opened_at: int | None
    second_closed_at: int | None
    #: Decided to defect within the horizon (a silent one may still be undetected at it).
    defected: bool
    kind: str | None
    defection_at: int | None
    detected_at: int | None
    closure_reason: str | None
    drain_at: int | None
    resurrected_at: int | None
    never_engaged: bool
    #: Whether a complaint was opened and not yet resolved at defection_at.
    open_complaint_at_defection: bool | None = field(default=None)

    # -- derived ------------------------------------------------------------------------------
    def day(self, t: int | None) -> int | None:
        """Whole days since opening of instant t."""
        return None if t is None else (t - self.opened_at) // DAY_MS

    @property
    def defection_day(self) -> int | None:
        return self.day(self.defection_at)

    def defected_as_of(self, as_of: int) -> bool:
        return self.detected_at is not None and self.detected_at <= as_of

    def resurrected_as_of(self, as_of: int) -> bool:
        return self.resurrected_at is not None and self.resurrected_at <= as_of

    def milestone_at(self, rule: str) -> int | None:
        return {
            "no_login": self.first_login_at,
            "not_funded": self.funded_at,
            "no_sticky": self.first_sticky_at,
        }[rule]

    def stalled(self, rule: str, params: SimulationParams, as_of: int) -> bool:
        """Whether the milestone of ``rule`` was missed by its deadline, as of ``as_of``."""
        if rule == "dormant":
            return self.kind == "silent_attrition" and self.defected_as_of(as_of)
        deadline = self.opened_at + deadline_days(rule, params) * DAY_MS
        if deadline > as_of:
            return False
        if (
            self.kind == "closure"
            and self.defection_at is not None
            and self.defection_at < deadline
        ):
            return False
        reached = self.milestone_at(rule)
        return reached is None or reached >= deadline

    def to_json_dict(self, params: SimulationParams) -> dict[str, Any]:
        d = asdict(self)
        d["complaints"] = [asdict(c) for c in self.complaints]
        d["opened_date"] = datetime.fromtimestamp(self.opened_at / 1000, UTC).date().isoformat()
        d["digital_opened"] = self.channel in DIGITAL_CHANNELS
        for name in (
            "first_login_at",
            "funded_at",
            "first_sticky_at",
            "defection_at",
            "detected_at",
            "resurrected_at",
        ):
            d[name.replace("_at", "_day")] = self.day(getattr(self, name))
        horizon = params.horizon_end_ms
        d["missed"] = {r: self.stalled(r, params, horizon) for r in STALL_RULES[:3]}
        d["defected_as_of_horizon"] = self.defected_as_of(horizon)
        return d

    @classmethod
    def from_json_dict(cls, d: dict[str, Any]) -> CustomerTruth:
        names = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in d.items() if k in names}
        kwargs["complaints"] = tuple(ComplaintTruth(**c) for c in d["complaints"])
        return cls(**kwargs)


def deadline_days(rule: str, params: SimulationParams) -> int:
    return {
        "no_login": params.login_deadline_days,
        "not_funded": params.funding_deadline_days,
        "no_sticky": params.sticky_deadline_days,
    }[rule]


def truth_from_plan(plan: CustomerPlan, params: SimulationParams) -> CustomerTruth:
    detected: int | None = None
    if plan.defected and plan.defection_at is not None:
        detected = plan.defection_at
        if plan.kind == "silent_attrition":
            detected += params.dormancy_days * DAY_MS
    open_complaint: bool | None = None
    if plan.defection_at is not None:
        open_complaint = any(
            c.opened_at <= plan.defection_at
            and (c.resolved_at is None or c.resolved_at > plan.defection_at)
            for c in plan.complaints
        )
    return CustomerTruth(
        customer_id=plan.customer_id,
        index=plan.index,
        opened_at=plan.opened_at,
        channel=plan.channel,
        segment=plan.segment,
        product=plan.product,
        branch_id=plan.branch_id,
        region=plan.region,
        digital_only=plan.digital_only,
        campaign=plan.campaign,
        first_login_at=plan.first_login_at,
        funded_at=plan.funded_at,
        debit_card_at=plan.debit_card_at,
        bill_pay_at=plan.bill_pay_at,
        direct_deposit_at=plan.direct_deposit_at,
        first_sticky_at=plan.first_sticky_at,
        complaints=tuple(
            ComplaintTruth(c.complaint_id, c.opened_at, c.resolved_at, c.category, c.severity)
            for c in plan.complaints
        ),
        second_product=plan.second_product,
        second_opened_at=plan.second_opened_at,
        second_closed_at=plan.second_closed_at,
        defected=plan.defected,
        kind=plan.kind,
        defection_at=plan.defection_at,
        detected_at=detected,
        closure_reason=plan.closure_reason,
        drain_at=plan.drain_at,
        resurrected_at=plan.resurrected_at,
        never_engaged=plan.never_engaged,
        open_complaint_at_defection=open_complaint,
    )


def generate_truth(params: SimulationParams) -> Iterator[CustomerTruth]:
    """Every customer's truth, in customer-index order (no events are rendered)."""
    for i in range(params.n_customers):
        yield truth_from_plan(plan_customer(params, i), params)


# -- file I/O -----------------------------------------------------------------------------------
def write_truth(
    out: str | Path | IO[str],
    params: SimulationParams,
    truths: Iterable[CustomerTruth] | None = None,
) -> int:
    """JSON-lines: a header ``{"format", "params", "definitions"}`` then one customer a line."""
    if isinstance(out, str | Path):
        with open(out, "w", encoding="utf-8") as fh:
            return write_truth(fh, params, truths)
    header = {
        "format": TRUTH_FORMAT,
        "params": params.to_json_dict(),
        "definitions": {
            "day": "(t - opened_at) // 86400000",
            "activity": "account_opened, login success=true, transaction customer_initiated=true",
            "closure": "closure last_account=true; detected_at = defection_at",
            "silent_attrition": "defection_at = last activity; detected_at = defection_at + "
            f"{params.dormancy_days} days",
            "windows": {"day_90": params.onboarding_window_days, "year_1": params.year_window_days},
            "stall_deadlines_days": {r: deadline_days(r, params) for r in STALL_RULES[:3]},
        },
    }
    out.write(json.dumps(header, separators=(",", ":")) + "\n")
    n = 0
    for t in truths if truths is not None else generate_truth(params):
        out.write(json.dumps(t.to_json_dict(params), separators=(",", ":")) + "\n")
        n += 1
    return n


def read_truth(path: str | Path) -> tuple[SimulationParams, list[CustomerTruth]]:
    with open(path, encoding="utf-8") as fh:
        header = json.loads(fh.readline())
        if header.get("format") != TRUTH_FORMAT:
            raise ValueError(f"{path}: not a {TRUTH_FORMAT} file")
        params = SimulationParams.from_json_dict(header["params"])
        return params, [CustomerTruth.from_json_dict(json.loads(line)) for line in fh]


# -- expected cohort answers --------------------------------------------------------------------
@dataclass(slots=True)
class CohortCount:
    """Openers of a cohort cell and how many of them defected (as of, inside the window)."""

    customers: int = 0
    defected: int = 0
    closure: int = 0
    silent_attrition: int = 0
    #: Customers whose window (plus dormancy) had fully elapsed as of the instant.
    complete: int = 0

    @property
    def rate(self) -> float:
        return self.defected / self.customers if self.customers else 0.0


def window_days(window: Window | None, params: SimulationParams) -> int | None:
    if window is None:
        return None
    if window == "day_90":
        return params.onboarding_window_days
    if window == "year_1":
        return params.year_window_days
    raise ValueError(f"unknown window {window!r}")


def in_window(t: CustomerTruth, window: Window | None, params: SimulationParams) -> bool:
    limit = window_days(window, params)
    day = t.defection_day
    return day is not None and (limit is None or day < limit)


def cohort_of(t: CustomerTruth, cohort: Literal["month", "week", "all"] = "month") -> str:
    d = datetime.fromtimestamp(t.opened_at / 1000, UTC).date()
    if cohort == "month":
        return f"{d.year:04d}-{d.month:02d}"
    if cohort == "week":
        y, w, _ = d.isocalendar()
        return f"{y:04d}-W{w:02d}"
    return "all"


def expected_defections_by_kind(
    truths: Iterable[CustomerTruth],
    params: SimulationParams,
    as_of: int | None = None,
    window: Window | None = None,
) -> dict[str, int]:
    """``{'closure': n, 'silent_attrition': m}`` detected by ``as_of`` (default: horizon end)."""
    as_of = params.horizon_end_ms if as_of is None else as_of
    out = {"closure": 0, "silent_attrition": 0}
    for t in truths:
        if t.kind and t.defected_as_of(as_of) and in_window(t, window, params):
            out[t.kind] += 1
    return out


def expected_defections_by(
    truths: Iterable[CustomerTruth],
    params: SimulationParams,
    key: str,
    window: Window | None = None,
    as_of: int | None = None,
) -> dict[str, CohortCount]:
    """Defections grouped by a customer attribute: channel, segment, product, branch_id, region,
    campaign, digital_only, closure_reason, ... or 'cohort_month' / 'cohort_week'."""
    as_of = params.horizon_end_ms if as_of is None else as_of
    limit = window_days(window, params)
    out: dict[str, CohortCount] = {}
    for t in truths:
        if t.opened_at > as_of:
            continue
        if key.startswith("cohort_"):
            k = cohort_of(t, key.removeprefix("cohort_"))  # type: ignore[arg-type]
        else:
            k = str(getattr(t, key))
        _count(out.setdefault(k, CohortCount()), t, params, limit, window, as_of)
    return out


def expected_defections_by_cohort_channel(
    truths: Iterable[CustomerTruth],
    params: SimulationParams,
    window: Window | None = "year_1",
    as_of: int | None = None,
    cohort: Literal["month", "week", "all"] = "month",
) -> dict[tuple[str, str], CohortCount]:
    """``{(opening cohort, opening channel): CohortCount}`` as of ``as_of``."""
    as_of = params.horizon_end_ms if as_of is None else as_of
    limit = window_days(window, params)
    out: dict[tuple[str, str], CohortCount] = {}
    for t in truths:
        if t.opened_at > as_of:
            continue
        cell = out.setdefault((cohort_of(t, cohort), t.channel), CohortCount())
        _count(cell, t, params, limit, window, as_of)
    return out


def _count(
    cell: CohortCount,
    t: CustomerTruth,
    params: SimulationParams,
    limit: int | None,
    window: Window | None,
    as_of: int,
) -> None:
    cell.customers += 1
    span = (limit if limit is not None else 0) + params.dormancy_days
    if limit is not None and t.opened_at + span * DAY_MS <= as_of:
        cell.complete += 1
    if t.kind and t.defected_as_of(as_of) and in_window(t, window, params):
        cell.defected += 1
        if t.kind == "closure":
            cell.closure += 1
        else:
            cell.silent_attrition += 1


def expected_stalls_by_rule(
    truths: Iterable[CustomerTruth],
    params: SimulationParams,
    as_of: int | None = None,
) -> dict[str, int]:
    """``{'no_login', 'not_funded', 'no_sticky', 'dormant'}`` counts as of ``as_of``."""
    as_of = params.horizon_end_ms if as_of is None else as_of
    counts: Counter[str] = Counter({r: 0 for r in STALL_RULES})
    for t in truths:
        if t.opened_at > as_of:
            continue
        for rule in STALL_RULES:
            if t.stalled(rule, params, as_of):
                counts[rule] += 1
    return dict(counts)


def calibration_summary(
    truths: Iterable[CustomerTruth], params: SimulationParams, as_of: int | None = None
) -> dict[str, Any]:
    """Mission calibration figures over customers whose first year is fully observed
    (opened_at + (365 + dormancy_days) days <= as_of, so every year-one silent leaver is
    already detected)."""
    as_of = params.horizon_end_ms if as_of is None else as_of
    span = (params.year_window_days + params.dormancy_days) * DAY_MS
    year, onb = params.year_window_days, params.onboarding_window_days
    full = [t for t in truths if t.opened_at + span <= as_of]

    def y1(t: CustomerTruth) -> bool:
        return t.defected_as_of(as_of) and t.defection_day is not None and t.defection_day < year

    def rate(group: list[CustomerTruth], pred: Any = y1) -> float:
        return sum(1 for t in group if pred(t)) / len(group) if group else float("nan")

    defectors = [t for t in full if y1(t)]
    by_channel = {ch: rate([t for t in full if t.channel == ch]) for ch, _ in params.channels}
    by_segment = {s: rate([t for t in full if t.segment == s]) for s, _ in params.segments}
    # Landmark at day 90 (both groups still customers then): year-one defection after day 90.
    alive90 = [t for t in full if not (t.defection_day is not None and t.defection_day < onb)]

    def complained_by_90(t: CustomerTruth) -> bool:
        return any((c.opened_at - t.opened_at) // DAY_MS < onb for c in t.complaints)

    def late_y1(t: CustomerTruth) -> bool:
        return y1(t)

    return {
        "fully_observed": len(full),
        "year1_attrition": rate(full),
        "share_within_90_days": (
            sum(1 for t in defectors if (t.defection_day or 0) < onb) / len(defectors)
            if defectors
            else float("nan")
        ),
        "by_channel": by_channel,
        "digital_opened": rate([t for t in full if t.channel in DIGITAL_CHANNELS]),
        "branch_opened": rate([t for t in full if t.channel == "branch"]),
        "by_segment": by_segment,
        "complained_by_day_90": rate([t for t in alive90 if complained_by_90(t)], late_y1),
        "no_complaint_by_day_90": rate([t for t in alive90 if not complained_by_90(t)], late_y1),
        "kinds": dict(Counter(t.kind for t in defectors)),
    }

"""Thresholds of the journey rules: deadlines, dormancy, lateness, risk weights.

Plain frozen dataclasses so the pure core imports nothing but the standard library; the
settings object (``streams.settings``) validates them from environment variables and files,
e.g. ``JOURNEY_ENGINE__DORMANCY_DAYS=45`` or, for the rule list, a JSON array in
``JOURNEY_ENGINE__STALL_RULES``. Every field is documented in ``docs/rules.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Milestones a stall rule can watch. The one-off kinds are "first reached at" instants; the
#: rolling kind ``customer_transaction`` is a stream of instants in which gaps are looked for.
ONE_OFF_MILESTONES: frozenset[str] = frozenset(
    {"login", "activated", "funded", "first_transaction", "engaged", "sticky"}
)
ROLLING_MILESTONES: frozenset[str] = frozenset({"customer_transaction", "activity"})


@dataclass(frozen=True, slots=True)
class StallRule:
    """One onboarding deadline, as data so banks can add or tune rules without code.

    One-off rule (``within_days == 0``): raised at ``opening + deadline_days`` when the
    milestone was not reached strictly before that instant; cleared when it is reached later.
    Rolling rule (``within_days > 0``): raised whenever ``deadline_days`` pass with no
    milestone event (counting from opening or from the previous one) while the instant is still
    inside ``[opening, opening + within_days)``; cleared by the next milestone event, after
    which it can be raised again (a new episode).
    """

    name: str
    milestone: str
    deadline_days: int
    within_days: int = 0
    #: Contribution of this open stall to the defection-risk score.
    risk_weight: int = 15

    def __post_init__(self) -> None:
        allowed = ROLLING_MILESTONES if self.within_days > 0 else ONE_OFF_MILESTONES
        if self.milestone not in allowed:
            raise ValueError(
                f"stall rule {self.name!r}: milestone {self.milestone!r} not in {sorted(allowed)}"
            )
        if self.deadline_days <= 0 or self.within_days < 0:
            raise ValueError(f"stall rule {self.name!r}: deadline_days must be > 0")

    @property
    def rolling(self) -> bool:
        """True for gap rules that can fire several times (one episode per gap)."""
        return self.within_days > 0


DEFAULT_STALL_RULES: tuple[StallRule, ...] = (
    StallRule("no_login_by_day_7", "login", 7, risk_weight=15),
    StallRule("not_funded_by_day_30", "funded", 30, risk_weight=20),
    StallRule(
        "no_activity_30_days_in_day_90", "customer_transaction", 30, within_days=90, risk_weight=10
    ),
    StallRule("no_sticky_by_day_90", "sticky", 90, risk_weight=15),
)


@dataclass(frozen=True, slots=True)
class CohortSlice:
    """A cohort-age slice for alerting: the customers whose opening lies between ``from_days``
    and ``to_days`` before the partition watermark, and how many of them have the stall rule
    ``rule`` open (e.g. of the customers who opened 7-14 days ago, those with no login yet).

    The engine counts both (numerator and denominator, per opening channel); the worker
    exposes them as separate gauges so alert rules sum them over workers before dividing.
    ``alert_ratio`` and ``min_customers`` are the alert's threshold (share of the slice
    stalled) and the smallest slice worth alerting on; the worker exports them as gauges
    so the Prometheus rules read them instead of hard-coding numbers.
    """

    rule: str
    from_days: int
    to_days: int
    alert_ratio: float = 0.30
    min_customers: int = 20

    def __post_init__(self) -> None:
        if not 0 <= self.from_days < self.to_days:
            raise ValueError(f"cohort slice {self.rule!r}: need 0 <= from_days < to_days")
        if not 0.0 < self.alert_ratio <= 1.0 or self.min_customers < 0:
            raise ValueError(
                f"cohort slice {self.rule!r}: need 0 < alert_ratio <= 1, min_customers >= 0"
            )


DEFAULT_COHORT_SLICES: tuple[CohortSlice, ...] = (
    CohortSlice("no_login_by_day_7", 7, 14, alert_ratio=0.30, min_customers=20),
    CohortSlice("not_funded_by_day_30", 30, 37, alert_ratio=0.35, min_customers=20),
)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Every threshold the journey engine uses. Defaults follow ``../shared/MISSION.md``."""

    #: Events older than (partition watermark - allowed lateness) go to the too-late output.
    #: One day: absorbs overnight batch feeds and the skew between the five input topics while
    #: a worker catches up; every decision waits this long, which is below the one-day
    #: granularity of every rule.
    allowed_lateness_s: int = 86_400
    #: Length of the onboarding window anchored at account opening.
    onboarding_window_days: int = 90
    #: Length of the first-year window anchored at account opening.
    year_window_days: int = 365
    #: Silent attrition: no customer-initiated activity for this many days.
    dormancy_days: int = 60
    #: Events of a customer with no account_opened are held this long (event time) for it.
    orphan_hold_s: int = 2 * 86_400
    #: True: the watermark follows the events themselves (max seen - lateness); right for a
    #: single ordered input such as a backfill. The stream worker sets False and drives the
    #: watermark with ``advance()`` from the minimum over its input topics, because Kafka
    #: delivers the five topics at different paces.
    watermark_from_events: bool = True
    #: Onboarding deadlines (see :class:`StallRule`).
    stall_rules: tuple[StallRule, ...] = DEFAULT_STALL_RULES
    #: Distinct sticky services (digital, debit_card, bill_pay, direct_deposit) for "sticky".
    sticky_services_required: int = 2
    #: Customer-initiated transactions that make a customer "engaged".
    engaged_min_transactions: int = 5
    #: A window closes "dormant" when no customer-initiated activity happened in its last N days.
    window_inactive_days: int = 30
    #: Balance drain: total known balance below this floor (minor units) after having been at
    #: or above it ...
    balance_floor_minor: int = 1_000
    #: ... continuously for this many days is a silent-attrition defection.
    drain_days: int = 30
    #: A customer-initiated debit to another bank of at least this amount (minor units) ...
    large_outbound_minor: int = 250_000
    #: ... followed by this many days without customer-initiated activity is a defection.
    outbound_inactivity_days: int = 14
    #: Risk reason "inactive" once this many days pass without customer-initiated activity.
    risk_inactive_days: int = 21
    risk_weight_digital_opening: int = 10
    risk_weight_complaint_open: int = 20
    #: Added on top of complaint_open when an open complaint is high or critical.
    risk_weight_complaint_severe: int = 10
    risk_weight_inactive: int = 15
    risk_weight_balance_drained: int = 15
    risk_weight_outbound_transfer: int = 20
    risk_weight_resurrected: int = 10
    risk_weight_defected: int = 100
    #: Score at or above which the band is medium / high (high = the "at_risk" cohort).
    risk_band_medium: int = 40
    risk_band_high: int = 70
    #: Cohort-age slices counted for the alert rules (see :class:`CohortSlice`); a slice whose
    #: rule is not in ``stall_rules`` is ignored.
    cohort_slices: tuple[CohortSlice, ...] = DEFAULT_COHORT_SLICES
    #: Openings are counted per bucket of this many seconds of opening time; a bucket is in a
    #: slice while the age of its end is in [from_days, to_days) (so every customer counted
    #: has passed from_days; the oldest is at most one bucket past to_days).
    cohort_bucket_s: int = 3_600

    def __post_init__(self) -> None:
        if self.allowed_lateness_s < 0 or self.orphan_hold_s < 0:
            raise ValueError("allowed_lateness_s and orphan_hold_s must be >= 0")
        if not 0 < self.onboarding_window_days <= self.year_window_days:
            raise ValueError("need 0 < onboarding_window_days <= year_window_days")
        if self.sticky_services_required not in (1, 2, 3, 4):
            raise ValueError("sticky_services_required must be 1..4")
        if self.engaged_min_transactions < 1:
            raise ValueError("engaged_min_transactions must be >= 1")
        if len({r.name for r in self.stall_rules}) != len(self.stall_rules):
            raise ValueError("stall rule names must be unique")
        if not 0 < self.risk_band_medium <= self.risk_band_high <= 100:
            raise ValueError("need 0 < risk_band_medium <= risk_band_high <= 100")
        if len({c.rule for c in self.cohort_slices}) != len(self.cohort_slices):
            raise ValueError("cohort slices must name distinct stall rules")
        if self.cohort_bucket_s <= 0:
            raise ValueError("cohort_bucket_s must be > 0")

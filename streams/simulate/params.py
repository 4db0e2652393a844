"""Every knob of the synthetic bank, as one frozen, documented, overridable dataclass.

Why one object: the simulator is the *independent ground truth* the journey engine is checked
against, so every rate that shapes a customer's journey must be visible, written into the truth
file's header and reproducible from it. Override with ``dataclasses.replace(DEFAULTS, ...)`` or
``SimulationParams(n_customers=..., ...)``.

The defaults are calibrated to ``MISSION.md``: year-one attrition of new customers 20–25 %, about
half of it in the first 90 days; digitally opened accounts retain worse than branch-opened ones;
complaints and missed onboarding milestones raise the defection hazard; sticky services (debit
card, bill pay, direct deposit) lower it. ``tests/simulate/test_simulate_truth.py`` checks it over
the ground truth.

Mixes and per-category profiles are tuples of ``(name, value)`` pairs (not dicts) so the object
stays hashable and immutable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000

#: Opening channels the simulator uses (a subset of the schema's Channel enum).
OPENING_CHANNELS: tuple[str, ...] = ("branch", "online", "mobile", "contact_centre")
#: Channels that count as "digitally opened" in cohort answers.
DIGITAL_CHANNELS: frozenset[str] = frozenset({"online", "mobile"})


@dataclass(frozen=True, slots=True)
class ChannelProfile:
    """How customers opened through one channel behave."""

    #: Share of openings through this channel.
    weight: float
    #: Multiplier on the defection hazard (digital openers retain worse than branch openers).
    hazard_mult: float
    #: Probability the customer is digital-only (never uses branch, ATM or contact centre).
    p_digital_only: float
    #: Probability of ever logging in (online or mobile) while a customer.
    p_login: float
    #: Mean delay, in days, from opening to the first successful login (exponential).
    login_delay_mean_days: float
    #: Mean delay, in days, from opening to the first credit (funding; exponential).
    funding_delay_mean_days: float


@dataclass(frozen=True, slots=True)
class SegmentProfile:
    """How one CRM segment behaves."""

    weight: float
    hazard_mult: float
    #: Multiplier on every routine activity rate (logins, purchases, transfers).
    activity_mult: float
    #: Typical amount scale (1.0 = mass market).
    amount_scale: float
    #: Multiplier on the probability of taking up direct deposit (salary / benefits).
    direct_deposit_mult: float
    #: Who pays the direct deposit: 'employer' or 'government'.
    direct_deposit_payer: str
    #: Multiplier on the complaint rate.
    complaint_mult: float
    #: True when the monthly account fee is waived for this segment.
    fee_free: bool


@dataclass(frozen=True, slots=True)
class ProductProfile:
    """How the primary product opened shapes the journey."""

    weight: float
    hazard_mult: float
    #: Multiplier on the take-up probabilities of the three sticky services.
    sticky_mult: float
    #: Annual interest rate credited monthly on a positive balance (bank-initiated).
    interest_rate: float
    #: Monthly maintenance fee in minor units (bank-initiated), 0 = none.
    monthly_fee_minor: int


def _default_channels() -> tuple[tuple[str, ChannelProfile], ...]:
    return (
        ("branch", ChannelProfile(0.45, 0.75, 0.02, 0.80, 6.0, 1.5)),
        ("online", ChannelProfile(0.25, 1.60, 0.45, 0.96, 0.8, 5.0)),
        ("mobile", ChannelProfile(0.22, 1.45, 0.45, 0.97, 0.5, 5.0)),
        ("contact_centre", ChannelProfile(0.08, 1.10, 0.05, 0.85, 4.0, 4.0)),
    )


def _default_segments() -> tuple[tuple[str, SegmentProfile], ...]:
    return (
        ("mass", SegmentProfile(0.50, 1.00, 1.00, 1.0, 1.0, "employer", 1.0, False)),
        ("affluent", SegmentProfile(0.12, 0.80, 1.10, 3.0, 1.1, "employer", 0.8, False)),
        ("student", SegmentProfile(0.12, 1.30, 1.30, 0.4, 0.4, "employer", 0.8, True)),
        ("social", SegmentProfile(0.10, 1.20, 0.80, 0.6, 1.2, "government", 1.2, True)),
        ("status", SegmentProfile(0.06, 0.70, 1.00, 5.0, 1.1, "employer", 1.3, True)),
        ("small_business", SegmentProfile(0.10, 0.90, 1.40, 4.0, 0.5, "employer", 1.2, False)),
    )


def _default_products() -> tuple[tuple[str, ProductProfile], ...]:
    return (
        ("current_account", ProductProfile(0.70, 1.00, 1.00, 0.001, 500)),
        ("savings", ProductProfile(0.15, 1.20, 0.35, 0.030, 0)),
        ("credit_card", ProductProfile(0.10, 1.10, 0.70, 0.0, 0)),
        ("loan", ProductProfile(0.05, 0.60, 0.50, 0.0, 0)),
    )


@dataclass(frozen=True, slots=True)
class SimulationParams:
    """All rates of the synthetic bank. Times are UTC; durations in days unless named _ms."""

    # -- population and calendar ------------------------------------------------------------
    #: Number of new customers (each opens exactly one journey-starting account).
    n_customers: int = 20_000
    #: Master seed: same seed + same params -> byte-identical events and truth.
    seed: int = 20240101
    #: First possible opening instant (00:00 UTC of this date).
    start_date: date = date(2024, 1, 1)
    #: Openings are spread uniformly over this many months after start_date.
    opening_months: int = 3
    #: The simulation stops here (00:00 UTC, exclusive): no event occurs at or after it.
    horizon_end: date = date(2025, 4, 1)
    #: Prefix of customer ids ("c0000042").
    customer_id_prefix: str = "c"
    #: ISO 4217 currency of every transaction.
    currency: str = "EUR"

    # -- who opens where --------------------------------------------------------------------
    channels: tuple[tuple[str, ChannelProfile], ...] = field(default_factory=_default_channels)
    segments: tuple[tuple[str, SegmentProfile], ...] = field(default_factory=_default_segments)
    products: tuple[tuple[str, ProductProfile], ...] = field(default_factory=_default_products)
    #: Number of branches; branch i belongs to regions[i % len(regions)].
    n_branches: int = 40
    regions: tuple[str, ...] = ("north", "south", "east", "west", "central")
    #: Share of openings carrying an acquisition campaign code, and the codes.
    p_campaign: float = 0.35
    campaigns: tuple[str, ...] = ("welcome_bonus", "switch_offer", "student_promo", "referral")
    #: Probability a customer later opens a second product (is_new_customer=false).
    p_second_product: float = 0.12
    #: Mean delay (days after funding) of the second opening.
    second_product_delay_mean_days: float = 60.0
    #: Probability a staying customer closes that second product (closure, last_account=false).
    p_close_second_product: float = 0.25

    # -- onboarding milestones --------------------------------------------------------------
    #: Probability of ever funding the account (first credit). Delay: per channel profile.
    p_funding: float = 0.93
    #: Take-up probabilities of the sticky services (times product sticky_mult, segment dd mult).
    p_debit_card: float = 0.78
    p_bill_pay: float = 0.45
    p_direct_deposit: float = 0.50
    #: Mean delays (days after funding, exponential) of the first use of each sticky service.
    debit_card_delay_mean_days: float = 8.0
    bill_pay_delay_mean_days: float = 25.0
    direct_deposit_delay_mean_days: float = 20.0
    #: Stall deadlines (days after opening): no successful login / no credit / no sticky use.
    login_deadline_days: int = 7
    funding_deadline_days: int = 30
    sticky_deadline_days: int = 90

    # -- routine activity (events per day while active, times segment activity_mult) --------
    login_rate: float = 0.25
    failed_login_rate: float = 0.015
    card_purchase_rate: float = 0.30
    bill_pay_rate: float = 2.0 / 30
    #: Direct deposits are paid every this many days (± 2 days of jitter).
    direct_deposit_period_days: float = 30.0
    transfer_in_rate: float = 1.0 / 30
    transfer_out_rate: float = 2.0 / 30
    #: Share of routine outbound transfers that go to another bank (noise for the engine).
    p_transfer_out_other_bank: float = 0.3
    atm_withdrawal_rate: float = 1.5 / 30
    cash_deposit_rate: float = 0.5 / 30
    #: Fees and interest are posted every this many days from funding (bank-initiated).
    posting_period_days: float = 30.0
    #: Customer debits never take the balance below this (except first uses of a service).
    keep_balance_minor: int = 2_000

    # -- complaints -------------------------------------------------------------------------
    #: Expected complaints per customer-year while active (times segment complaint_mult).
    complaint_rate_per_year: float = 0.10
    complaint_categories: tuple[tuple[str, float], ...] = (
        ("fees", 0.25),
        ("service", 0.20),
        ("digital", 0.20),
        ("card", 0.10),
        ("fraud", 0.05),
        ("product", 0.10),
        ("onboarding", 0.10),
    )
    complaint_severities: tuple[tuple[str, float], ...] = (
        ("low", 0.40),
        ("medium", 0.35),
        ("high", 0.20),
        ("critical", 0.05),
    )
    #: Share of complaints that get a 'resolved' event, and mean days to resolve (exponential).
    p_complaint_resolved: float = 0.85
    complaint_resolve_mean_days: float = 10.0
    #: Whether the bank still resolves a silent leaver's complaint during their silence
    #: (a bank-side event that must NOT count as customer activity).
    resolve_after_silence: bool = True

    # -- defection hazard -------------------------------------------------------------------
    #: Base daily hazard in days [0, 90), [90, 365) and from day 365 on.
    hazard_day_90: float = 0.0012
    hazard_year_1: float = 0.00042
    hazard_after_year_1: float = 0.00045
    #: Each complaint raised multiplies the hazard by this, counting at most complaint_cap.
    complaint_hazard_mult: float = 5.0
    complaint_cap: int = 2
    #: Multipliers from the deadline on when the milestone was missed by it.
    missed_login_hazard_mult: float = 1.4
    missed_funding_hazard_mult: float = 2.0
    missed_sticky_hazard_mult: float = 1.6
    #: Multipliers from the first use of each sticky service on.
    debit_card_hazard_mult: float = 0.75
    bill_pay_hazard_mult: float = 0.70
    direct_deposit_hazard_mult: float = 0.55
    #: Multiplier for digital-only customers (on top of the opening channel's).
    digital_only_hazard_mult: float = 1.15

    # -- how a defection happens ------------------------------------------------------------
    #: Probability a defection is an explicit closure of the last account (else silent).
    p_closure: float = 0.45
    #: ... when the customer has raised a complaint before defecting.
    p_closure_after_complaint: float = 0.70
    closure_reasons: tuple[tuple[str, float], ...] = (
        ("customer_request", 0.36),
        ("switched_bank", 0.26),
        ("fees", 0.10),
        ("service", 0.10),
        ("relocation", 0.10),
        ("deceased", 0.02),
        ("bank_initiated", 0.03),
        ("fraud", 0.01),
        ("other", 0.02),
    )
    #: Probability a leaver first drains the balance with an outbound transfer to another bank.
    p_drain_closure: float = 0.50
    p_drain_silent: float = 0.40
    #: Share of silent leavers who come back (resurrection) after the dormancy was detected.
    p_resurrection: float = 0.12
    #: Mean days after detection (last activity + dormancy_days + 1) before the comeback.
    resurrection_delay_mean_days: float = 60.0

    # -- definitions the engine must share ---------------------------------------------------
    #: Silent attrition is detected dormancy_days after the last customer-initiated activity.
    #: MUST equal the engine's ``EngineConfig.dormancy_days``.
    dormancy_days: int = 60
    #: Active customers never go this long without customer-initiated activity (must be well
    #: below dormancy_days, so only decided leavers ever look dormant). A customer with no
    #: login and no funding within this many days of opening is a silent leaver on day 0.
    max_active_gap_days: int = 21
    #: Windows (days since opening) of the cohort answers.
    onboarding_window_days: int = 90
    year_window_days: int = 365

    def __post_init__(self) -> None:
        if self.n_customers < 1:
            raise ValueError("n_customers must be >= 1")
        if self.max_active_gap_days >= self.dormancy_days:
            raise ValueError("max_active_gap_days must be < dormancy_days")
        if self.opening_end_ms >= self.horizon_end_ms:
            raise ValueError("horizon_end must be after the opening period")
        for name in ("channels", "segments", "products"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")
        unknown = {c for c, _ in self.channels} - set(OPENING_CHANNELS)
        if unknown:
            raise ValueError(f"unknown opening channels {sorted(unknown)}")

    # -- derived instants -------------------------------------------------------------------
    @property
    def start_ms(self) -> int:
        """First opening instant, epoch ms."""
        return _date_ms(self.start_date)

    @property
    def opening_end_ms(self) -> int:
        """End (exclusive) of the opening period, epoch ms."""
        return _date_ms(_add_months(self.start_date, self.opening_months))

    @property
    def horizon_end_ms(self) -> int:
        """End (exclusive) of simulated time, epoch ms."""
        return _date_ms(self.horizon_end)

    def channel(self, name: str) -> ChannelProfile:
        return dict(self.channels)[name]

    def segment(self, name: str) -> SegmentProfile:
        return dict(self.segments)[name]

    def product(self, name: str) -> ProductProfile:
        return dict(self.products)[name]

    def branch_region(self, branch_index: int) -> tuple[str, str]:
        """(branch_id, region) of a branch index."""
        return f"b{branch_index:03d}", self.regions[branch_index % len(self.regions)]

    # -- (de)serialisation for the truth header --------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (dates as ISO strings, profiles as dicts)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif f.name in ("channels", "segments", "products"):
                value = [[name, dataclasses.asdict(profile)] for name, profile in value]
            elif isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            out[f.name] = value
        return out

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> SimulationParams:
        """Inverse of :meth:`to_json_dict` (unknown keys are ignored)."""
        profile_types: dict[str, Any] = {
            "channels": ChannelProfile,
            "segments": SegmentProfile,
            "products": ProductProfile,
        }
        kwargs: dict[str, Any] = {}
        names = {f.name for f in dataclasses.fields(cls)}
        for key, value in data.items():
            if key not in names:
                continue
            if key in ("start_date", "horizon_end"):
                value = date.fromisoformat(value)
            elif key in profile_types:
                value = tuple((n, profile_types[key](**p)) for n, p in value)
            elif isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            kwargs[key] = value
        return cls(**kwargs)


@lru_cache(maxsize=256)
def _date_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, min(d.day, 28) if d.day > 28 else d.day)


DEFAULTS = SimulationParams()

"""Per-customer state: what is known about one customer, in two layers.

*Facts* (first times, counts, sets keyed by id, latest-by-time values) are updated the moment
an event is accepted and do not depend on arrival order, so snapshots are real time.

*As-of* values (last activity before an instant, balance at an instant, open complaints,
window aggregates) need the events in event-time order. Accepted events therefore also enter
``recent``, a small list sorted by (occurred_at, event_id); entries are *folded* into the
``f_*`` fields in that order once the partition watermark has passed them, i.e. once no earlier
event can still arrive. Every decision at an instant T first folds the entries before T, so it
sees exactly the events before T whatever order they arrived in.

*Decisions* (stalls, windows closed, defection episode, risk) record what was emitted.

The class is a plain ``__slots__`` object: millions of them live in one process, and
``codec.py`` serialises the slots in ``FIELDS`` order as a compact JSON array.
"""

from __future__ import annotations

from typing import Any

DAY_MS = 86_400_000
#: Smaller than any real event time: the watermark of a partition that has seen nothing.
NEVER = -(2**62)

# Codes of entries in ``recent`` (one per accepted event).
OPEN = 0  # account opened (customer-initiated activity)
LOGIN_OK = 1  # successful login (activity)
LOGIN_FAIL = 2  # failed login (a touchpoint, not activity)
TX_CI = 3  # customer-initiated transaction (activity)
TX_CI_BIG_OUT = 4  # customer-initiated debit >= large_outbound_minor to another bank
TX_BANK = 5  # bank-initiated posting: interest, fee ... (neither activity nor touchpoint)
CMP_OPEN = 6
CMP_RESOLVED = 7
CLOSURE = 8

ACTIVITY_CODES = frozenset({OPEN, LOGIN_OK, TX_CI, TX_CI_BIG_OUT})
CITX_CODES = frozenset({TX_CI, TX_CI_BIG_OUT})
CODE_EVENT_TYPE = (
    "account_opened",
    "login",
    "login",
    "transaction",
    "transaction",
    "transaction",
    "complaint",
    "complaint",
    "closure",
)

#: Entry of ``recent``: (occurred_at, event_id, code, channel, ref, amount, balance_after).
#: ref is the account id (transactions) or complaint id (complaints); amount is signed minor
#: units for transactions (+credit / -debit) and the severity rank for complaints.
Entry = tuple[int, str, int, str, str, int, int | None]

STICKY_SERVICES = ("digital", "debit_card", "bill_pay", "direct_deposit")
STAGES = ("opened", "activated", "funded", "engaged", "sticky")

#: Serialised slots, in order. Append new fields at the end and bump ``codec.STATE_VERSION``.
FIELDS: tuple[str, ...] = (
    "customer_id",
    "version",
    "n_events",
    "last_t",
    "opened_at",
    "open_eid",
    "open_channel",
    "branch_id",
    "region",
    "segment",
    "campaign",
    "first_open_t",
    "products",
    "first_login_t",
    "first_login_eid",
    "first_login_channel",
    "logins",
    "failed_logins",
    "first_tx_t",
    "funded_t",
    "first_citx_t",
    "tx_count",
    "citx_count",
    "credit_minor",
    "debit_minor",
    "engaged_ts",
    "sticky",
    "complaints",
    "closures",
    "last_closures",
    "touch",
    "balances",
    "seen",
    "held",
    "recent",
    "f_act",
    "f_act_big",
    "f_citx",
    "f_touch",
    "f_bal",
    "f_below",
    "f_above",
    "f_cmp",
    "w90",
    "w365",
    "stalls",
    "windows",
    "ep_kind",
    "ep_at",
    "episodes",
    "last_res",
    "risk_score",
    "risk_band",
    "risk_reasons",
    "risk_at",
    "risk_seq",
    "cohorts",
)

# Window aggregate slots: [events, successful logins, transactions, customer-initiated
# transactions, credits (minor), debits (minor), complaints opened].
W_EVENTS, W_LOGINS, W_TX, W_CITX, W_CREDIT, W_DEBIT, W_COMPLAINTS = range(7)


class CustomerState:
    """Everything the engine knows and has decided about one customer (see module doc)."""

    #: ``counted`` is not serialised: what the customer adds to the partition's aggregates
    #: (``aggregates.JourneyCounts``), rebuilt when the state is loaded.
    __slots__ = (*FIELDS, "counted")

    def __init__(self, customer_id: str) -> None:
        self.counted: tuple[str, str, int, tuple[str, ...]] | None = None
        self.customer_id = customer_id
        self.version = 0
        self.n_events = 0
        self.last_t: int | None = None
        self.opened_at: int | None = None
        self.open_eid = ""
        self.open_channel: str | None = None
        self.branch_id: str | None = None
        self.region: str | None = None
        self.segment: str | None = None
        self.campaign: str | None = None
        self.first_open_t: int | None = None
        self.products: dict[str, int] = {}
        self.first_login_t: int | None = None
        self.first_login_eid = ""
        self.first_login_channel: str | None = None
        self.logins: dict[str, int] = {}
        self.failed_logins = 0
        self.first_tx_t: int | None = None
        self.funded_t: int | None = None
        self.first_citx_t: int | None = None
        self.tx_count = 0
        self.citx_count = 0
        self.credit_minor = 0
        self.debit_minor = 0
        self.engaged_ts: list[int] = []
        self.sticky: dict[str, int] = {}
        self.complaints: dict[str, list[Any]] = {}
        self.closures = 0
        self.last_closures: list[list[Any]] = []
        self.touch: list[Any] | None = None
        self.balances: dict[str, list[Any]] = {}
        self.seen: dict[str, int] = {}
        self.held: list[list[Any]] = []
        self.recent: list[Entry] = []
        self.f_act: int | None = None
        self.f_act_big = False
        self.f_citx: int | None = None
        self.f_touch: list[Any] | None = None
        self.f_bal: dict[str, int] = {}
        self.f_below: int | None = None
        self.f_above = False
        self.f_cmp: dict[str, list[Any]] = {}
        self.w90 = [0, 0, 0, 0, 0, 0, 0]
        self.w365 = [0, 0, 0, 0, 0, 0, 0]
        self.stalls: dict[str, list[Any]] = {}
        self.windows = 0
        self.ep_kind: str | None = None
        self.ep_at: int | None = None
        self.episodes = 0
        self.last_res: int | None = None
        self.risk_score = 0
        self.risk_band = "low"
        self.risk_reasons: list[tuple[str, int]] = []
        self.risk_at: int | None = None
        self.risk_seq = 0
        self.cohorts: dict[str, list[int]] = {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CustomerState):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CustomerState({self.customer_id!r}, version={self.version})"

    # ----- derived views -------------------------------------------------------------------

    @property
    def defected(self) -> bool:
        """True while a defection episode is open (not yet resurrected)."""
        return self.ep_kind is not None

    def open_stalls(self) -> list[str]:
        """Names of the stall rules currently raised, sorted."""
        return sorted(name for name, s in self.stalls.items() if s[1] is not None)

    def activated_t(self) -> int | None:
        """First successful login or customer-initiated transaction, whichever is earlier."""
        return _min_opt(self.first_login_t, self.first_citx_t)

    def engaged_t(self, required: int) -> int | None:
        """Instant of the ``required``-th customer-initiated transaction."""
        return self.engaged_ts[required - 1] if len(self.engaged_ts) >= required else None

    def sticky_t(self, required: int) -> int | None:
        """Instant the ``required``-th distinct sticky service was first used."""
        if len(self.sticky) < required:
            return None
        return sorted(self.sticky.values())[required - 1]

    def milestone_t(
        self, milestone: str, sticky_required: int, engaged_required: int
    ) -> int | None:
        """First instant a one-off milestone was reached (None = not yet)."""
        if milestone == "login":
            return self.first_login_t
        if milestone == "activated":
            return self.activated_t()
        if milestone == "funded":
            return self.funded_t
        if milestone == "first_transaction":
            return self.first_citx_t
        if milestone == "engaged":
            return self.engaged_t(engaged_required)
        if milestone == "sticky":
            return self.sticky_t(sticky_required)
        raise ValueError(f"unknown milestone {milestone!r}")

    def stage_times(self, sticky_required: int, engaged_required: int) -> dict[str, int | None]:
        """Instant each progress stage was reached (opened .. sticky)."""
        return {
            "opened": self.opened_at,
            "activated": self.activated_t(),
            "funded": self.funded_t,
            "engaged": self.engaged_t(engaged_required),
            "sticky": self.sticky_t(sticky_required),
        }

    def progress_stage(self, sticky_required: int, engaged_required: int, before: int) -> str:
        """Highest progress stage reached strictly before ``before``."""
        reached = "opened"
        for stage, t in self.stage_times(sticky_required, engaged_required).items():
            if t is not None and t < before:
                reached = stage
        return reached

    def stage(self, sticky_required: int, engaged_required: int) -> str:
        """Journey stage now: defected / dormant / stalled override the progress stage."""
        if self.ep_kind is not None:
            return "dormant" if self.ep_kind == "dormancy" else "defected"
        if any(s[1] is not None for s in self.stalls.values()):
            return "stalled"
        if self.opened_at is None:
            return "unknown"
        return self.progress_stage(sticky_required, engaged_required, 2**62)

    def balance(self) -> int | None:
        """Sum of the latest known balance of each account; None when none is known."""
        if not self.balances:
            return None
        return sum(b[2] for b in self.balances.values())

    def open_complaints(self) -> int:
        """Complaints opened and not resolved (real time)."""
        return sum(1 for c in self.complaints.values() if c[0] is not None and c[1] is None)


def _min_opt(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a < b else b

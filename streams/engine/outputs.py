"""Records the engine emits: frozen, slotted, each with a deterministic ``record_id``.

``record_id`` is built from the customer id, the record kind and what makes the record unique
(rule + episode, window name, event id, sequence number), never from wall-clock time or
arrival order, so a replay or re-delivery produces the same ids and a ClickHouse
ReplacingMergeTree keyed on it stays idempotent. ``to_row()`` flattens a record to primitives:
tuple-valued fields become JSON text, the carried raw event becomes ``event_json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


class _Record:
    """Shared ``to_row``; subclasses are ``@dataclass(frozen=True, slots=True)``."""

    __slots__ = ()
    kind: ClassVar[str] = ""

    def to_row(self) -> dict[str, Any]:
        """Flat dict of primitives (str, int, float, bool, None), plus ``kind``."""
        row: dict[str, Any] = {"kind": self.kind}
        name: str
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, tuple):
                row[name] = json.dumps(value, separators=(",", ":"))
            elif isinstance(value, Mapping):
                row[name + "_json"] = json.dumps(dict(value), separators=(",", ":"), default=str)
            else:
                row[name] = value
        return row


@dataclass(frozen=True, slots=True)
class CustomerSnapshot(_Record):
    """Current state of a customer; ``version`` grows with every change (ReplacingMergeTree)."""

    kind: ClassVar[str] = "snapshot"
    record_id: str
    customer_id: str
    version: int
    as_of_ms: int | None
    opened_at_ms: int | None
    opening_channel: str | None
    branch_id: str | None
    region: str | None
    segment: str | None
    campaign: str | None
    products: tuple[str, ...]
    stage: str
    activated_day: int | None
    funded_day: int | None
    engaged_day: int | None
    sticky_day: int | None
    first_login_at_ms: int | None
    first_login_channel: str | None
    logins_total: int
    logins_by_channel: tuple[tuple[str, int], ...]
    failed_logins: int
    first_transaction_at_ms: int | None
    funded_at_ms: int | None
    transactions: int
    customer_transactions: int
    credit_minor: int
    debit_minor: int
    digital_day: int | None
    debit_card_day: int | None
    bill_pay_day: int | None
    direct_deposit_day: int | None
    complaints_total: int
    complaints_open: int
    complaints_resolved: int
    mean_hours_to_resolve: float | None
    closures: int
    last_touch_at_ms: int | None
    last_touch_channel: str | None
    last_touch_type: str | None
    balance_minor: int | None
    open_stalls: tuple[str, ...]
    defected: bool
    defection_kind: str | None
    episodes: int
    risk_score: int
    risk_band: str
    risk_reasons: tuple[tuple[str, int], ...]
    #: Latest customer-initiated activity (successful login or transaction) or the opening.
    last_activity_at_ms: int | None = None
    last_complaint_at_ms: int | None = None
    #: Start of the open defection episode (closure time, or when the silence began).
    defected_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class WindowOutcome(_Record):
    """A day_90 or year_1 window closed: how the customer came out of it."""

    kind: ClassVar[str] = "window_outcome"
    record_id: str
    customer_id: str
    window: str
    window_start_ms: int
    window_end_ms: int
    outcome: str
    stage_reached: str
    milestones: tuple[str, ...]
    events: int
    logins: int
    transactions: int
    customer_transactions: int
    credit_minor: int
    debit_minor: int
    complaints_opened: int
    complaints_open_at_end: int
    open_stalls: tuple[str, ...]
    opening_channel: str | None
    branch_id: str | None
    region: str | None
    segment: str | None
    products: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StallRaised(_Record):
    """A milestone deadline passed unmet (early warning, not a defection)."""

    kind: ClassVar[str] = "stall_raised"
    record_id: str
    customer_id: str
    rule: str
    milestone: str
    episode: int
    at_ms: int
    day: int
    opened_at_ms: int
    opening_channel: str | None
    branch_id: str | None
    region: str | None
    segment: str | None
    #: Where the customer was when the deadline passed (progress stage, products).
    stage_reached: str = ""
    products: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StallCleared(_Record):
    """A raised stall's milestone was reached later."""

    kind: ClassVar[str] = "stall_cleared"
    record_id: str
    customer_id: str
    rule: str
    milestone: str
    episode: int
    at_ms: int
    day: int
    raised_at_ms: int
    stalled_days: float


@dataclass(frozen=True, slots=True)
class Defection(_Record):
    """The customer left: where (stage, touchpoint, channel, branch ...) and when."""

    kind: ClassVar[str] = "defection"
    record_id: str
    customer_id: str
    episode: int
    defection_kind: str
    detail: str
    at_ms: int
    day: int
    window: str
    opened_at_ms: int
    stage_reached: str
    last_touch_at_ms: int | None
    last_touch_channel: str | None
    last_touch_type: str | None
    opening_channel: str | None
    branch_id: str | None
    region: str | None
    segment: str | None
    products: tuple[str, ...]
    complaint_open: bool
    complaint_open_days: int | None
    open_stalls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resurrection(_Record):
    """A silently-attrited (or closed) customer came back with customer-initiated activity."""

    kind: ClassVar[str] = "resurrection"
    record_id: str
    customer_id: str
    episode: int
    defection_kind: str
    defected_at_ms: int
    at_ms: int
    day: int
    absent_days: float


@dataclass(frozen=True, slots=True)
class RiskChange(_Record):
    """The defection-risk score or band changed; ``reasons`` are (reason, weight) pairs."""

    kind: ClassVar[str] = "risk_change"
    record_id: str
    customer_id: str
    seq: int
    at_ms: int
    score: int
    band: str
    previous_score: int
    previous_band: str
    reasons: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class CohortEntry(_Record):
    """The customer entered or left the ``stalled`` or ``at_risk`` cohort (for a CRM)."""

    kind: ClassVar[str] = "cohort_entry"
    record_id: str
    customer_id: str
    cohort: str
    action: str
    seq: int
    at_ms: int
    day: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TooLate(_Record):
    """An event older than the partition watermark: not applied, routed to a side output."""

    kind: ClassVar[str] = "too_late"
    record_id: str
    customer_id: str
    event_type: str
    event_id: str
    occurred_at_ms: int
    watermark_ms: int
    late_by_ms: int
    reason: str
    event: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Orphan(_Record):
    """An event whose customer had no account_opened within the hold time."""

    kind: ClassVar[str] = "orphan"
    record_id: str
    customer_id: str
    event_type: str
    event_id: str
    occurred_at_ms: int
    held_until_ms: int
    reason: str
    event: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Duplicate(_Record):
    """An event whose event_id was already applied: ignored, reported so it can be counted."""

    kind: ClassVar[str] = "duplicate"
    record_id: str
    customer_id: str
    event_type: str
    event_id: str
    occurred_at_ms: int
    reason: str


Output = (
    CustomerSnapshot
    | WindowOutcome
    | StallRaised
    | StallCleared
    | Defection
    | Resurrection
    | RiskChange
    | CohortEntry
    | TooLate
    | Orphan
    | Duplicate
)

"""The five input events, typed exactly as fastavro decodes ``schemas/*.avsc``.

logicalTypes are read as their base types (``occurred_at`` is epoch milliseconds, ``event_id``
a string), enums arrive as their symbol strings and nullable fields may be ``None``. The engine
reads events through ``Mapping`` access only, so any dict with these keys works; the TypedDicts
exist so the worker, the backfill and the tests agree on one contract (a test checks the keys
against the ``.avsc`` files).
"""

from __future__ import annotations

from typing import Literal, TypedDict

EventType = Literal["account_opened", "login", "transaction", "complaint", "closure"]
EVENT_TYPES: tuple[EventType, ...] = (
    "account_opened",
    "login",
    "transaction",
    "complaint",
    "closure",
)

Channel = Literal["branch", "online", "mobile", "atm", "contact_centre", "pos", "batch", "other"]
#: Channels whose use counts as the "digital banking" sticky service.
DIGITAL_CHANNELS: frozenset[str] = frozenset({"online", "mobile"})
SEVERITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class AccountOpened(TypedDict):
    event_id: str
    customer_id: str
    account_id: str | None
    occurred_at: int
    channel: str
    branch_id: str | None
    region: str | None
    product: str
    segment: str
    is_new_customer: bool
    campaign: str | None


class Login(TypedDict):
    event_id: str
    customer_id: str
    account_id: str | None
    occurred_at: int
    channel: str
    branch_id: str | None
    region: str | None
    success: bool
    auth_method: str | None


class Transaction(TypedDict):
    event_id: str
    customer_id: str
    account_id: str | None
    occurred_at: int
    channel: str
    branch_id: str | None
    region: str | None
    amount_minor: int
    currency: str
    direction: Literal["credit", "debit"]
    kind: str
    customer_initiated: bool
    counterparty_type: str
    balance_after_minor: int | None


class Complaint(TypedDict):
    event_id: str
    customer_id: str
    account_id: str | None
    occurred_at: int
    channel: str
    branch_id: str | None
    region: str | None
    complaint_id: str
    category: str
    severity: str
    status: Literal["opened", "resolved"]


class Closure(TypedDict):
    event_id: str
    customer_id: str
    account_id: str | None
    occurred_at: int
    channel: str
    branch_id: str | None
    region: str | None
    reason: str
    last_account: bool


#: Event type name -> its TypedDict, for the worker and the contract test.
EVENT_CLASSES: dict[str, type] = {
    "account_opened": AccountOpened,
    "login": Login,
    "transaction": Transaction,
    "complaint": Complaint,
    "closure": Closure,
}

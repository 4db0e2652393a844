"""Builders of input events as fastavro decodes them, for tests, the bench and backfill demos.

Shipped in the package (as bytewax ships its testing helpers) so every consumer of the engine
builds events the same way. Each builder returns ``(event_type, event)``; ``event_id`` is a
deterministic UUID from a process-wide counter unless given.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from streams.engine.state import DAY_MS

_ids = itertools.count(1)
Event = tuple[str, dict[str, Any]]


def new_id() -> str:
    """A fresh UUID text (deterministic sequence within a process)."""
    return str(uuid.UUID(int=next(_ids)))


def day(n: float) -> int:
    """``n`` days in milliseconds."""
    return int(n * DAY_MS)


def _base(cid: str, t: int, channel: str, event_id: str | None, **extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "event_id": event_id or new_id(),
        "customer_id": cid,
        "account_id": None,
        "occurred_at": t,
        "channel": channel,
        "branch_id": "b1",
        "region": "north",
    }
    ev.update(extra)
    return ev


def opened(
    cid: str,
    t: int,
    *,
    channel: str = "branch",
    product: str = "current_account",
    segment: str = "mass",
    is_new_customer: bool = True,
    account_id: str = "acc1",
    event_id: str | None = None,
    campaign: str | None = None,
) -> Event:
    return "account_opened", _base(
        cid,
        t,
        channel,
        event_id,
        account_id=account_id,
        product=product,
        segment=segment,
        is_new_customer=is_new_customer,
        campaign=campaign,
    )


def login(
    cid: str, t: int, *, channel: str = "mobile", success: bool = True, event_id: str | None = None
) -> Event:
    return "login", _base(cid, t, channel, event_id, success=success, auth_method="password")


def tx(
    cid: str,
    t: int,
    *,
    amount: int = 1_000,
    direction: str = "debit",
    kind: str = "card_purchase",
    customer_initiated: bool = True,
    counterparty: str = "merchant",
    balance: int | None = None,
    channel: str = "pos",
    account_id: str = "acc1",
    event_id: str | None = None,
) -> Event:
    return "transaction", _base(
        cid,
        t,
        channel,
        event_id,
        account_id=account_id,
        amount_minor=amount,
        currency="EUR",
        direction=direction,
        kind=kind,
        customer_initiated=customer_initiated,
        counterparty_type=counterparty,
        balance_after_minor=balance,
    )


def complaint(
    cid: str,
    t: int,
    complaint_id: str,
    *,
    status: str = "opened",
    severity: str = "medium",
    category: str = "fees",
    channel: str = "contact_centre",
    event_id: str | None = None,
) -> Event:
    return "complaint", _base(
        cid,
        t,
        channel,
        event_id,
        complaint_id=complaint_id,
        category=category,
        severity=severity,
        status=status,
    )


def closure(
    cid: str,
    t: int,
    *,
    last_account: bool = True,
    reason: str = "switched_bank",
    channel: str = "branch",
    account_id: str = "acc1",
    event_id: str | None = None,
) -> Event:
    return "closure", _base(
        cid, t, channel, event_id, account_id=account_id, reason=reason, last_account=last_account
    )

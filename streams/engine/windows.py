"""Windows anchored at account opening: day_90 = [opened, opened+90d), year_1 = [.., +365d).

Aggregates are accumulated when entries are folded (event-time order, see ``timeline.py``), so
a window's figures are exact even if the opening itself arrived after the customer's other
events. A window closes when the watermark passes its end and emits one WindowOutcome.
"""

from __future__ import annotations

from streams.engine.config import EngineConfig
from streams.engine.deadlines import PRIO_WINDOW, Due
from streams.engine.outputs import WindowOutcome
from streams.engine.state import (
    DAY_MS,
    STICKY_SERVICES,
    W_CITX,
    W_COMPLAINTS,
    W_CREDIT,
    W_DEBIT,
    W_EVENTS,
    W_LOGINS,
    W_TX,
    CustomerState,
)
from streams.engine.timeline import last_activity_before_now

DAY_90 = "day_90"
YEAR_1 = "year_1"
_BIT = {DAY_90: 1, YEAR_1: 2}


def next_due(st: CustomerState, cfg: EngineConfig, opened: int) -> Due | None:
    """End of the next window still open."""
    if not st.windows & 1:
        return (opened + cfg.onboarding_window_days * DAY_MS, PRIO_WINDOW, DAY_90)
    if not st.windows & 2:
        return (opened + cfg.year_window_days * DAY_MS, PRIO_WINDOW, YEAR_1)
    return None


def window_of(at: int, opened: int, cfg: EngineConfig) -> str:
    """Which window an instant falls in: day_90, year_1 or after_year_1."""
    if at < opened + cfg.onboarding_window_days * DAY_MS:
        return DAY_90
    if at < opened + cfg.year_window_days * DAY_MS:
        return YEAR_1
    return "after_year_1"


def milestones_before(st: CustomerState, cfg: EngineConfig, end: int) -> tuple[str, ...]:
    """Milestones and sticky services first reached strictly before ``end``."""
    reached = [("login", st.first_login_t)]
    reached += list(
        st.stage_times(cfg.sticky_services_required, cfg.engaged_min_transactions).items()
    )[1:]
    reached += [(s, st.sticky.get(s)) for s in STICKY_SERVICES]
    return tuple(name for name, t in reached if t is not None and t < end)


def close_window(st: CustomerState, cfg: EngineConfig, name: str, end: int) -> WindowOutcome:
    """Outcome as of ``end`` (entries before it are folded by the caller)."""
    opened = st.opened_at
    assert opened is not None
    st.windows |= _BIT[name]
    if st.ep_kind is not None:
        outcome = "dormant" if st.ep_kind == "dormancy" else "defected"
    else:
        last = last_activity_before_now(st)
        idle = end - (last if last is not None else opened)
        outcome = "dormant" if idle >= cfg.window_inactive_days * DAY_MS else "retained"
    w = st.w90 if name == DAY_90 else st.w365
    return WindowOutcome(
        record_id=f"{st.customer_id}:window:{name}",
        customer_id=st.customer_id,
        window=name,
        window_start_ms=opened,
        window_end_ms=end,
        outcome=outcome,
        stage_reached=st.progress_stage(
            cfg.sticky_services_required, cfg.engaged_min_transactions, end
        ),
        milestones=milestones_before(st, cfg, end),
        events=w[W_EVENTS],
        logins=w[W_LOGINS],
        transactions=w[W_TX],
        customer_transactions=w[W_CITX],
        credit_minor=w[W_CREDIT],
        debit_minor=w[W_DEBIT],
        complaints_opened=w[W_COMPLAINTS],
        complaints_open_at_end=sum(1 for c in st.f_cmp.values() if c[0] is not None and not c[2]),
        open_stalls=tuple(st.open_stalls()),
        opening_channel=st.open_channel,
        branch_id=st.branch_id,
        region=st.region,
        segment=st.segment,
        products=tuple(sorted(p for p, t in st.products.items() if t < end)),
    )

"""Defection: closure of the last account and three kinds of silent attrition.

Kinds (``Defection.defection_kind``):

* ``closure``: a closure with last_account=true, decided when the watermark passes it so that
  late-arriving earlier events still count as the last touchpoint;
* ``dormancy``: no customer-initiated activity (successful login, customer-initiated
  transaction, account opening) for ``dormancy_days`` since the last one (or the opening);
* ``outbound_transfer``: the last activity was a customer-initiated debit of at least
  ``large_outbound_minor`` to another bank, followed by ``outbound_inactivity_days`` of silence;
* ``balance_drained``: total known balance below ``balance_floor_minor`` for ``drain_days``
  after having been at or above it.

At most one defection per episode; customer-initiated activity after the defection instant
ends the episode (a Resurrection record) and a later defection opens a new one.
"""

from __future__ import annotations

from streams.engine.config import EngineConfig
from streams.engine.deadlines import (
    PRIO_DEFECT_CLOSURE,
    PRIO_DEFECT_DORMANCY,
    PRIO_DEFECT_DRAIN,
    PRIO_DEFECT_OUTBOUND,
    PRIO_RESURRECT,
    Due,
)
from streams.engine.outputs import Defection, Resurrection
from streams.engine.state import ACTIVITY_CODES, DAY_MS, NEVER, CustomerState
from streams.engine.timeline import drain_end, first_at_or_after, gap_end
from streams.engine.windows import window_of

CLOSURE = "closure"
DORMANCY = "dormancy"
OUTBOUND = "outbound_transfer"
DRAINED = "balance_drained"
_PRIO_KIND = {
    PRIO_DEFECT_CLOSURE: CLOSURE,
    PRIO_DEFECT_OUTBOUND: OUTBOUND,
    PRIO_DEFECT_DRAIN: DRAINED,
    PRIO_DEFECT_DORMANCY: DORMANCY,
}


def next_due(st: CustomerState, cfg: EngineConfig, opened: int) -> Due | None:
    """Earliest defection (or, inside an episode, resurrection) instant."""
    if st.ep_kind is not None:
        assert st.ep_at is not None
        back = first_at_or_after(st, st.ep_at, ACTIVITY_CODES)
        return None if back is None else (back, PRIO_RESURRECT, "")
    since = NEVER if st.last_res is None else st.last_res
    best: Due | None = None
    for c in st.last_closures:
        if c[0] > since:  # a closure at the resurrection instant belongs to the old episode
            best = (c[0], PRIO_DEFECT_CLOSURE, c[2])
            break
    base = opened if st.last_res is None else max(opened, st.last_res)
    end, big = gap_end(
        st,
        base,
        st.f_act,
        st.f_act_big,
        ACTIVITY_CODES,
        cfg.dormancy_days * DAY_MS,
        cfg.outbound_inactivity_days * DAY_MS,
    )
    gap: Due = (end, PRIO_DEFECT_OUTBOUND if big else PRIO_DEFECT_DORMANCY, "")
    if best is None or gap < best:
        best = gap
    drained = drain_end(st, cfg, since)
    if drained is not None and (drained, PRIO_DEFECT_DRAIN, "") < best:
        best = (drained, PRIO_DEFECT_DRAIN, "")
    return best


def defect(st: CustomerState, cfg: EngineConfig, due: Due, opened: int) -> Defection:
    """Open a defection episode at ``due``; entries before it are folded by the caller."""
    at, prio, arg = due
    kind = _PRIO_KIND[prio]
    st.episodes += 1
    st.ep_kind = kind
    st.ep_at = at
    if kind == CLOSURE:
        detail = arg
    elif kind == DORMANCY:
        detail = f"no_customer_activity_{cfg.dormancy_days}d"
    elif kind == OUTBOUND:
        detail = f"outbound_to_other_bank_then_{cfg.outbound_inactivity_days}d_inactive"
    else:
        detail = f"balance_below_{cfg.balance_floor_minor}_for_{cfg.drain_days}d"
    opened_cmp = [c[0] for c in st.f_cmp.values() if c[0] is not None and not c[2]]
    touch = st.f_touch
    return Defection(
        record_id=f"{st.customer_id}:defection:{st.episodes}",
        customer_id=st.customer_id,
        episode=st.episodes,
        defection_kind=kind,
        detail=detail,
        at_ms=at,
        day=(at - opened) // DAY_MS,
        window=window_of(at, opened, cfg),
        opened_at_ms=opened,
        stage_reached=st.progress_stage(
            cfg.sticky_services_required, cfg.engaged_min_transactions, at
        ),
        last_touch_at_ms=None if touch is None else touch[0],
        last_touch_channel=None if touch is None else touch[1],
        last_touch_type=None if touch is None else touch[2],
        opening_channel=st.open_channel,
        branch_id=st.branch_id,
        region=st.region,
        segment=st.segment,
        products=tuple(sorted(p for p, t in st.products.items() if t < at)),
        complaint_open=bool(opened_cmp),
        complaint_open_days=(at - max(opened_cmp)) // DAY_MS if opened_cmp else None,
        open_stalls=tuple(st.open_stalls()),
    )


def resurrect(st: CustomerState, at: int, opened: int) -> Resurrection:
    """Customer-initiated activity at ``at`` ends the open episode."""
    kind = st.ep_kind
    since = st.ep_at
    assert kind is not None and since is not None
    st.ep_kind = None
    st.ep_at = None
    st.last_res = at
    return Resurrection(
        record_id=f"{st.customer_id}:resurrection:{st.episodes}",
        customer_id=st.customer_id,
        episode=st.episodes,
        defection_kind=kind,
        defected_at_ms=since,
        at_ms=at,
        day=(at - opened) // DAY_MS,
        absent_days=round((at - since) / DAY_MS, 3),
    )

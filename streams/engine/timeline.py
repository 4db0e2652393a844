"""Event-time-ordered view of a customer: folding ``recent`` and as-of questions.

Folding moves entries of ``recent`` (sorted by occurred_at, event_id) into the ``f_*`` fields
and the window aggregates. It is only ever done up to an instant the watermark has passed, so
the folded values are final. The *instants* computed here (end of an inactivity gap, end of a
balance drain) are read from folded values plus the not-yet-folded entries, so they are the
same whether or not a fold has happened: folding is a change of representation, not of meaning.
"""

from __future__ import annotations

from collections.abc import Callable

from streams.engine.config import EngineConfig
from streams.engine.state import (
    ACTIVITY_CODES,
    CITX_CODES,
    CMP_OPEN,
    CMP_RESOLVED,
    CODE_EVENT_TYPE,
    DAY_MS,
    LOGIN_OK,
    TX_BANK,
    TX_CI_BIG_OUT,
    W_CITX,
    W_COMPLAINTS,
    W_CREDIT,
    W_DEBIT,
    W_EVENTS,
    W_LOGINS,
    W_TX,
    CustomerState,
    Entry,
)

_TX_CODES = frozenset({3, 4, TX_BANK})


def _window_add(w: list[int], code: int, amount: int) -> None:
    w[W_EVENTS] += 1
    if code == LOGIN_OK:
        w[W_LOGINS] += 1
    elif code in _TX_CODES:
        w[W_TX] += 1
        if code != TX_BANK:
            w[W_CITX] += 1
        if amount >= 0:
            w[W_CREDIT] += amount
        else:
            w[W_DEBIT] -= amount
    elif code == CMP_OPEN:
        w[W_COMPLAINTS] += 1


def fold_entry(st: CustomerState, e: Entry, cfg: EngineConfig) -> None:
    """Apply one entry, in event-time order, to the as-of fields."""
    t, _eid, code, ch, ref, amount, bal = e
    if code in ACTIVITY_CODES:
        st.f_act = t
        st.f_act_big = code == TX_CI_BIG_OUT
        if code in CITX_CODES:
            st.f_citx = t
    if code != TX_BANK:
        st.f_touch = [t, ch, CODE_EVENT_TYPE[code]]
    if bal is not None:
        st.f_bal[ref] = bal
        if sum(st.f_bal.values()) >= cfg.balance_floor_minor:
            st.f_above = True
            st.f_below = None
        elif st.f_above and st.f_below is None:
            st.f_below = t
    if code == CMP_OPEN:
        c = st.f_cmp.get(ref)
        if c is None:
            st.f_cmp[ref] = [t, amount, 0]
        elif c[2]:
            del st.f_cmp[ref]  # resolution was seen first (source clock skew): closed case
        else:
            c[0] = t
            c[1] = amount
    elif code == CMP_RESOLVED:
        c = st.f_cmp.get(ref)
        if c is None:
            st.f_cmp[ref] = [None, 1, 1]
        elif c[0] is not None:
            del st.f_cmp[ref]
    a = st.opened_at
    if a is not None and t >= a:
        if t < a + cfg.onboarding_window_days * DAY_MS:
            _window_add(st.w90, code, amount)
        if t < a + cfg.year_window_days * DAY_MS:
            _window_add(st.w365, code, amount)


def fold_before(
    st: CustomerState,
    instant: int,
    cfg: EngineConfig,
    after_each: Callable[[CustomerState, Entry], None] | None = None,
) -> bool:
    """Fold every entry strictly before ``instant``; ``after_each(st, entry)`` follows each.

    Returns True when something was folded.
    """
    recent = st.recent
    n = 0
    for e in recent:
        if e[0] >= instant:
            break
        fold_entry(st, e, cfg)
        n += 1
        if after_each is not None:
            after_each(st, e)
    if n:
        del recent[:n]
        return True
    return False


def gap_end(
    st: CustomerState,
    base: int,
    folded_t: int | None,
    folded_big: bool,
    codes: frozenset[int],
    gap_ms: int,
    big_gap_ms: int,
) -> tuple[int, bool]:
    """First instant X at which no ``codes`` event happened in the gap before X.

    The gap is measured from the latest such event before X (or ``base`` if later), and lasts
    ``big_gap_ms`` instead of ``gap_ms`` when that event was a large outbound transfer.
    Returns (X, whether the gap started at a large outbound transfer).
    """
    last = base
    big = False
    if folded_t is not None and folded_t >= last:
        last = folded_t
        big = folded_big
    g = big_gap_ms if big else gap_ms
    for e in st.recent:
        t = e[0]
        if t >= last + g:
            break
        code = e[2]
        if code in codes and t >= last:
            last = t
            big = code == TX_CI_BIG_OUT
            g = big_gap_ms if big else gap_ms
    return last + g, big


def first_at_or_after(st: CustomerState, instant: int, codes: frozenset[int]) -> int | None:
    """Earliest not-yet-folded ``codes`` event at or after ``instant``."""
    for e in st.recent:
        if e[0] >= instant and e[2] in codes:
            return e[0]
    return None


def drain_end(st: CustomerState, cfg: EngineConfig, not_before: int) -> int | None:
    """Instant the balance will have been below the floor for ``drain_days``, if it stays so.

    The drain starts when the total known balance falls below the floor after having been at or
    above it (never-funded customers are the "not funded" stall's business, not a drain), and
    not before ``not_before`` (the last resurrection).
    """
    floor = cfg.balance_floor_minor
    span = cfg.drain_days * DAY_MS
    below = st.f_below
    above = st.f_above
    bal: dict[str, int] | None = None
    for e in st.recent:
        if below is not None and e[0] >= max(below, not_before) + span:
            break
        if e[6] is None:
            continue
        if bal is None:
            bal = dict(st.f_bal)
        bal[e[4]] = e[6]
        if sum(bal.values()) >= floor:
            above = True
            below = None
        elif above and below is None:
            below = e[0]
    if below is None:
        return None
    return max(below, not_before) + span


def last_activity_before_now(st: CustomerState) -> int | None:
    """Latest folded customer-initiated activity (or the opening), for as-of checks."""
    a = st.opened_at
    f = st.f_act
    if f is None:
        return a
    if a is None:
        return f
    return f if f > a else a

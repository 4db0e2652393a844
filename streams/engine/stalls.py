"""Onboarding deadlines: when each stall rule is due, and raising / clearing it.

Per-rule state in ``CustomerState.stalls[name]`` is ``[raised_once, open_since, episodes,
last_cleared]``. A one-off rule is decided at ``opening + deadline``: it is raised iff its
milestone's first instant is not strictly before the deadline (a min over events, so final once
the watermark passes the deadline) and cleared at the instant the milestone is reached. A
rolling rule is raised at the end of each gap without a milestone event inside its window and
cleared by the next such event.
"""

from __future__ import annotations

from streams.engine.config import EngineConfig, StallRule
from streams.engine.deadlines import PRIO_STALL_CLEAR, PRIO_STALL_RAISE, Due
from streams.engine.outputs import StallCleared, StallRaised
from streams.engine.state import ACTIVITY_CODES, CITX_CODES, DAY_MS, CustomerState
from streams.engine.timeline import first_at_or_after, gap_end


def _codes(rule: StallRule) -> frozenset[int]:
    return CITX_CODES if rule.milestone == "customer_transaction" else ACTIVITY_CODES


def _folded(st: CustomerState, rule: StallRule) -> int | None:
    return st.f_citx if rule.milestone == "customer_transaction" else st.f_act


def _milestone(st: CustomerState, rule: StallRule, cfg: EngineConfig) -> int | None:
    return st.milestone_t(
        rule.milestone, cfg.sticky_services_required, cfg.engaged_min_transactions
    )


Spec = tuple[StallRule, bool, int, int, frozenset[int], bool]


def specs(cfg: EngineConfig) -> tuple[Spec, ...]:
    """Precomputed (rule, rolling, deadline ms, within ms, codes, on transactions) per rule.

    Computed once per engine: hashing frozen dataclasses on every lookup is measurable.
    """
    return tuple(
        (
            r,
            r.rolling,
            r.deadline_days * DAY_MS,
            r.within_days * DAY_MS,
            _codes(r),
            r.milestone == "customer_transaction",
        )
        for r in cfg.stall_rules
    )


def next_due(
    st: CustomerState, cfg: EngineConfig, opened: int, rule_specs: tuple[Spec, ...]
) -> Due | None:
    """Earliest stall decision for this customer (None if nothing pending)."""
    best: Due | None = None
    stalls = st.stalls
    for rule, rolling, deadline_ms, within_ms, codes, on_tx in rule_specs:
        s = stalls.get(rule.name)
        due: Due | None = None
        if rolling:
            if s is None or s[1] is None:
                base = opened if s is None or s[3] is None else max(opened, s[3])
                folded = st.f_citx if on_tx else st.f_act
                end, _ = gap_end(st, base, folded, False, codes, deadline_ms, deadline_ms)
                if end < opened + within_ms:
                    due = (end, PRIO_STALL_RAISE, rule.name)
            else:
                hit = first_at_or_after(st, s[1], codes)
                if hit is not None:
                    due = (hit, PRIO_STALL_CLEAR, rule.name)
        elif s is None:
            m = _milestone(st, rule, cfg)
            deadline = opened + deadline_ms
            if m is None or m >= deadline:
                due = (deadline, PRIO_STALL_RAISE, rule.name)
        elif s[1] is not None:
            m = _milestone(st, rule, cfg)
            if m is not None:
                due = (m, PRIO_STALL_CLEAR, rule.name)
        if due is not None and (best is None or due < best):
            best = due
    return best


def _rule(cfg: EngineConfig, name: str) -> StallRule:
    for rule in cfg.stall_rules:
        if rule.name == name:
            return rule
    raise KeyError(name)


def raise_stall(
    st: CustomerState, cfg: EngineConfig, name: str, at: int, opened: int
) -> StallRaised | None:
    """Decide the rule at its instant; returns the record when the stall is raised."""
    rule = _rule(cfg, name)
    s = st.stalls.get(name)
    if s is None:
        s = st.stalls[name] = [0, None, 0, None]
    if not rule.rolling:
        m = _milestone(st, rule, cfg)
        s[0] = 1
        if m is not None and m < at:
            return None
    s[1] = at
    s[2] += 1
    return StallRaised(
        record_id=f"{st.customer_id}:stall:{name}:{s[2]}:raised",
        customer_id=st.customer_id,
        rule=name,
        milestone=rule.milestone,
        episode=s[2],
        at_ms=at,
        day=(at - opened) // DAY_MS,
        opened_at_ms=opened,
        opening_channel=st.open_channel,
        branch_id=st.branch_id,
        region=st.region,
        segment=st.segment,
        stage_reached=st.progress_stage(
            cfg.sticky_services_required, cfg.engaged_min_transactions, at
        ),
        products=tuple(sorted(st.products)),
    )


def clear_stall(
    st: CustomerState, cfg: EngineConfig, name: str, at: int, opened: int
) -> StallCleared:
    """The milestone was reached at ``at`` while the stall was open."""
    rule = _rule(cfg, name)
    s = st.stalls[name]
    raised = s[1]
    s[1] = None
    s[3] = at
    return StallCleared(
        record_id=f"{st.customer_id}:stall:{name}:{s[2]}:cleared",
        customer_id=st.customer_id,
        rule=name,
        milestone=rule.milestone,
        episode=s[2],
        at_ms=at,
        day=(at - opened) // DAY_MS,
        raised_at_ms=raised,
        stalled_days=round((at - raised) / DAY_MS, 3),
    )

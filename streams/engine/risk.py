"""Transparent defection-risk score: a capped sum of configured weights, one per reason.

The score is evaluated as of an event-time instant from folded (final) values and decisions
only, each time an event is folded and each time a decision fires. That makes the sequence of
risk changes a function of the customer's history, not of arrival order: a replay or a
reordering within the allowed lateness emits the same RiskChange records. The cost is that the
published score trails the newest event by at most the allowed lateness.
"""

from __future__ import annotations

from streams.engine.config import EngineConfig
from streams.engine.events import DIGITAL_CHANNELS
from streams.engine.state import DAY_MS, CustomerState
from streams.engine.timeline import last_activity_before_now

Reasons = list[tuple[str, int]]


def band_of(score: int, cfg: EngineConfig) -> str:
    """low / medium / high by the configured thresholds."""
    if score >= cfg.risk_band_high:
        return "high"
    if score >= cfg.risk_band_medium:
        return "medium"
    return "low"


def assess(st: CustomerState, cfg: EngineConfig, at: int) -> tuple[int, str, Reasons]:
    """Score (0..100), band and (reason, weight) pairs as of ``at``, in a stable order."""
    reasons: Reasons = []
    if st.ep_kind is not None:
        reasons.append(("defected:" + st.ep_kind, cfg.risk_weight_defected))
    elif st.episodes:
        reasons.append(("resurrected", cfg.risk_weight_resurrected))
    if st.open_channel in DIGITAL_CHANNELS:
        reasons.append(("digital_opening", cfg.risk_weight_digital_opening))
    if st.stalls:
        for rule in cfg.stall_rules:
            s = st.stalls.get(rule.name)
            if s is not None and s[1] is not None:
                reasons.append(("stall:" + rule.name, rule.risk_weight))
    if st.f_cmp:
        opened = [c for c in st.f_cmp.values() if c[0] is not None and not c[2]]
        if opened:
            reasons.append(("complaint_open", cfg.risk_weight_complaint_open))
            if max(c[1] for c in opened) >= 2:
                reasons.append(("complaint_severe", cfg.risk_weight_complaint_severe))
    last = last_activity_before_now(st)
    if last is not None and at - last >= cfg.risk_inactive_days * DAY_MS:
        reasons.append(("inactive", cfg.risk_weight_inactive))
    if st.f_below is not None:
        reasons.append(("balance_drained", cfg.risk_weight_balance_drained))
    if st.f_act_big:
        reasons.append(("outbound_transfer", cfg.risk_weight_outbound_transfer))
    score = sum(w for _, w in reasons)
    score = max(0, min(100, score))
    return score, band_of(score, cfg), reasons

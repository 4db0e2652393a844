"""``PartitionEngine``: every decision about the customers of one Kafka partition.

The Faust worker (and the backfill) is a thin shell around it:

* ``process(event_type, event)`` / ``process_many(batch)`` for each decoded input event;
* ``advance(watermark_ms)`` on a timer, with a wall-clock watermark (now - allowed lateness),
  so deadlines fire on quiet partitions;
* ``take_dirty()`` for the states to write to the RocksDB table, ``load()`` + ``rebuild_index()``
  after a restart, ``export_meta()`` / ``import_meta()`` for the partition watermark;
* ``take_snapshots()`` for the CustomerSnapshot rows of the customers changed since last time.

Event time: the watermark is max(event time seen - allowed lateness, last ``advance``). Events
before it are too late. Facts are applied at once; decisions at an instant T are taken only
when the watermark reaches T, from the events before T, which are final by then. Hence any
arrival order within the lateness, or a replay of history, yields the same records.

Snapshots are coalesced (one per changed customer per ``take_snapshots`` call) rather than
emitted per event: the sink keeps the last version per customer anyway and this is the hot
path; their ``version`` counts applied events plus decisions.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Mapping
from typing import Any

from streams.engine import defection, stalls, windows
from streams.engine.aggregates import JourneyAggregates, JourneyCounts
from streams.engine.codec import decode, decode_meta, encode, encode_meta
from streams.engine.config import EngineConfig
from streams.engine.deadlines import (
    PRIO_DEFECT_CLOSURE,
    PRIO_DEFECT_DORMANCY,
    PRIO_ORPHAN,
    PRIO_RESURRECT,
    PRIO_RISK,
    PRIO_STALL_CLEAR,
    PRIO_STALL_RAISE,
    PRIO_WINDOW,
    DeadlineIndex,
    Due,
)
from streams.engine.facts import apply_event
from streams.engine.outputs import (
    CohortEntry,
    CustomerSnapshot,
    Duplicate,
    Orphan,
    Output,
    RiskChange,
    TooLate,
)
from streams.engine.risk import assess
from streams.engine.state import (
    ACTIVITY_CODES,
    CLOSURE,
    DAY_MS,
    LOGIN_FAIL,
    LOGIN_OK,
    NEVER,
    TX_BANK,
    TX_CI,
    TX_CI_BIG_OUT,
    CustomerState,
    Entry,
)
from streams.engine.timeline import fold_before, gap_end, last_activity_before_now

_RISK_NEUTRAL = frozenset({TX_BANK, LOGIN_FAIL, CLOSURE})
#: Entries whose fold can only move the fold-driven risk inputs (see ``_risk_unchanged``).
_RISK_ROUTINE = frozenset({LOGIN_OK, LOGIN_FAIL, TX_CI, TX_CI_BIG_OUT, TX_BANK, CLOSURE})
STALLED = "stalled"
AT_RISK = "at_risk"


class PartitionEngine:
    """Customer states, deadline index and watermark of one partition (not thread-safe)."""

    __slots__ = (
        "_applied",
        "_auto_wm",
        "_counts",
        "_dirty",
        "_due",
        "_folds",
        "_held_new",
        "_hold",
        "_inactive_ms",
        "_lateness",
        "_out",
        "_snap_dirty",
        "_stall_specs",
        "_states",
        "config",
        "max_seen",
        "partition",
        "watermark",
    )

    def __init__(self, config: EngineConfig | None = None, partition: int = 0) -> None:
        self.config = config if config is not None else EngineConfig()
        self.partition = partition
        self._lateness = self.config.allowed_lateness_s * 1000
        self._auto_wm = self.config.watermark_from_events
        self._hold = self.config.orphan_hold_s * 1000
        self._inactive_ms = self.config.risk_inactive_days * DAY_MS
        #: Highest event time accepted on this partition.
        self.max_seen = NEVER
        #: Events before this instant are too late; decisions up to it are final.
        self.watermark = NEVER
        self._states: dict[str, CustomerState] = {}
        self._due = DeadlineIndex()
        self._folds = DeadlineIndex()
        self._dirty: set[str] = set()
        self._snap_dirty: set[str] = set()
        self._out: list[Output] = []
        self._applied: list[tuple[str, Mapping[str, Any]]] = []
        self._held_new: list[Mapping[str, Any]] = []
        self._stall_specs = stalls.specs(self.config)
        self._counts = JourneyCounts(self.config)

    # ----- input ---------------------------------------------------------------------------

    def process(self, event_type: str, event: Mapping[str, Any]) -> list[Output]:
        """Apply one event and fire whatever became due; returns the records emitted."""
        self._ingest(event_type, event)
        return self._drain()

    def process_many(self, batch: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Output]:
        """Same records as calling :meth:`process` per event, firing due work once at the end.

        Equivalent because events accepted after the watermark passed an instant T are at or
        after T and every decision at T reads only events before T.
        """
        ingest = self._ingest
        for event_type, event in batch:
            ingest(event_type, event)
        return self._drain()

    def advance(self, watermark_ms: int) -> list[Output]:
        """Move the watermark forward (never back) and fire everything due up to it."""
        if watermark_ms > self.watermark:
            self.watermark = watermark_ms
        return self._drain()

    def _ingest(self, event_type: str, ev: Mapping[str, Any]) -> None:
        t: int = ev["occurred_at"]
        cid: str = ev["customer_id"]
        if t < self.watermark:
            self._out.append(
                TooLate(
                    record_id=f"{cid}:too_late:{ev['event_id']}",
                    customer_id=cid,
                    event_type=event_type,
                    event_id=ev["event_id"],
                    occurred_at_ms=t,
                    watermark_ms=self.watermark,
                    late_by_ms=self.watermark - t,
                    reason="too_late",
                    event=ev,
                )
            )
            return
        st = self._states.get(cid)
        eid: str = ev["event_id"]
        if st is None:
            st = self._states[cid] = CustomerState(cid)
        elif eid in st.seen:
            self._out.append(
                Duplicate(
                    record_id=f"{cid}:duplicate:{eid}",
                    customer_id=cid,
                    event_type=event_type,
                    event_id=eid,
                    occurred_at_ms=t,
                    reason="duplicate",
                )
            )
            return
        if t > self.max_seen:
            self.max_seen = t
            if self._auto_wm and t - self._lateness > self.watermark:
                self.watermark = t - self._lateness
        if event_type == "account_opened":
            apply_event(st, event_type, ev, self.config)
            self._applied.append((event_type, ev))
            if st.held:
                self._release_held(st)
            self._schedule(st)  # the anchor moves every deadline: full recompute
        elif st.first_open_t is not None and st.first_open_t < t + self._hold:
            apply_event(st, event_type, ev, self.config)
            self._applied.append((event_type, ev))
            hint = self._hint(st, t, ev)
            if hint is not None:
                self._due.schedule(cid, hint)
            self._folds.schedule(cid, st.recent[0][0] + 1)
        else:
            if event_type not in ("login", "transaction", "complaint", "closure"):
                raise ValueError(f"unknown event type {event_type!r}")
            st.seen[eid] = t  # no version bump: held events are not (yet) part of the snapshot
            insort(st.held, [t, eid, event_type, dict(ev)])
            self._held_new.append(ev)
            self._due.schedule(cid, st.held[0][0] + self._hold)
        self._dirty.add(cid)
        self._snap_dirty.add(cid)

    def _hint(self, st: CustomerState, t: int, ev: Mapping[str, Any]) -> int | None:
        """Lower bound of any decision instant this event can have created or moved earlier.

        Every instant derived from an event at t is at or after t, and most events move
        nothing earlier (an activity only pushes inactivity gaps later), so the deadline index
        is only touched when the event may clear a stall, resurrect, close, start a drain or
        shorten the silence allowed after a large outbound transfer. The visit at the hint
        computes the exact instants.
        """
        if st.opened_at is None:
            return None
        if "success" in ev:
            moves = ev["success"]  # only a successful login is a milestone / activity
        elif "customer_initiated" in ev:
            moves = ev["customer_initiated"] or ev["direction"] == "credit"
        else:
            moves = False  # complaints and closures reach no milestone
        if moves:
            if st.ep_kind is not None:
                return t
            stalled = st.cohorts.get(STALLED)
            if stalled is not None and stalled[0]:
                return t
        hint: int | None = None
        if "last_account" in ev:
            if ev["last_account"]:
                return t
        elif "balance_after_minor" in ev:
            if ev["balance_after_minor"] is not None:
                hint = t + self.config.drain_days * DAY_MS
            if (
                ev["counterparty_type"] == "other_bank"
                and ev["direction"] == "debit"
                and ev["customer_initiated"]
            ):
                big = t + self.config.outbound_inactivity_days * DAY_MS
                hint = big if hint is None or big < hint else hint
        return hint

    def _release_held(self, st: CustomerState) -> None:
        """Apply held events whose hold has an opening in it (opening < event + hold)."""
        opened = st.first_open_t
        assert opened is not None
        keep = []
        for h in st.held:
            if opened < h[0] + self._hold:
                del st.seen[h[1]]
                apply_event(st, h[2], h[3], self.config)
                self._applied.append((h[2], h[3]))
            else:
                keep.append(h)
        st.held = keep

    # ----- scheduling ----------------------------------------------------------------------

    def _next_due(self, st: CustomerState) -> Due | None:
        best: Due | None = None
        if st.held:
            best = (st.held[0][0] + self._hold, PRIO_ORPHAN, "")
        opened = st.opened_at
        if opened is None:
            return best
        cfg = self.config
        for due in (
            stalls.next_due(st, cfg, opened, self._stall_specs),
            windows.next_due(st, cfg, opened),
            defection.next_due(st, cfg, opened),
        ):
            if due is not None and (best is None or due < best):
                best = due
        end = self._risk_due(st)
        if end is not None and (best is None or end < best[0]):
            best = (end, PRIO_RISK, "")
        return best

    def _risk_due(self, st: CustomerState) -> int | None:
        """Instant the "inactive" risk reason switches on, if it is off and still ahead."""
        opened = st.opened_at
        if opened is None:
            return None
        for r in st.risk_reasons:
            if r[0] == "inactive":
                return None
        span = self.config.risk_inactive_days * DAY_MS
        end, _ = gap_end(st, opened, st.f_act, False, ACTIVITY_CODES, span, span)
        return end if st.risk_at is None or end > st.risk_at else None

    def _schedule(self, st: CustomerState) -> None:
        due = self._next_due(st)
        if due is not None:
            self._due.schedule(st.customer_id, due[0])
        if st.recent:
            self._folds.schedule(st.customer_id, st.recent[0][0] + 1)

    def _drain(self) -> list[Output]:
        wm = self.watermark
        states = self._states
        for cid in self._due.pop_due(wm):
            st = states.get(cid)
            if st is not None:
                due = self._visit(st, wm)
                if cid in states:
                    if due is not None:
                        self._due.schedule(cid, due[0])
                    if st.recent:
                        self._folds.schedule(cid, st.recent[0][0] + 1)
        cfg = self.config
        after = self._after_fold
        for cid in self._folds.pop_due(wm):
            st = states.get(cid)
            if st is None:
                continue
            if fold_before(st, wm, cfg, after):
                self._dirty.add(cid)
                self._snap_dirty.add(cid)
            if len(st.seen) > 4:
                st.seen = {k: v for k, v in st.seen.items() if v >= wm}
            if st.recent:
                self._folds.schedule(cid, st.recent[0][0] + 1)
            risk_due = self._risk_due(st)
            if risk_due is not None:
                self._due.schedule(cid, risk_due)
        out = self._out
        self._out = []
        return out

    # ----- decisions -----------------------------------------------------------------------

    def _visit(self, st: CustomerState, limit: int) -> Due | None:
        """Take, in instant order, every decision of ``st`` due at or before ``limit``.

        Returns the next decision still ahead (to schedule), None if there is none.
        """
        cfg = self.config
        out = self._out
        while True:
            due = self._next_due(st)
            if due is None or due[0] > limit:
                return due
            at, prio, arg = due
            fold_before(st, at, cfg, self._after_fold)
            opened = st.opened_at
            st.version += 1
            self._dirty.add(st.customer_id)
            self._snap_dirty.add(st.customer_id)
            if prio == PRIO_ORPHAN:
                self._orphan(st, at)
                if st.customer_id not in self._states:
                    return None
                continue
            assert opened is not None
            if prio == PRIO_STALL_RAISE:
                raised = stalls.raise_stall(st, cfg, arg, at, opened)
                if raised is not None:
                    out.append(raised)
                    self._cohort(st, STALLED, bool(st.open_stalls()), at, tuple(st.open_stalls()))
            elif prio == PRIO_STALL_CLEAR:
                out.append(stalls.clear_stall(st, cfg, arg, at, opened))
                self._cohort(st, STALLED, bool(st.open_stalls()), at, tuple(st.open_stalls()))
            elif prio == PRIO_WINDOW:
                out.append(windows.close_window(st, cfg, arg, at))
            elif PRIO_DEFECT_CLOSURE <= prio <= PRIO_DEFECT_DORMANCY:
                out.append(defection.defect(st, cfg, due, opened))
            elif prio == PRIO_RESURRECT:
                out.append(defection.resurrect(st, at, opened))
            else:
                assert prio == PRIO_RISK
            self._assess(st, at)

    def _orphan(self, st: CustomerState, at: int) -> None:
        t, eid, event_type, ev = st.held.pop(0)
        self._out.append(
            Orphan(
                record_id=f"{st.customer_id}:orphan:{eid}",
                customer_id=st.customer_id,
                event_type=event_type,
                event_id=eid,
                occurred_at_ms=t,
                held_until_ms=at,
                reason="no_account_opened",
                event=ev,
            )
        )
        if not st.held and st.first_open_t is None:
            self._counts.remove(st)
            del self._states[st.customer_id]
            self._snap_dirty.discard(st.customer_id)

    def _after_fold(self, st: CustomerState, entry: Entry) -> None:
        # Fees/interest without a balance, failed logins and closures change no risk input.
        if entry[2] in _RISK_NEUTRAL and entry[6] is None:
            return
        at = entry[0]
        opened = st.opened_at
        if opened is None or at < opened:
            return
        if entry[2] in _RISK_ROUTINE and self._risk_unchanged(st, at):
            return
        self._assess(st, at)

    def _risk_unchanged(self, st: CustomerState, at: int) -> bool:
        """True when folding a routine entry cannot have changed the risk reasons.

        Most folded entries are routine activity. The reasons are a function of decisions (each
        followed by an assessment), the opening (always assessed), complaints (always assessed)
        and three fold-driven inputs, which the previous reasons record: balance drained,
        last activity a large outbound transfer, inactive. If none of the three differs from
        what the reasons say, ``assess`` would return the same reasons and emit nothing.
        """
        drained = outbound = inactive = False
        for r in st.risk_reasons:
            name = r[0]
            if name == "inactive":
                inactive = True
            elif name == "balance_drained":
                drained = True
            elif name == "outbound_transfer":
                outbound = True
        if drained != (st.f_below is not None) or outbound != st.f_act_big:
            return False
        last = last_activity_before_now(st)
        now_inactive = last is not None and at - last >= self._inactive_ms
        return now_inactive == inactive

    def _assess(self, st: CustomerState, at: int) -> None:
        """Re-score as of ``at``; emit RiskChange and at_risk cohort moves."""
        score, band, reasons = assess(st, self.config, at)
        st.risk_at = at
        if reasons != st.risk_reasons:
            st.risk_reasons = reasons
            st.version += 1  # the snapshot shows the reasons: a new version for the sink
        if score == st.risk_score and band == st.risk_band:
            return
        st.risk_seq += 1
        self._out.append(
            RiskChange(
                record_id=f"{st.customer_id}:risk:{st.risk_seq}",
                customer_id=st.customer_id,
                seq=st.risk_seq,
                at_ms=at,
                score=score,
                band=band,
                previous_score=st.risk_score,
                previous_band=st.risk_band,
                reasons=tuple(reasons),
            )
        )
        st.risk_score = score
        st.risk_band = band
        inside = band == "high" and st.ep_kind is None
        entry = st.cohorts.get(AT_RISK)
        if entry is None or bool(entry[0]) != inside:
            self._cohort(st, AT_RISK, inside, at, tuple(r for r, _ in reasons))

    def _cohort(
        self, st: CustomerState, cohort: str, inside: bool, at: int, reasons: tuple[str, ...]
    ) -> None:
        entry = st.cohorts.get(cohort)
        if entry is None:
            entry = st.cohorts[cohort] = [0, 0]
        if bool(entry[0]) == inside:
            return
        entry[0] = int(inside)
        if inside:
            entry[1] += 1
        action = "enter" if inside else "leave"
        opened = st.opened_at if st.opened_at is not None else at
        self._out.append(
            CohortEntry(
                record_id=f"{st.customer_id}:cohort:{cohort}:{entry[1]}:{action}",
                customer_id=st.customer_id,
                cohort=cohort,
                action=action,
                seq=entry[1],
                at_ms=at,
                day=(at - opened) // DAY_MS,
                reasons=reasons,
            )
        )

    # ----- state access & persistence ------------------------------------------------------

    def take_applied(self) -> list[tuple[str, Mapping[str, Any]]]:
        """Events applied to a customer's history since the last call, in application order.

        The customer's opening is known for each of them (an event that arrives before its
        customer's opening is held, and applied when the opening comes), so the raw-events
        table gets the same opening time on every row whatever the arrival order. Duplicates,
        too-late events and orphans are never applied.
        """
        applied, self._applied = self._applied, []
        return applied

    def take_held(self) -> list[Mapping[str, Any]]:
        """Input events held for their customer's opening since the last call (as given).

        Each comes back later either applied (:meth:`take_applied`, as the engine's copy) or
        as an :class:`~streams.engine.outputs.Orphan`; a shell that keeps something per input
        event (its Kafka record, say) can keep it until then.
        """
        held, self._held_new = self._held_new, []
        return held

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._states

    def customer_ids(self) -> list[str]:
        return list(self._states)

    def state_of(self, customer_id: str) -> CustomerState | None:
        """The live state object (do not mutate)."""
        return self._states.get(customer_id)

    def snapshot_of(self, customer_id: str) -> CustomerSnapshot | None:
        st = self._states.get(customer_id)
        return None if st is None else snapshot(st, self.config)

    def take_snapshots(self) -> list[CustomerSnapshot]:
        """Snapshots of the customers changed since the previous call.

        Also brings :meth:`aggregates` up to date for them (from the snapshot's stage and open
        stalls, computed here anyway).
        """
        cfg = self.config
        states = self._states
        update = self._counts.update
        snaps = []
        for c in sorted(self._snap_dirty):
            st = states.get(c)
            if st is not None:
                snap = snapshot(st, cfg)
                update(st, snap.stage, snap.open_stalls)
                snaps.append(snap)
        self._snap_dirty.clear()
        return snaps

    def aggregates(self) -> JourneyAggregates:
        """Stage, stall and cohort-slice counts (see :mod:`streams.engine.aggregates`), as of
        the last :meth:`take_snapshots`, slices evaluated at the current watermark."""
        return self._counts.view(self.watermark)

    def take_dirty(self) -> dict[str, bytes | None]:
        """Encoded states changed since the previous call; None = delete the key."""
        states = self._states
        wm = self.watermark
        out: dict[str, bytes | None] = {}
        for cid in self._dirty:
            st = states.get(cid)
            out[cid] = None if st is None else encode(st, wm)
        self._dirty.clear()
        return out

    def encoded(self, customer_id: str) -> bytes | None:
        st = self._states.get(customer_id)
        return None if st is None else encode(st, self.watermark)

    def load(self, customer_id: str, data: bytes) -> None:
        """Restore one customer (e.g. from RocksDB after a restart) and schedule it."""
        st = decode(data)
        if st.customer_id != customer_id:
            raise ValueError(f"state of {st.customer_id!r} stored under {customer_id!r}")
        old = self._states.get(customer_id)
        if old is not None:
            self._counts.remove(old)
        self._states[customer_id] = st
        self._schedule(st)
        cfg = self.config
        stage = st.stage(cfg.sticky_services_required, cfg.engaged_min_transactions)
        self._counts.update(st, stage, tuple(st.open_stalls()))

    def rebuild_index(self) -> None:
        """Recompute the deadline and fold indexes from the states alone."""
        self._due.clear()
        self._folds.clear()
        for st in self._states.values():
            self._schedule(st)

    def export_meta(self) -> bytes:
        """The partition's event-time position, to persist next to the states."""
        return encode_meta(self.max_seen, self.watermark)

    def import_meta(self, data: bytes) -> None:
        max_seen, watermark = decode_meta(data)
        self.max_seen = max(self.max_seen, max_seen)
        self.watermark = max(self.watermark, watermark)

    def next_due_instant(self) -> int | None:
        """Earliest scheduled instant (possibly stale), e.g. to size the worker's timer."""
        a = self._due.next_instant()
        b = self._folds.next_instant()
        if a is None:
            return b
        return a if b is None or a <= b else b


def _day(t: int | None, opened: int | None) -> int | None:
    if t is None or opened is None:
        return None
    return (t - opened) // DAY_MS


def snapshot(st: CustomerState, cfg: EngineConfig) -> CustomerSnapshot:
    """Real-time view of a customer (facts now, risk as of the watermark)."""
    o = st.opened_at
    s_req = cfg.sticky_services_required
    e_req = cfg.engaged_min_transactions
    resolved = [
        c[1] - c[0] for c in st.complaints.values() if c[0] is not None and c[1] is not None
    ]
    touch = st.touch
    return CustomerSnapshot(
        record_id=f"{st.customer_id}:snapshot:{st.version}",
        customer_id=st.customer_id,
        version=st.version,
        as_of_ms=st.last_t,
        opened_at_ms=o,
        opening_channel=st.open_channel,
        branch_id=st.branch_id,
        region=st.region,
        segment=st.segment,
        campaign=st.campaign,
        products=tuple(sorted(st.products)),
        stage=st.stage(s_req, e_req),
        activated_day=_day(st.activated_t(), o),
        funded_day=_day(st.funded_t, o),
        engaged_day=_day(st.engaged_t(e_req), o),
        sticky_day=_day(st.sticky_t(s_req), o),
        first_login_at_ms=st.first_login_t,
        first_login_channel=st.first_login_channel,
        logins_total=sum(st.logins.values()),
        logins_by_channel=tuple(sorted(st.logins.items())),
        failed_logins=st.failed_logins,
        first_transaction_at_ms=st.first_tx_t,
        funded_at_ms=st.funded_t,
        transactions=st.tx_count,
        customer_transactions=st.citx_count,
        credit_minor=st.credit_minor,
        debit_minor=st.debit_minor,
        digital_day=_day(st.sticky.get("digital"), o),
        debit_card_day=_day(st.sticky.get("debit_card"), o),
        bill_pay_day=_day(st.sticky.get("bill_pay"), o),
        direct_deposit_day=_day(st.sticky.get("direct_deposit"), o),
        complaints_total=len(st.complaints),
        complaints_open=st.open_complaints(),
        complaints_resolved=len(resolved),
        mean_hours_to_resolve=(
            round(sum(resolved) / len(resolved) / 3_600_000, 2) if resolved else None
        ),
        closures=st.closures,
        last_touch_at_ms=None if touch is None else touch[0],
        last_touch_channel=None if touch is None else touch[2],
        last_touch_type=None if touch is None else touch[3],
        balance_minor=st.balance(),
        open_stalls=tuple(st.open_stalls()),
        defected=st.ep_kind is not None,
        defection_kind=st.ep_kind,
        episodes=st.episodes,
        risk_score=st.risk_score,
        risk_band=st.risk_band,
        risk_reasons=tuple(st.risk_reasons),
        last_activity_at_ms=_last_activity(st),
        last_complaint_at_ms=max(
            (c[0] for c in st.complaints.values() if c[0] is not None), default=None
        ),
        defected_at_ms=st.ep_at if st.ep_kind is not None else None,
    )


def _last_activity(st: CustomerState) -> int | None:
    """Latest customer-initiated activity applied so far (folded or still recent)."""
    last = last_activity_before_now(st)
    for entry in st.recent:
        if entry[2] in ACTIVITY_CODES and (last is None or entry[0] > last):
            last = entry[0]
    return last

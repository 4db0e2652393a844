"""Journey aggregates of a partition, kept incrementally: what the metrics need, no scans.

Counted per customer with an opening (new customers; ``opened_at`` set), by opening channel:

* customers in each journey stage (``opened`` .. ``sticky``, ``stalled``, ``dormant``,
  ``defected``: :meth:`CustomerState.stage`);
* customers with each stall rule open;
* openings per bucket of opening time (``EngineConfig.cohort_bucket_s``) and, for the rules of
  ``EngineConfig.cohort_slices``, open stalls per bucket: the cohort-age slices are sums over
  a few buckets at the partition watermark.

Each counted customer remembers what it contributes (``CustomerState.counted``, not
serialised: rebuilt when states are loaded) and :meth:`JourneyCounts.update` applies the
difference, so the cost is O(1) per changed customer. The engine calls it for the customers
it snapshots (``take_snapshots``: the stage and open stalls are computed there anyway) and
for the states it loads; the counts are therefore as of the last ``take_snapshots`` (the
worker's checkpoint), while slice membership follows the watermark at every read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.engine.config import EngineConfig
from streams.engine.state import DAY_MS, NEVER, CustomerState

#: What one customer contributes: (stage, opening channel, opening bucket, open stall names).
Counted = tuple[str, str, int, tuple[str, ...]]
UNKNOWN_CHANNEL = "unknown"


@dataclass(frozen=True, slots=True)
class JourneyAggregates:
    """A read-only view of the counts (plain dicts; sum views of several partitions with
    :func:`merge`). ``slices`` maps (slice rule, channel) to (customers, stalled)."""

    stages: dict[tuple[str, str], int] = field(default_factory=dict)
    stalled: dict[tuple[str, str], int] = field(default_factory=dict)
    slices: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    customers: int = 0


def merge(parts: list[JourneyAggregates]) -> JourneyAggregates:
    """Sum of several partitions' aggregates (numerators and denominators add up)."""
    stages: dict[tuple[str, str], int] = {}
    stalled: dict[tuple[str, str], int] = {}
    slices: dict[tuple[str, str], tuple[int, int]] = {}
    customers = 0
    for p in parts:
        for k, n in p.stages.items():
            stages[k] = stages.get(k, 0) + n
        for k, n in p.stalled.items():
            stalled[k] = stalled.get(k, 0) + n
        for k, (c, s) in p.slices.items():
            c0, s0 = slices.get(k, (0, 0))
            slices[k] = (c0 + c, s0 + s)
        customers += p.customers
    return JourneyAggregates(stages, stalled, slices, customers)


def slice_buckets(watermark: int, from_days: int, to_days: int, bucket_ms: int) -> range:
    """Opening buckets in a slice at ``watermark``: bucket b (opening times
    [b * bucket_ms, (b + 1) * bucket_ms)) is in when from_days <= age of its end < to_days."""
    hi = (watermark - from_days * DAY_MS) // bucket_ms - 1
    lo = (watermark - to_days * DAY_MS) // bucket_ms
    return range(lo, hi + 1)


class JourneyCounts:
    """Incremental stage / stall / cohort-slice counters of one partition (see module doc)."""

    __slots__ = ("_bucket_ms", "_slice_rules", "_slices", "opened", "slice_stalled", "stages",
                 "stalled")  # fmt: skip

    def __init__(self, config: EngineConfig) -> None:
        self._bucket_ms = config.cohort_bucket_s * 1000
        rules = {r.name for r in config.stall_rules}
        self._slices = tuple(s for s in config.cohort_slices if s.rule in rules)
        self._slice_rules = frozenset(s.rule for s in self._slices)
        self.stages: dict[tuple[str, str], int] = {}
        self.stalled: dict[tuple[str, str], int] = {}
        #: channel -> opening bucket -> customers
        self.opened: dict[str, dict[int, int]] = {}
        #: (rule, channel) -> opening bucket -> customers with the rule open
        self.slice_stalled: dict[tuple[str, str], dict[int, int]] = {}

    def update(self, st: CustomerState, stage: str, open_stalls: tuple[str, ...]) -> None:
        """Count ``st`` with its current stage and open stalls (replacing what it counted)."""
        opened = st.opened_at
        new: Counted | None = None
        if opened is not None:
            channel = st.open_channel or UNKNOWN_CHANNEL
            new = (stage, channel, opened // self._bucket_ms, open_stalls)
        old = st.counted
        if old == new:
            return
        if old is not None:
            self._apply(old, -1)
        if new is not None:
            self._apply(new, 1)
        st.counted = new

    def remove(self, st: CustomerState) -> None:
        """Forget ``st`` (the customer's state is deleted)."""
        if st.counted is not None:
            self._apply(st.counted, -1)
            st.counted = None

    def _apply(self, key: Counted, d: int) -> None:
        stage, channel, bucket, open_stalls = key
        k = (stage, channel)
        self.stages[k] = self.stages.get(k, 0) + d
        _add(self.opened.setdefault(channel, {}), bucket, d)
        for rule in open_stalls:
            r = (rule, channel)
            self.stalled[r] = self.stalled.get(r, 0) + d
            if rule in self._slice_rules:
                _add(self.slice_stalled.setdefault(r, {}), bucket, d)

    def view(self, watermark: int) -> JourneyAggregates:
        """The counts, with cohort slices evaluated at ``watermark`` (the partition's)."""
        slices: dict[tuple[str, str], tuple[int, int]] = {}
        if watermark > NEVER:
            for s in self._slices:
                buckets = slice_buckets(watermark, s.from_days, s.to_days, self._bucket_ms)
                for channel, per_bucket in self.opened.items():
                    stalled = self.slice_stalled.get((s.rule, channel), {})
                    slices[(s.rule, channel)] = (
                        _sum(per_bucket, buckets),
                        _sum(stalled, buckets),
                    )
        return JourneyAggregates(
            dict(self.stages), dict(self.stalled), slices, sum(self.stages.values())
        )


def _add(counts: dict[int, int], bucket: int, d: int) -> None:
    n = counts.get(bucket, 0) + d
    if n:
        counts[bucket] = n
    else:
        del counts[bucket]


def _sum(counts: dict[int, int], buckets: range) -> int:
    if len(counts) < len(buckets):
        return sum(n for b, n in counts.items() if b in buckets)
    get = counts.get
    return sum(get(b, 0) for b in buckets)

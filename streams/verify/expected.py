"""Expected cohort answers, computed from the simulator's ground truth file alone.

Why separate and plain: the point of ``journey verify`` is to check the journey engine against
an *independent* derivation. Nothing here imports ``streams.engine`` (nor the simulator's own
``truth.py`` answers): the rules are re-stated from ``docs/rules.md`` and applied to what the
simulator decided per customer (the truth file's lines). Only the thresholds (dormancy days,
windows, stall rules) come from the settings, as data.

The rules, as the engine documents them:

* **day / window** of an instant ``t``: ``day_90`` iff ``t < opened_at + 90 d``, within the first
  year iff ``t < opened_at + 365 d`` (the year-1 count includes the day-90 ones).
* **defection instant**: a closure of the last account at its own time; silent attrition when
  its rule concludes, ``last activity + dormancy_days`` (the truth's ``defection_at`` is the
  last activity). A defection counts as of ``as_of`` iff that instant is ``< as_of``.
* **stall** of a one-off rule (milestone ``login``, ``funded`` or ``sticky``, deadline ``D``
  days): raised at ``opened_at + D`` iff the milestone's first instant is absent or not
  strictly before it; counted iff the deadline is ``< as_of``. ``sticky`` is the instant the
  ``k``-th distinct sticky service (digital banking = first login, debit card, bill pay, direct
  deposit) was first used, ``k = sticky_services_required``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DAY_MS = 86_400_000
#: Cohort x channel metrics and the one-dimension metrics, in table order.
METRICS = ("customers", "defections", "defected_day_90", "defected_year_1", "stalls")
#: One-off milestones whose first instant the truth file decides.
CHECKED_MILESTONES = ("login", "funded", "sticky")

Key = tuple[str, str]  #: (metric, cell)


@dataclass(frozen=True, slots=True)
class StallRuleSpec:
    name: str
    milestone: str
    deadline_days: int
    rolling: bool = False


@dataclass(frozen=True, slots=True)
class Rules:
    """The thresholds the expected answers depend on (the engine's settings, as data)."""

    dormancy_days: int = 60
    onboarding_window_days: int = 90
    year_window_days: int = 365
    sticky_services_required: int = 2
    stall_rules: tuple[StallRuleSpec, ...] = (
        StallRuleSpec("no_login_by_day_7", "login", 7),
        StallRuleSpec("not_funded_by_day_30", "funded", 30),
        StallRuleSpec("no_sticky_by_day_90", "sticky", 90),
    )

    @classmethod
    def from_engine_config(cls, cfg: Any) -> Rules:
        """From an ``EngineConfig``-like object (attributes only; no engine code runs)."""
        return cls(
            dormancy_days=int(cfg.dormancy_days),
            onboarding_window_days=int(cfg.onboarding_window_days),
            year_window_days=int(cfg.year_window_days),
            sticky_services_required=int(cfg.sticky_services_required),
            stall_rules=tuple(
                StallRuleSpec(r.name, r.milestone, int(r.deadline_days), r.within_days > 0)
                for r in cfg.stall_rules
            ),
        )

    def checked_rules(self) -> list[StallRuleSpec]:
        return [r for r in self.stall_rules if not r.rolling and r.milestone in CHECKED_MILESTONES]

    def unchecked_rules(self) -> list[StallRuleSpec]:
        checked = self.checked_rules()
        return [r for r in self.stall_rules if r not in checked]


@dataclass(slots=True)
class Truth:
    """A ground-truth file: its header and one dict per customer."""

    header: dict[str, Any]
    customers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.header.get("params", {}))

    @property
    def horizon_end_ms(self) -> int:
        d = datetime.fromisoformat(self.params["horizon_end"]).replace(tzinfo=UTC)
        return int(d.timestamp() * 1000)


def read_truth_file(path: str | Path) -> Truth:
    """Parse a ``journey simulate --truth`` file (JSON lines: header, then customers)."""
    with open(path, encoding="utf-8") as fh:
        header = json.loads(fh.readline())
        if not str(header.get("format", "")).startswith("journey-simulate-truth/"):
            raise ValueError(f"{path}: not a journey simulate truth file")
        return Truth(header, [json.loads(line) for line in fh if line.strip()])


def cohort_cell(opened_at_ms: int, channel: str) -> str:
    """``"YYYYMM channel"`` of an opening (UTC month), as the verify queries group."""
    d = datetime.fromtimestamp(opened_at_ms / 1000, UTC)
    return f"{d.year:04d}{d.month:02d} {channel}"


def defection_instant(c: Mapping[str, Any], rules: Rules) -> int | None:
    """When the engine's rules conclude this customer defected (None = never)."""
    kind, at = c.get("kind"), c.get("defection_at")
    if kind is None or at is None:
        return None
    if kind == "closure":
        return int(at)
    return int(at) + rules.dormancy_days * DAY_MS


def milestone_instant(c: Mapping[str, Any], milestone: str, rules: Rules) -> int | None:
    """First instant a one-off milestone was reached, from the truth's decided instants."""
    if milestone == "login":
        return c.get("first_login_at")
    if milestone == "funded":
        return c.get("funded_at")
    if milestone == "sticky":
        services = sorted(
            t
            for t in (
                c.get("first_login_at"),  # digital banking: first used at the first login
                c.get("debit_card_at"),
                c.get("bill_pay_at"),
                c.get("direct_deposit_at"),
            )
            if t is not None
        )
        k = rules.sticky_services_required
        return services[k - 1] if len(services) >= k else None
    raise ValueError(f"milestone {milestone!r} is not decided by the truth")


def expected_answers(
    customers: Iterable[Mapping[str, Any]], rules: Rules, as_of_ms: int
) -> dict[Key, int]:
    """``{(metric, cell): count}``: every cell the verify queries can answer, zeros included
    for cohort cells and kinds that exist in the truth."""
    out: Counter[Key] = Counter()
    checked = rules.checked_rules()
    for kind in ("closure", "silent_attrition"):
        out[("defections", kind)] += 0
    for r in checked:
        out[("stalls", r.name)] += 0
    for c in customers:
        opened = int(c["opened_at"])
        if opened >= as_of_ms:
            continue
        cell = cohort_cell(opened, c["channel"])
        out[("customers", cell)] += 1
        out[("defected_day_90", cell)] += 0
        out[("defected_year_1", cell)] += 0
        at = defection_instant(c, rules)
        if at is not None and at < as_of_ms:
            out[("defections", str(c["kind"]))] += 1
            if at < opened + rules.onboarding_window_days * DAY_MS:
                out[("defected_day_90", cell)] += 1
            if at < opened + rules.year_window_days * DAY_MS:
                out[("defected_year_1", cell)] += 1
        for r in checked:
            deadline = opened + r.deadline_days * DAY_MS
            if deadline >= as_of_ms:
                continue
            m = milestone_instant(c, r.milestone, rules)
            if m is None or m >= deadline:
                out[("stalls", r.name)] += 1
    return dict(out)


@dataclass(frozen=True, slots=True)
class Line:
    metric: str
    cell: str
    expected: int | None
    got: int | None

    @property
    def diff(self) -> int | None:
        if self.expected is None or self.got is None:
            return None
        return self.got - self.expected

    @property
    def ok(self) -> bool:
        return self.expected == self.got


def compare(expected: Mapping[Key, int], got: Mapping[Key, int]) -> list[Line]:
    """One line per cell present on either side; a cell missing on one side counts as 0 there
    when the other side has it (ClickHouse has no row for an empty GROUP BY cell)."""
    keys = sorted(set(expected) | set(got), key=lambda k: (METRICS.index(k[0]), k[1]))
    return [Line(m, c, expected.get((m, c), 0), got.get((m, c), 0)) for m, c in keys]


def mismatches(lines: Sequence[Line]) -> list[Line]:
    return [line for line in lines if not line.ok]

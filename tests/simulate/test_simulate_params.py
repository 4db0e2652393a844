"""Parameters: defaults are sane, validation rejects nonsense, the header round-trips."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import date

import pytest

from streams.simulate.events import uuid4_str
from streams.simulate.params import DAY_MS, DEFAULTS, SimulationParams


def test_defaults_cover_the_mission_mixes() -> None:
    p = DEFAULTS
    assert {c for c, _ in p.channels} == {"branch", "online", "mobile", "contact_centre"}
    assert {s for s, _ in p.segments} == {
        "mass",
        "affluent",
        "student",
        "social",
        "status",
        "small_business",
    }
    assert p.max_active_gap_days < p.dormancy_days == 60
    assert (p.login_deadline_days, p.funding_deadline_days, p.sticky_deadline_days) == (7, 30, 90)
    # ~20 % digital-only customers
    digital_only = sum(c.weight * c.p_digital_only for _, c in p.channels) / sum(
        c.weight for _, c in p.channels
    )
    assert 0.15 < digital_only < 0.25
    assert p.horizon_end_ms - p.start_ms > 450 * DAY_MS


def test_json_round_trip() -> None:
    p = dataclasses.replace(DEFAULTS, n_customers=7, seed=3, horizon_end=date(2025, 6, 1))
    assert SimulationParams.from_json_dict(p.to_json_dict()) == p


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_customers": 0},
        {"max_active_gap_days": 60},
        {"horizon_end": date(2024, 2, 1)},
    ],
)
def test_invalid_params_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SimulationParams(**kwargs)  # type: ignore[arg-type]


def test_fast_uuid_matches_stdlib() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        bits = rng.getrandbits(128)
        assert uuid4_str(bits) == str(uuid.UUID(int=bits, version=4))

from __future__ import annotations

import pytest

from streams.engine.config import DEFAULT_STALL_RULES, EngineConfig, StallRule


def test_default_rules_are_the_four_documented_ones() -> None:
    names = [r.name for r in DEFAULT_STALL_RULES]
    assert names == [
        "no_login_by_day_7",
        "not_funded_by_day_30",
        "no_activity_30_days_in_day_90",
        "no_sticky_by_day_90",
    ]
    assert [r.rolling for r in DEFAULT_STALL_RULES] == [False, False, True, False]


def test_rule_validation() -> None:
    with pytest.raises(ValueError, match="milestone"):
        StallRule("x", "customer_transaction", 3)  # rolling milestone on a one-off rule
    with pytest.raises(ValueError, match="milestone"):
        StallRule("x", "login", 3, within_days=10)
    with pytest.raises(ValueError, match="unique"):
        EngineConfig(stall_rules=(StallRule("x", "login", 3), StallRule("x", "funded", 3)))
    with pytest.raises(ValueError):
        EngineConfig(onboarding_window_days=400)


def test_settings_read_engine_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.settings import Settings

    monkeypatch.setenv("JOURNEY_ENGINE__DORMANCY_DAYS", "45")
    monkeypatch.setenv("JOURNEY_ENGINE__ALLOWED_LATENESS_S", "3600")
    monkeypatch.setenv("JOURNEY_CONFIG", "/nonexistent.toml")
    s = Settings()
    assert s.engine.dormancy_days == 45
    assert s.engine.allowed_lateness_s == 3600
    assert s.engine.stall_rules == DEFAULT_STALL_RULES

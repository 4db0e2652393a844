"""Thresholds of the journey rules: deadlines, dormancy, lateness, risk weights.

Plain frozen dataclasses so the pure core imports nothing but the standard library; the
settings object (``streams.settings``) validates them from environment variables and files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Every threshold the journey engine uses. Defaults follow ``../shared/MISSION.md``."""

    #: Events older than (partition watermark - allowed lateness) go to the too-late output.
    allowed_lateness_s: int = 3 * 86400
    #: Length of the onboarding window anchored at account opening.
    onboarding_window_days: int = 90
    #: Length of the first-year window anchored at account opening.
    year_window_days: int = 365
    #: Silent attrition: no customer-initiated activity for this many days.
    dormancy_days: int = 60

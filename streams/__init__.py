"""journey: follow every new bank customer from account opening through day 90 and year 1."""

__version__ = "0.1.0"

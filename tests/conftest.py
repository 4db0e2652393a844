"""Fixtures for real components live in the package so users can reuse them."""

pytest_plugins = [
    "streams.testing.pytest_broker",
    "streams.testing.pytest_clickhouse",
]

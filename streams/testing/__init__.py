"""Testing helpers shipped with the package (as bytewax does): real components on loopback.

``pytest_broker`` starts a real Tansu broker; ``pytest_clickhouse`` a real ClickHouse server and
chdb stores. Projects embedding journey can reuse them with ``pytest_plugins``.
"""

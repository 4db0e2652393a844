"""``journey verify``: compare what ClickHouse says with what the simulator decided.

``expected.py`` derives the answers from the ground-truth file alone (no journey-engine code);
``observed.py`` asks ClickHouse with the named ``sql/queries/verify_*.sql`` queries; ``cli.py``
prints them side by side and exits non-zero on any difference.
"""

from streams.verify.expected import (
    Line,
    Rules,
    StallRuleSpec,
    Truth,
    compare,
    expected_answers,
    mismatches,
    read_truth_file,
)

__all__ = [
    "Line",
    "Rules",
    "StallRuleSpec",
    "Truth",
    "compare",
    "expected_answers",
    "mismatches",
    "read_truth_file",
]

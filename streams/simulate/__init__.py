"""Synthetic bank: new customers' journeys as events, plus the ground truth of what was decided.

An *independent* ground truth for the journey engine: nothing here imports ``streams.engine``.

    params = SimulationParams(n_customers=20_000, seed=7)
    for event in generate_events(params): ...          # dicts, global event-time order
    truths = list(generate_truth(params))              # per customer, what was decided
    expected_defections_by_kind(truths, params)        # cohort answers, as of the horizon
"""

from streams.simulate.messy import Malformed, MessOptions, MessReport, make_messy
from streams.simulate.model import CustomerPlan, plan_customer
from streams.simulate.params import DEFAULTS, SimulationParams
from streams.simulate.population import EVENT_TYPES, generate_events, iter_records
from streams.simulate.truth import (
    CohortCount,
    CustomerTruth,
    calibration_summary,
    expected_defections_by,
    expected_defections_by_cohort_channel,
    expected_defections_by_kind,
    expected_stalls_by_rule,
    generate_truth,
    read_truth,
    write_truth,
)
from streams.simulate.writer import paced, records, simulate_to_files, write_events_jsonl

__all__ = [
    "DEFAULTS",
    "EVENT_TYPES",
    "CohortCount",
    "CustomerPlan",
    "CustomerTruth",
    "Malformed",
    "MessOptions",
    "MessReport",
    "SimulationParams",
    "calibration_summary",
    "expected_defections_by",
    "expected_defections_by_cohort_channel",
    "expected_defections_by_kind",
    "expected_stalls_by_rule",
    "generate_events",
    "generate_truth",
    "iter_records",
    "make_messy",
    "paced",
    "plan_customer",
    "read_truth",
    "records",
    "simulate_to_files",
    "write_events_jsonl",
    "write_truth",
]

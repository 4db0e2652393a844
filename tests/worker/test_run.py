"""Process set-up of a worker: the garbage collector's young-generation threshold."""

from __future__ import annotations

import gc

from streams.settings import Settings
from streams.worker.run import tune_gc


def test_tune_gc_sets_the_young_threshold_and_zero_leaves_it() -> None:
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        tune_gc(0)
        assert gc.get_threshold() == (700, 10, 10)
        tune_gc(Settings().worker.gc_threshold)
        assert gc.get_threshold() == (50_000, 20, 100)
    finally:
        gc.set_threshold(*saved)

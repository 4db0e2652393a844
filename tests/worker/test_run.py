"""Process set-up of a worker: the garbage collector's young-generation threshold and the
event loop policy."""

from __future__ import annotations

import asyncio
import builtins
import gc
from typing import Any

import pytest

from streams.settings import Settings
from streams.worker.run import event_loop_policy, tune_gc


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


def _loop_module() -> str:
    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    return asyncio.run(which())


def test_auto_runs_uvloop_inside_and_puts_the_policy_back() -> None:
    pytest.importorskip("uvloop")
    before = asyncio.get_event_loop_policy()
    assert Settings().worker.event_loop == "auto"
    with event_loop_policy("auto") as kind:
        assert kind == "uvloop"
        assert _loop_module() == "uvloop"
    assert asyncio.get_event_loop_policy() is before
    assert _loop_module().startswith("asyncio")


def test_asyncio_leaves_the_policy_alone() -> None:
    before = asyncio.get_event_loop_policy()
    with event_loop_policy("asyncio") as kind:
        assert kind == "asyncio"
        assert asyncio.get_event_loop_policy() is before


def test_without_uvloop_auto_falls_back_and_uvloop_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def no_uvloop(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "uvloop":
            raise ImportError("No module named 'uvloop'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvloop)
    with event_loop_policy("auto") as kind:
        assert kind == "asyncio"
    with pytest.raises(RuntimeError, match="pip install uvloop"), event_loop_policy("uvloop"):
        pass

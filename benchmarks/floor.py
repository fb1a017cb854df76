"""What the benchmarks share: the floor they measure against, a bare SimPy loop, and one
way of timing a call.

Run as scripts (``python benchmarks/bench_engine.py``), the benchmarks find this module
beside them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Generator

import simpy

__all__ = ["bare_simpy", "best", "floor_time", "timed"]


def bare_simpy(steps: int) -> float:
    """Seconds for one SimPy process doing ``steps`` timeouts: the floor."""
    env = simpy.Environment()

    def proc() -> Generator[simpy.Event, None, None]:
        for _ in range(steps):
            yield env.timeout(1)

    env.process(proc())
    start = time.perf_counter()
    env.run()
    return time.perf_counter() - start


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn`` takes. Its result is freed after the clock stops, as the floor's
    environment is: both sides time the run, neither the freeing of what it built."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def best(fn: Callable[[], object], repeat: int) -> float:
    """The shortest of ``repeat`` timings of ``fn``."""
    return min(timed(fn) for _ in range(repeat))


def floor_time(steps: int, repeat: int) -> float:
    """The shortest of ``repeat`` bare SimPy loops of ``steps`` timeouts."""
    return min(bare_simpy(steps) for _ in range(repeat))

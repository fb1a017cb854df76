"""What the benchmarks share: the floor they measure against, a bare SimPy loop, one
way of timing a call, and their scenario of many refcount ops.

Run as scripts (``python benchmarks/bench_engine.py``), the benchmarks find this module
beside them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Generator

import simpy

from refsim.model import Op, OpKind, Scenario, ThreadSpec, Timing

__all__ = ["bare_simpy", "best", "floor_time", "refcounts", "timed"]


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


def refcounts(threads: int, ops: int, name: str, timing: Timing | None = None) -> Scenario:
    """``threads`` copies of one program of ``ops`` increfs and decrefs of one object,
    alternating (as a scenario's ``count:`` makes), the object held by every thread and
    one more."""
    body = tuple(Op(OpKind.INCREF if i % 2 == 0 else OpKind.DECREF, "obj") for i in range(ops))
    return Scenario(
        name=name,
        threads=tuple(ThreadSpec(f"T{i + 1}", body) for i in range(threads)),
        objects=(("obj", threads + 1),),
        timing=timing,
    )

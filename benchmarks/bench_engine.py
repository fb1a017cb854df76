"""Benchmark: controlled runs on SimPy against a bare SimPy loop (the floor).

Runs, in one process, a large scenario (8 threads x 1,000 refcount ops under `unsafe`,
seeded random schedule) with the trace recorded, the same without the trace, and, as the
floor, a bare SimPy loop doing one `timeout` per micro-step. Prints micro-steps per second
for each and the ratio of refsim's time to the floor's. Target: within 3x of the floor
with the trace recorded.

    python benchmarks/bench_engine.py [--threads 8] [--ops 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable

import simpy

from refsim.engine import run
from refsim.model import Op, OpKind, Runtime, Scenario, ThreadSpec


def big_scenario(threads: int, ops: int) -> Scenario:
    body = tuple(Op(OpKind.INCREF if i % 2 == 0 else OpKind.DECREF, "obj") for i in range(ops))
    return Scenario(
        name=f"bench_{threads}x{ops}",
        threads=tuple(ThreadSpec(f"T{i + 1}", body) for i in range(threads)),
        objects=(("obj", threads + 1),),
    )


def bare_simpy(steps: int) -> float:
    """Seconds for one SimPy process doing `steps` timeouts: the floor."""
    env = simpy.Environment()

    def proc() -> object:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scenario = big_scenario(args.threads, args.ops)
    print(f"scenario: {args.threads} threads x {args.ops} refcount ops (incref/decref alternating)")
    for runtime in Runtime:
        measure(scenario, runtime, args.repeat)


def measure(scenario: Scenario, runtime: Runtime, repeat: int) -> None:
    result = run(scenario, runtime=runtime, seed=1, keep_trace=False)
    steps = result.steps
    floor = min(bare_simpy(steps) for _ in range(repeat))
    with_trace = min(timed(lambda: run(scenario, runtime=runtime, seed=1)) for _ in range(repeat))
    no_trace = min(
        timed(lambda: run(scenario, runtime=runtime, seed=1, keep_trace=False))
        for _ in range(repeat)
    )

    tracemalloc.start()
    run(scenario, runtime=runtime, seed=1)
    _, peak_trace = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    run(scenario, runtime=runtime, seed=1, keep_trace=False)
    _, peak_none = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"\nruntime {runtime}: {steps:,} micro-steps, {len(result.anomalies):,} anomalies")
    print(f"bare SimPy floor   : {steps / floor:>12,.0f} micro-steps/s")
    print(
        f"refsim, with trace : {steps / with_trace:>12,.0f} micro-steps/s  "
        f"ratio {with_trace / floor:.2f}x the floor's time (target <= 3x)"
    )
    print(
        f"refsim, no trace   : {steps / no_trace:>12,.0f} micro-steps/s  "
        f"ratio {no_trace / floor:.2f}x"
    )
    print(
        f"peak memory        : {peak_trace / 2**20:.1f} MiB with trace, "
        f"{peak_none / 2**20:.1f} MiB without"
    )


if __name__ == "__main__":
    main()

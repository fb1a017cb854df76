"""Benchmark: controlled runs on SimPy against a bare SimPy loop (the floor).

Runs, in one process, a large scenario (8 threads x 1,000 refcount ops, seeded random
schedule, under each runtime) with the trace recorded, the same without the trace, and,
as the floor, a bare SimPy loop doing one `timeout` per micro-step. Prints micro-steps per
second for each and the ratio of refsim's time to the floor's. Target: within 3x of the
floor with the trace recorded.

Then it splits a run's time in two, per micro-step: the machine step alone (the same
steps, called in a plain loop), and everything else (SimPy, the CPU's hand-overs between
threads, the chooser, the trace) measured by running the engine on a machine whose
step replays recorded results at no cost.

    python benchmarks/bench_engine.py [--threads 8] [--ops 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tracemalloc
from typing import Any

from floor import floor_time, refcounts, timed

from refsim.engine import _ControlledRun, run
from refsim.machine import Machine, State
from refsim.model import Runtime, Scenario
from refsim.scheduling import RandomChooser


def big_scenario(threads: int, ops: int) -> Scenario:
    return refcounts(threads, ops, f"bench_{threads}x{ops}")


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
    floor = floor_time(steps, repeat)
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
    machine_alone, engine_alone = split(scenario, runtime, repeat)
    per_step = 1e6 / steps
    print(
        f"per micro-step     : floor {floor * per_step:.2f} us; machine step "
        f"{machine_alone * per_step:.2f} us ({machine_alone / floor:.1f}x the floor); "
        f"engine with a free step {engine_alone * per_step:.2f} us "
        f"({engine_alone / floor:.1f}x)"
    )


_OPTIONS: dict[str, Any] = {
    "keep_trace": True,
    "trace_limit": None,
    "on_event": None,
    "meter": None,
}
"""How the split runs the engine: as `run` does with the trace kept."""


class _ReplayedMachine:
    """A machine whose step returns recorded results: the engine's cost without the step's."""

    def __init__(self, real: Machine, results: list[tuple[object, object, object]]) -> None:
        self._real = real
        self._next = iter(results).__next__

    def step(self, state: object, thread: int, time: int = 0) -> object:
        return self._next()

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


def split(scenario: Scenario, runtime: Runtime, repeat: int) -> tuple[float, float]:
    """Seconds of one run spent in the machine step alone, and in the engine without it."""
    machine = Machine(scenario, runtime)
    results: list[tuple[object, object, object]] = []
    real_step = machine.step

    def recording(state: State, thread: int, time: int = 0) -> object:
        result = real_step(state, thread, time)
        results.append(result)
        return result

    machine.step = recording  # type: ignore[method-assign,assignment]
    recorded = _ControlledRun(machine, RandomChooser(1), 10**9, **_OPTIONS)
    recorded.execute()
    machine.step = real_step  # type: ignore[method-assign]
    index = {name: t for t, name in enumerate(machine.thread_names)}
    schedule = recorded.result(runtime, None).schedule
    threads = [index[name] for name in schedule]

    def machine_only() -> object:
        # What the engine does per step, minus SimPy and the chooser: step, keep the event.
        state = machine.initial()
        trace: list[object] = []
        anomalies: list[object] = []
        for now, thread in enumerate(threads):
            state, event, found = real_step(state, thread, now)
            trace.append(event)
            anomalies.extend(found)
        return trace, anomalies

    def engine_only() -> object:
        fake = _ReplayedMachine(machine, results)
        driver = _ControlledRun(fake, RandomChooser(1), 10**9, **_OPTIONS)  # type: ignore[arg-type]
        driver.execute()
        return driver

    return (
        min(timed(machine_only) for _ in range(repeat)),
        min(timed(engine_only) for _ in range(repeat)),
    )


if __name__ == "__main__":
    main()

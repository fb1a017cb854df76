"""Benchmark: timed runs on SimPy against a bare SimPy loop (the floor).

Two runs, each timed in this process next to its floor, a bare SimPy loop doing one
``timeout`` per event (the least any SimPy simulation of that many events can cost):

* 64 threads x 1,000 refcount ops (incref/decref alternating) under each runtime, trace
  kept: a micro-step is about one SimPy event, so the ratio to the floor is refsim's
  overhead per micro-step;
* an owner-heavy scenario (each of 8 threads increfs and decrefs objects it owns, one
  in ten of its updates touches a shared object): simulated time under free-threaded
  against atomic and gil, biased counting's gain in the model's costs;
* the convoy (``scenarios/convoy.yaml``: a server thread beside a CPU-bound thread,
  about 1.2 simulated seconds, 60 million micro-steps) under ``gil``: a ``compute``
  stretch is one event however many bytecodes it holds, so simulated micro-steps per
  real second is far above the floor's events per second.

Prints events and micro-steps per second and the ratios.

    python benchmarks/bench_timed.py [--threads 64] [--ops 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from floor import best, floor_time, refcounts

from refsim.engine import run
from refsim.loader import load_file
from refsim.model import Op, OpKind, Runtime, Scenario, ThreadSpec, Timing
from refsim.timed import run_timed
from refsim.trace import RunResult

ROOT = Path(__file__).resolve().parent.parent


def big_scenario(threads: int, ops: int) -> Scenario:
    return refcounts(threads, ops, f"bench_{threads}x{ops}", Timing(cores=8))


def owner_heavy_scenario(threads: int, ops: int) -> Scenario:
    """Each thread owns an object (``mine_i``) and updates it; every tenth update is an
    incref/decref pair of one shared object no thread owns (merged from the start)."""
    specs = []
    for i in range(threads):
        body: list[Op] = []
        for k in range(ops // 2):
            name = "shared" if k % 10 == 9 else f"mine{i + 1}"
            body += [Op(OpKind.INCREF, name), Op(OpKind.DECREF, name)]
        specs.append(ThreadSpec(f"T{i + 1}", tuple(body)))
    return Scenario(
        name=f"owner_heavy_{threads}x{ops}",
        threads=tuple(specs),
        objects=tuple((f"mine{i + 1}", 1) for i in range(threads)) + (("shared", 1),),
        owners=tuple((f"mine{i + 1}", f"T{i + 1}") for i in range(threads)),
        timing=Timing(cores=8),
    )


def owner_heavy(ops: int) -> None:
    """Simulated time of the owner-heavy scenario under free-threaded, atomic and gil."""
    scenario = owner_heavy_scenario(8, ops)
    print(f"\nowner-heavy: 8 threads x {ops:,} refcount ops, 9 in 10 on objects they own")
    spans = {}
    for runtime in (Runtime.FREE_THREADED, Runtime.ATOMIC, Runtime.GIL):
        result = run_timed(scenario, runtime=runtime, keep_trace=False)
        assert result.metrics is not None and not result.anomalies
        spans[runtime] = result.metrics.makespan_ns
        print(f"  {runtime.value:<13} simulated {result.metrics.makespan_ns / 1e3:>9,.1f} µs")
    gain = spans[Runtime.ATOMIC] / spans[Runtime.FREE_THREADED]
    print(f"  free-threaded runs it {gain:.2f}x as fast as atomic counts (the model's costs)")


def events_of(result: RunResult) -> int:
    """SimPy events the run needed, about: one per trace row (a micro-step, or a compute
    stretch) plus one per GIL drop request and hand-off."""
    assert result.trace is not None and result.metrics is not None
    return len(result.trace) + result.metrics.drop_requests + result.metrics.switches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    scenario = big_scenario(args.threads, args.ops)
    print(f"{args.threads} threads x {args.ops:,} refcount ops, 8 cores, trace kept")
    for runtime in Runtime:
        result = run_timed(scenario, runtime=runtime)
        events = events_of(result)
        took = best(lambda: run_timed(scenario, runtime=runtime), args.repeat)  # noqa: B023
        floor = floor_time(events, args.repeat)
        assert result.metrics is not None
        print(
            f"  {runtime.value:<7} {result.steps:>9,} micro-steps  {events:>9,} events  "
            f"simulated {result.metrics.makespan_ns / 1e3:>9,.1f} µs  real {took:6.3f} s  "
            f"{events / took:>10,.0f} events/s  floor {events / floor:>10,.0f} events/s  "
            f"ratio {took / floor:.2f}x the floor's time"
        )

    # The same machine driven by the controlled engine: what a micro-step costs before
    # any timing (Machine.step copies per-thread tuples, so it grows with the threads).
    controlled = best(lambda: run(scenario, seed=1), args.repeat)
    steps = run(scenario, seed=1, keep_trace=False).steps
    print(
        f"  controlled engine, unsafe, same scenario: real {controlled:.3f} s, "
        f"ratio {controlled / floor_time(steps, args.repeat):.2f}x the floor's time"
    )

    owner_heavy(args.ops)

    convoy = load_file(ROOT / "scenarios" / "convoy.yaml")
    result = run_timed(convoy)
    assert result.metrics is not None
    events = events_of(result)
    took = best(lambda: run_timed(convoy), args.repeat)
    floor = floor_time(events, args.repeat)
    simulated = result.metrics.makespan_ns / 1e9
    print(f"\nconvoy under gil: {simulated:.2f} simulated s, {result.steps:,} micro-steps")
    print(
        f"  real {took:.3f} s ({simulated / took:,.0f} simulated s per real s), "
        f"{events:,} events: {events / took:,.0f} events/s, floor {events / floor:,.0f} "
        f"events/s, ratio {took / floor:.2f}x the floor's time; "
        f"{result.steps / took:,.0f} simulated micro-steps per real second"
    )


if __name__ == "__main__":
    main()

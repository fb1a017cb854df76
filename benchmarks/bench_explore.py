"""Benchmark: exact exploration (``refsim explore``) on programs with astronomically many
interleavings but few states.

(a) two threads x five ``counter += 1`` (155,117,520 interleavings): target well under
    a second;
(b) three threads x four ``counter += 1`` (about 3.4e15 interleavings), and three threads
    each ``incref obj, use obj, decref obj, incref obj, decref obj`` (obj starts at
    refcount 1): time, peak memory (tracemalloc) and distinct states per second; target
    seconds and low hundreds of MB;
(c) a producer/consumer: two producers and two consumers passing three items each
    through a queue of 2 (the waiting primitives in the state).

As a floor, each case also times the bare machine: as many ``Machine.step`` calls as the
exploration made, along one long run, so the ratio shows the explorer's own overhead.

    python benchmarks/bench_explore.py [--runtime unsafe] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

from refsim.explore import explore
from refsim.machine import Machine
from refsim.model import Op, OpKind, Runtime, Scenario, ThreadSpec


def counter(threads: int, increments: int) -> Scenario:
    body = tuple(Op(OpKind.ADD, "counter", 1) for _ in range(increments))
    return Scenario(
        name=f"counter_{threads}x{increments}",
        threads=tuple(ThreadSpec(f"T{i + 1}", body) for i in range(threads)),
        variables=(("counter", 0),),
    )


def refcounts(threads: int) -> Scenario:
    kinds = ("incref", "use", "decref", "incref", "decref")
    body = tuple(Op(OpKind(kind), "obj") for kind in kinds)
    return Scenario(
        name=f"refcounts_{threads}x5",
        threads=tuple(ThreadSpec(f"T{i + 1}", body) for i in range(threads)),
        objects=(("obj", 1),),
    )


def producer_consumer(items: int) -> Scenario:
    """Two producers and two consumers through a queue of 2: each producer does ``items``
    times ``compute 1, put Q``; each consumer ``items`` times ``get Q, done += 1`` (the
    consumers' count races)."""
    produce = (Op(OpKind.COMPUTE, None, 1), Op(OpKind.PUT, "Q")) * items
    consume = (Op(OpKind.GET, "Q"), Op(OpKind.ADD, "done", 1)) * items
    return Scenario(
        name=f"prodcons_2+2x{items}",
        threads=(
            ThreadSpec("P1", produce),
            ThreadSpec("P2", produce),
            ThreadSpec("C1", consume),
            ThreadSpec("C2", consume),
        ),
        variables=(("done", 0),),
        queues=(("Q", 2),),
    )


def floor(scenario: Scenario, runtime: Runtime, steps: int) -> float:
    """Seconds for ``steps`` bare machine steps (restarting the run when it ends)."""
    machine = Machine(scenario, runtime)
    state = machine.initial()
    start = time.perf_counter()
    for _ in range(steps):
        enabled = machine.enabled(state)
        if not enabled:
            state = machine.initial()
            enabled = machine.enabled(state)
        state = machine.step(state, enabled[-1])[0]
    return time.perf_counter() - start


def measure(scenario: Scenario, runtime: Runtime, repeat: int) -> None:
    best = float("inf")
    exploration = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        exploration = explore(scenario, runtime=runtime)
        best = min(best, time.perf_counter() - start)
    assert exploration is not None
    gc.collect()
    tracemalloc.start()
    explore(scenario, runtime=runtime)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Each state is expanded once, stepping about one thread per enabled group: use the
    # states times the threads as the step count of the floor.
    steps = exploration.states * len(scenario.threads)
    bare = floor(scenario, runtime, steps)
    print(
        f"{scenario.name:<16} {runtime.value:<7} {exploration.interleavings:>26,} "
        f"{exploration.states:>9,} {len(exploration.outcomes):>8} {best:>8.3f}s "
        f"{exploration.states / best:>12,.0f} {peak / 2**20:>9.1f} MiB "
        f"{best / bare:>6.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=[r.value for r in Runtime], default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runtimes = [Runtime(args.runtime)] if args.runtime else list(Runtime)
    print(
        f"{'scenario':<16} {'runtime':<7} {'interleavings':>26} {'states':>9} {'outcomes':>8} "
        f"{'time':>9} {'states/s':>12} {'peak mem':>13} {'vs bare steps':>6}"
    )
    for scenario in (counter(2, 5), counter(3, 4), refcounts(3), producer_consumer(3)):
        for runtime in runtimes:
            measure(scenario, runtime, args.repeat)


if __name__ == "__main__":
    main()

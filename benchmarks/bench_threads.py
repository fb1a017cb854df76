"""Benchmark: many threads against few, the same work (issue 16).

A run's cost per micro-step should not depend on the number of threads. Two scenarios do
the same 20,000 refcount ops (incref/decref of one shared object, alternating): 5,000
threads x 4 ops ("many") and 10 threads x 2,000 ops ("few"). Each is timed, in this
process, under every runtime (``--runtime`` picks some: ``gil``, ``unsafe``, ``atomic``,
``free-threaded``, ``pypy``, ``jython``), in three drivers:

* ``run``: a controlled run, seeded random schedule, no trace (``refsim run --no-trace``);
* ``timed``: a timed run (8 cores), no trace;
* ``search``: a fixed number of examples of the search's runs (Hypothesis choosing the
  schedule, as ``refsim search`` does), none stopped early by a found anomaly.

Prints one line per row (runtime and driver): the time per micro-step of each and the
ratio many / few, then the worst. Target: at most 2x. Under ``atomic``,
``free-threaded``, ``pypy`` and ``jython`` an incref or a decref is one micro-step, not
three, so each thread's fixed costs (its start, its end) weigh three times as much per
micro-step as under ``gil`` and ``unsafe``; and a search picks among 5,000 threads with
13 of Hypothesis's coins where 10 threads take 4. About three and a half minutes on an
idle machine for the six runtimes.

    python benchmarks/bench_threads.py [--repeat 3] [--examples 20] [--many 5000] [--few 10]
        [--runtime gil --runtime atomic ...]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from floor import best, refcounts
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from refsim.engine import DEFAULT_MAX_STEPS, run
from refsim.machine import Machine
from refsim.model import Runtime, Scenario, Timing
from refsim.search import _Play, _plays
from refsim.timed import run_timed

TOTAL_OPS = 20_000


def scenario(threads: int, ops: int) -> Scenario:
    """``threads`` copies of one program of ``ops`` refcount ops (as ``count:`` makes)."""
    return refcounts(threads, ops, f"threads_{threads}x{ops}", Timing(cores=8))


def controlled(scenario: Scenario, runtime: Runtime) -> Callable[[], int]:
    def go() -> int:
        return run(scenario, runtime=runtime, seed=1, keep_trace=False).steps

    return go


def timed_mode(scenario: Scenario, runtime: Runtime) -> Callable[[], int]:
    def go() -> int:
        return run_timed(scenario, runtime=runtime, seed=1, keep_trace=False).steps

    return go


def searching(scenario: Scenario, runtime: Runtime, examples: int) -> Callable[[], int]:
    """``examples`` runs of the search's strategy, seeded: the micro-steps they ran."""
    machine = Machine(scenario, runtime)

    def go() -> int:
        steps = [0]

        def one(play: _Play) -> None:
            steps[0] += len(play.picks)

        config = settings(
            max_examples=examples, database=None, deadline=None, phases=(Phase.generate,),
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        hypothesis_seed(0)(config(given(_plays(machine, DEFAULT_MAX_STEPS))(one)))()
        return steps[0]

    return go


def per_step(fn: Callable[[], int], repeat: int) -> float:
    """Microseconds per micro-step of the fastest of ``repeat`` calls."""
    steps = fn()
    return best(fn, repeat) * 1e6 / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--examples", type=int, default=20)
    parser.add_argument("--many", type=int, default=5000)
    parser.add_argument("--few", type=int, default=10)
    parser.add_argument(
        "--runtime", action="append", choices=[r.value for r in Runtime], dest="runtimes",
        help="a runtime to measure (repeatable; default: all six)",
    )  # fmt: skip
    args = parser.parse_args()
    runtimes = [Runtime(r) for r in args.runtimes] if args.runtimes else list(Runtime)
    many = scenario(args.many, TOTAL_OPS // args.many)
    few = scenario(args.few, TOTAL_OPS // args.few)
    print(
        f"{args.many:,} threads x {TOTAL_OPS // args.many:,} ops against {args.few:,} threads x "
        f"{TOTAL_OPS // args.few:,} ops (incref/decref of one object): us per micro-step"
    )
    modes: list[tuple[str, Callable[[Scenario, Runtime], Callable[[], int]]]] = [
        ("run", controlled),
        ("timed", timed_mode),
        ("search", lambda s, r: searching(s, r, args.examples)),
    ]
    worst = 0.0
    for runtime in runtimes:
        for name, make in modes:
            slow = per_step(make(many, runtime), args.repeat)
            fast = per_step(make(few, runtime), args.repeat)
            worst = max(worst, slow / fast)
            print(
                f"{runtime.value:>13} {name:<7}: many {slow:8.2f} us, few {fast:8.2f} us, "
                f"ratio {slow / fast:5.2f}x ({'within' if slow / fast <= 2 else 'over'} the 2x)",
                flush=True,
            )
    print(f"worst ratio: {worst:.2f}x")


if __name__ == "__main__":
    main()

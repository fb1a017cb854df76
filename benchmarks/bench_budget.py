"""Benchmark: what looking at a budget costs the hot loops (the peer: the same work with
no meter, in the same process).

Each driver runs the same work twice, without a meter and with the command line's
default one (25 s and 1 GB, far more than the work needs, so nothing stops): the exact
count (three threads x four ``counter += 1``), a reachability search (three threads x
four increfs), a controlled run (8 threads x 1,000 refcount ops, seeded), a timed run
(the same), a sample of 2,000 runs and a search (1,000 examples under ``gil``, where
nothing is found). Prints each time and the ratio with a meter over without. Target: at
most 1.05 (a budget costs under 5%).

Then the rows of the adversarial run's table that fit in a benchmark (issue 17):
``explore`` of three threads x six increfs and the story of four threads x five increfs,
each with the default budget, timed from outside (the wall clock of the whole command),
with the process's peak memory. Targets: about 30 s and under 1 GB.

    python benchmarks/bench_budget.py [--repeat 3] [--rows]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_engine import big_scenario
from bench_explore import counter
from floor import timed

from refsim.budget import Budget, Meter
from refsim.engine import run
from refsim.explore import explore, reachable, sample
from refsim.model import Op, OpKind, Runtime, Scenario, ThreadSpec
from refsim.search import search_report
from refsim.timed import run_timed


def increfs(threads: int, each: int) -> Scenario:
    body = tuple(Op(OpKind.INCREF, "obj") for _ in range(each))
    return Scenario(
        name=f"increfs_{threads}x{each}",
        threads=tuple(ThreadSpec(f"T{i + 1}", body) for i in range(threads)),
        objects=(("obj", 1),),
    )


def work() -> list[tuple[str, Callable[[Meter | None], object]]]:
    count = counter(3, 4)
    reach = increfs(3, 4)
    big = big_scenario(8, 1000)
    few = increfs(4, 5)
    safe = increfs(4, 3)
    return [
        ("exact count, 3 x 4 counter += 1", lambda m: explore(count, meter=m)),
        ("reachability, 3 x 4 increfs", lambda m: reachable(reach, meter=m)),
        ("controlled run, 8 x 1,000 ops", lambda m: run(big, seed=1, keep_trace=False, meter=m)),
        ("timed run, 8 x 1,000 ops", lambda m: run_timed(big, keep_trace=False, meter=m)),
        ("sample, 2,000 runs of 4 x 5", lambda m: sample(few, runs=2_000, meter=m)),
        (
            "search, 1,000 examples (gil)",
            lambda m: search_report(safe, runtime=Runtime.GIL, meter=m),
        ),
    ]


def overheads(repeat: int) -> None:
    print("the cost of a budget: the same work without a meter and with the default one")
    for name, job in work():
        # Alternated, so that a machine getting busier or quieter favours neither side.
        bare, metered = float("inf"), float("inf")
        for _ in range(repeat):
            bare = min(bare, timed(lambda job=job: job(None)))
            metered = min(metered, timed(lambda job=job: job(Meter(Budget()))))
        print(
            f"{name:34s} {bare:8.3f} s without, {metered:8.3f} s with: "
            f"ratio {metered / bare:.3f} (target <= 1.05)"
        )


ROWS = [
    ("explore 3 threads x 6 increfs", ["explore", "{file}"], increfs(3, 6)),
    ("the story of 4 threads x 5 increfs", ["{file}"], increfs(4, 5)),
]


def rows() -> None:
    """The table's rows, each a whole command with the default budget."""
    print("\nrows of the adversarial table, default budget (wall clock, peak memory)")
    measure = ["/usr/bin/time", "-f", "%M"] if os.path.exists("/usr/bin/time") else []
    with tempfile.TemporaryDirectory() as folder:
        for name, argv, scenario in ROWS:
            file = Path(folder) / "s.yaml"
            file.write_text(_yaml(scenario))
            command = [sys.executable, "-m", "refsim", *(a.format(file=file) for a in argv)]
            start = time.perf_counter()
            done = subprocess.run([*measure, *command], capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            peak = done.stderr.strip().splitlines()[-1] if measure else ""
            memory = f"peak {int(peak) / 1000:,.0f} MB" if peak.isdigit() else "peak not measured"
            print(f"{name:36s} {elapsed:6.1f} s, {memory}, exit {done.returncode}")


def _yaml(scenario: Scenario) -> str:
    thread = scenario.threads[0]
    ops = ", ".join(str(op) for op in thread.ops)
    return f"objects:\n  obj: 1\nthreads:\n  T: {{ops: [{ops}], count: {len(scenario.threads)}}}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", action="store_true", help="also time the table's rows")
    args = parser.parse_args()
    overheads(args.repeat)
    if args.rows:
        rows()


if __name__ == "__main__":
    main()

"""Benchmark: `refsim search` against plain seeded random scheduling.

For two scenarios, the time to find a lost update and shrink it (`search_report`, seed
0..N-1), against the reference: `refsim.engine.run` with seeds 0, 1, 2, ... until a run
shows the anomaly (what a user without the search would do). Prints both times, their
ratio, and how many runs each needed. Then examples per second with refsim in the loop:
a search that finds nothing (leak under `gil`) spends its whole budget.

    python benchmarks/bench_search.py [--seeds 5] [--max-random 100000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from refsim.engine import run
from refsim.loader import load_text
from refsim.model import AnomalyKind, Runtime, Scenario
from refsim.search import search_report

LOST_UPDATE = load_text(
    "name: lost_update\nobjects: {obj: 1}\nthreads:\n  T1: [incref obj]\n  T2: [incref obj]\n"
)
NARROW = load_text(
    "name: narrow\nobjects: {obj: 1}\nthreads:\n  T1: [compute 50, incref obj]\n"
    "  T2: [incref obj]\n"
)
LEAK = load_text(
    "name: leak\nobjects: {obj: 2}\nthreads:\n  T1: [decref obj]\n  T2: [decref obj]\n"
)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def random_until_found(scenario: Scenario, first_seed: int, limit: int) -> int | None:
    """Runs of the fair random scheduler (seeds first_seed, first_seed + 1, ...) until one
    loses an update; None if none of ``limit`` does."""
    for n in range(limit):
        result = run(scenario, seed=first_seed + n, keep_trace=False)
        if any(a.kind is AnomalyKind.LOST_UPDATE for a in result.anomalies):
            return n + 1
    return None


def compare(scenario: Scenario, seeds: int, limit: int) -> None:
    search_times, random_times, examples, runs = [], [], [], []
    found_by_random = 0
    schedule = ""
    for seed in range(seeds):
        seconds, report = timed(
            lambda seed=seed: search_report(scenario, want=AnomalyKind.LOST_UPDATE, seed=seed)
        )
        assert report.run is not None  # type: ignore[attr-defined]
        search_times.append(seconds)
        examples.append(report.examples)  # type: ignore[attr-defined]
        schedule = f"{report.run.schedule} ({report.run.preemptions} preemption)"  # type: ignore[attr-defined]
        # Each reference run starts from a different block of seeds, as the searches do.
        seconds, needed = timed(lambda seed=seed: random_until_found(scenario, seed * limit, limit))
        random_times.append(seconds)
        if needed is not None:
            found_by_random += 1
            runs.append(needed)  # type: ignore[arg-type]
    search_median = statistics.median(search_times)
    random_median = statistics.median(random_times)
    print(f"\n{scenario.name}: find and shrink a lost update, {seeds} seeds")
    print(
        f"search          : median {search_median * 1000:8.1f} ms   "
        f"(examples to find: {min(examples)}..{max(examples)}; shrunk to {schedule})"
    )
    runs_text = f"{min(runs)}..{max(runs)}" if runs else "-"
    print(
        f"random, seeded  : median {random_median * 1000:8.1f} ms   "
        f"(found on {found_by_random}/{seeds} seeds within {limit:,} runs; runs needed: "
        f"{runs_text}; nothing shrunk)"
    )
    ratio = search_median / random_median
    if found_by_random < seeds:
        # Random never found it on some seeds: its time is a lower bound, so is the speedup.
        print(f"ratio           : search is at least {1 / ratio:,.0f}x faster (random gave up)")
    elif ratio >= 1:
        print(f"ratio           : search takes {ratio:,.1f}x random's time (and shrinks)")
    else:
        print(f"ratio           : search is {1 / ratio:,.1f}x faster than random")


def throughput(max_examples: int) -> None:
    seconds, report = timed(
        lambda: search_report(LEAK, runtime=Runtime.GIL, max_examples=max_examples)
    )
    examples = report.examples  # type: ignore[attr-defined]
    print(f"\nexamples per second (leak under gil, nothing to find, budget {max_examples:,}):")
    print(
        f"search          : {examples / seconds:8,.0f} examples/s ({examples:,} in {seconds:.2f} s)"
    )
    start = time.perf_counter()
    for seed in range(max_examples):
        run(LEAK, runtime=Runtime.GIL, seed=seed, keep_trace=False)
    floor = time.perf_counter() - start
    print(f"engine runs     : {max_examples / floor:8,.0f} runs/s (seeded random, same scenario)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-random", type=int, default=100_000)
    parser.add_argument("--max-examples", type=int, default=1000)
    args = parser.parse_args()
    search_report(LOST_UPDATE, seed=0)  # warm-up: imports and first-call costs
    compare(LOST_UPDATE, args.seeds, args.max_random)
    compare(NARROW, args.seeds, args.max_random)
    throughput(args.max_examples)


if __name__ == "__main__":
    main()

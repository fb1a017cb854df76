"""A fingerprint of refsim's results: for speed work that must change no result.

Runs every bundled scenario, every course file (``docs/tutorial/``) and generated
scenarios of 5, 70 and 300 threads (past 64 threads the machine keeps its per-thread
state chunked) under every runtime (a run a file refuses is hashed as its refusal),
through every driver: two seeded controlled runs with and without the trace, two timed
runs (the scenario's timing with the trace; one core with a 1 us switch interval,
without), and a search. Prints how many results it hashed and one SHA-256 of them all.
Run it before and after a change: the same hash means the same counts, traces,
schedules, metrics and anomalies.

    python benchmarks/fingerprint.py [--quick]

About a minute (``--quick``: the bundled scenarios and the generated ones, about 30 s).
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from floor import refcounts

from refsim.engine import run
from refsim.loader import load_file
from refsim.model import Runtime, Scenario, Timing
from refsim.search import search
from refsim.timed import run_timed

ROOT = Path(__file__).resolve().parent.parent


def generated(threads: int, ops: int) -> Scenario:
    """``threads`` copies of ``ops`` increfs and decrefs of one object, on three cores."""
    return refcounts(threads, ops, f"generated_{threads}x{ops}", Timing(cores=3))


def scenarios(quick: bool) -> list[Scenario]:
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    if not quick:
        files += sorted((ROOT / "docs" / "tutorial").rglob("*.yaml"))
    return [load_file(path) for path in files] + [
        generated(5, 6),
        generated(70, 3),
        generated(300, 2),
    ]


def outcome(fn: Callable[..., object], *args: Any, **kwargs: Any) -> object:
    """What ``fn(*args, **kwargs)`` returns, or the refusal it raises (a runtime the file
    rules out): either is part of the fingerprint."""
    try:
        return fn(*args, **kwargs)
    except Exception as error:
        return (type(error).__name__, str(error))


def results(scenario: Scenario) -> Iterator[object]:
    """Every result the fingerprint takes of ``scenario``, in order."""
    for runtime in Runtime:
        for seed in (1, 2):
            for trace in (True, False):
                yield outcome(run, scenario, runtime=runtime, seed=seed, keep_trace=trace)
            yield outcome(run_timed, scenario, runtime=runtime, seed=seed)
            yield outcome(
                run_timed, scenario, runtime=runtime, seed=seed, keep_trace=False, cores=1,
                switch_interval=1000,
            )  # fmt: skip
        yield outcome(search, scenario, runtime=runtime, max_examples=30, seed=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the course's files")
    args = parser.parse_args()
    digest = hashlib.sha256()
    count = 0
    for scenario in scenarios(args.quick):
        for result in results(scenario):
            digest.update(repr(result).encode())
            count += 1
    print(f"{count:,} results: {digest.hexdigest()}")


if __name__ == "__main__":
    main()

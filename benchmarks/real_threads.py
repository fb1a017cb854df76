"""Model vs reality: real CPython threads and processes on this machine, beside refsim's
predictions for the matching scenarios.

Measures, with the standard library only:

* the cost of one bytecode of a tight loop (refsim's ``compute`` cost);
* CPU-bound work: the same total work run sequentially, in 2 and 4 threads, and in 2
  and 4 processes (``multiprocessing``; process start included);
* I/O-bound work: 4 threads each sleeping 5 x 10 ms (``time.sleep`` releases the GIL),
  against the same sleeps one after another;
* the convoy: a thread doing 50 "requests" (two 100 µs sleeps each) beside a CPU-bound
  thread, in requests per second, at the default switch interval and at 1 ms.

Then runs refsim's timed mode on scenarios of the same shape, with ``cores`` set to this
machine's CPU count, and prints both side by side as ratios (speedups), which do not
depend on how fast this machine is.

    python benchmarks/real_threads.py [--work 0.2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from refsim.model import Op, OpKind, Runtime, Scenario, ThreadSpec, Timing
from refsim.timed import run_timed

BYTECODES_PER_ITERATION = 1
"""One iteration of ``for _ in range(n): x += 1`` (seven CPython bytecodes, cheap ones
after 3.11's specialisation) is what refsim's ``compute`` counts as one bytecode: its
default cost, 20 ns, is this loop's speed on a typical machine."""


def spin(iterations: int) -> int:
    x = 0
    for _ in range(iterations):
        x += 1
    return x


def elapsed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def in_threads(target: Callable[..., object], args: tuple[object, ...], n: int) -> float:
    threads = [threading.Thread(target=target, args=args) for _ in range(n)]

    def go() -> None:
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    return elapsed(go)


def in_processes(iterations: int, n: int) -> float:
    def go() -> None:
        procs = [multiprocessing.Process(target=spin, args=(iterations,)) for _ in range(n)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()

    return elapsed(go)


def sleeper(count: int, seconds: float) -> None:
    for _ in range(count):
        time.sleep(seconds)
        spin(100)


def convoy_rate(requests: int, interval: float) -> float:
    """Requests per second of a server thread beside a CPU-bound thread."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            spin(10_000)

    def server() -> None:
        for _ in range(requests):
            time.sleep(0.0001)
            spin(20)
            time.sleep(0.0001)

    w = threading.Thread(target=worker)
    w.start()
    took = in_threads(server, (), 1)
    stop.set()
    w.join()
    sys.setswitchinterval(old)
    return requests / took


# -- refsim's predictions ------------------------------------------------------------------


def compute(n: int) -> Op:
    return Op(OpKind.COMPUTE, None, n)


def io(ns: int) -> Op:
    return Op(OpKind.IO, None, ns)


def makespan(s: Scenario, runtime: Runtime = Runtime.GIL, switch: int | None = None) -> int:
    metrics = run_timed(s, runtime=runtime, keep_trace=False, switch_interval=switch).metrics
    assert metrics is not None
    return metrics.makespan_ns


def predicted(cores: int, bytecodes: int) -> dict[str, float]:
    timing = Timing(cores=cores)

    def threads(n: int, ops: tuple[Op, ...]) -> Scenario:
        specs = tuple(ThreadSpec(f"T{i + 1}", ops) for i in range(n))
        return Scenario(name="real", threads=specs, timing=timing)

    def per_process(s: Scenario) -> Scenario:
        return replace(s, processes=tuple((f"P{t}", (t,)) for t in s.thread_names))

    work = (compute(bytecodes),)
    one = makespan(threads(1, work))
    out: dict[str, float] = {}
    for n in (2, 4):
        out[f"{n} CPU-bound threads"] = n * one / makespan(threads(n, work))
        out[f"{n} processes"] = n * one / makespan(per_process(threads(n, work)))
    sleeps = (io(10_000_000), compute(100 * BYTECODES_PER_ITERATION)) * 5
    out["4 sleeping threads"] = 4 * makespan(threads(1, sleeps)) / makespan(threads(4, sleeps))
    server = (io(100_000), compute(20 * BYTECODES_PER_ITERATION), io(100_000)) * 50
    cpu = (compute(10**9),)
    convoy = Scenario(
        name="convoy",
        threads=(ThreadSpec("S", server), ThreadSpec("W", cpu)),
        timing=timing,
    )
    for label, switch in (("convoy req/s, 5 ms", None), ("convoy req/s, 1 ms", 1_000_000)):
        metrics = run_timed(
            convoy, runtime=Runtime.GIL, keep_trace=False, switch_interval=switch
        ).metrics
        assert metrics is not None
        done = dict(metrics.threads)["S"].finished_ns
        assert done is not None
        out[label] = 50 / (done / 1e9)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=float, default=0.2, help="seconds of CPU per unit")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"CPython {sys.version.split()[0]} on {sys.platform}, {cores} CPUs, "
          f"multiprocessing start method {multiprocessing.get_start_method()}")  # fmt: skip

    probe = 2_000_000
    per_iteration = min(elapsed(lambda: spin(probe)) for _ in range(3)) / probe
    iterations = int(args.work / per_iteration)
    per_bytecode = per_iteration / BYTECODES_PER_ITERATION
    print(f"one loop iteration (one refsim compute bytecode): {per_bytecode * 1e9:.1f} ns "
          "(refsim's default: 20 ns)")  # fmt: skip
    start = elapsed(lambda: in_processes(0, 1))
    print(f"starting and joining one process: {start * 1e3:.2f} ms (refsim's default: 2 ms)")

    sequential = min(elapsed(lambda: spin(iterations)) for _ in range(2))
    measured: dict[str, float] = {}
    for n in (2, 4):
        measured[f"{n} CPU-bound threads"] = n * sequential / in_threads(spin, (iterations,), n)
        measured[f"{n} processes"] = n * sequential / in_processes(iterations, n)
    one = elapsed(lambda: sleeper(5, 0.01))
    measured["4 sleeping threads"] = 4 * one / in_threads(sleeper, (5, 0.01), 4)
    measured["convoy req/s, 5 ms"] = convoy_rate(50, 0.005)
    measured["convoy req/s, 1 ms"] = convoy_rate(50, 0.001)

    model = predicted(cores, int(iterations * BYTECODES_PER_ITERATION))
    print()
    print(f"{'':<22}{'measured':>10}{'refsim':>10}")
    for key, value in measured.items():
        unit = "" if key.startswith("convoy") else "x"
        print(f"{key:<22}{value:>9.2f}{unit or ' '}{model[key]:>9.2f}{unit or ' '}")
    print("\n(speedup = the same work done one unit after another, divided by the time "
          "taken; convoy: the server's requests per second)")  # fmt: skip


if __name__ == "__main__":
    main()

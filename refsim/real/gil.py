"""``refsim real gil``: real threads and processes on this machine, beside refsim's timed
model of the same programs with this machine's core count.

Measured, with the standard library only:

* the cost of one iteration of ``for _ in range(n): x += 1`` (what a ``compute``
  bytecode stands for) and of starting and joining one process;
* CPU-bound work: the same total work run one unit after another, in 2 and 4 threads,
  and in 2 and 4 processes (``multiprocessing``, start included), as speedups;
* I/O-bound work: 4 threads each sleeping 5 × 10 ms (``time.sleep`` releases the GIL);
* the convoy: a thread serving requests (two 100 µs sleeps each) beside a CPU-bound
  thread, in requests per second, at the 5 ms switch interval and at 1 ms.

The machine's load is read first (the 1-minute load average, and how many cores were
idle just before). Processes can only scale onto idle cores, so when too few are free
the process rows are not measured: a figure like 0.9× would measure the other programs,
not processes.

The model: :func:`refsim.timed.run_timed` on scenarios of the same shape, with ``cores``
set to this machine's CPUs and the ``compute`` cost set to the loop iteration just
measured. A process in the timed model has a GIL of its own and starts ``k × 2 ms`` after
the first; here every process is a new one started by the waiting parent, and what it
costs was just measured, so the model runs each process's single thread without a GIL
(its own, never contended, is the same) after an ``io`` of ``(k + 1)`` times the measured
start cost: exactly the timed model's process semantics with that start cost.
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from refsim.costs import BYTECODE, PROCESS_START
from refsim.model import MicroKind, Op, OpKind, Runtime, Scenario, ThreadSpec, Timing
from refsim.real.interpreter import free_cores, this_interpreter
from refsim.real.prediction import counter_runtime
from refsim.real.values import Interpreter, Progress, Report, Row, Spread
from refsim.timed import run_timed

__all__ = ["DEFAULT", "QUICK", "GilSettings", "Machine", "busy", "predicted", "run", "steps"]


@dataclass(frozen=True, slots=True)
class GilSettings:
    work: float = 0.2
    """Seconds of CPU per unit of CPU-bound work (one thread's share)."""
    repeat: int = 3
    requests: int = 50
    """Requests the convoy's server makes."""


DEFAULT = GilSettings()
QUICK = GilSettings(work=0.05, repeat=1, requests=20)

SLEEPS, SLEEP = 5, 0.01
"""Each sleeping thread sleeps this many times for this long (seconds)."""
REQUEST_SLEEP = 0.0001
"""Each convoy request: two sleeps of this long, with a little work between."""


@dataclass(frozen=True, slots=True)
class Machine:
    """How busy the machine was when the experiment began."""

    cores: int
    free: float
    """Cores nobody was using just before."""
    load: float | None
    """The 1-minute load average."""


def busy(machine: Machine, processes: int) -> bool:
    """Whether too few cores are free for ``processes`` processes to scale: each needs
    a core of its own, up to the machine's cores (half a core of slack)."""
    return machine.free < min(processes, machine.cores) - 0.5


# -- the real programs ---------------------------------------------------------------------


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
    """Seconds for ``n`` threads running ``target(*args)``."""
    threads = [threading.Thread(target=target, args=args) for _ in range(n)]

    def go() -> None:
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    return elapsed(go)


def in_processes(iterations: int, n: int) -> float:
    """Seconds for ``n`` new processes each running ``spin(iterations)``, starts included."""

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
            time.sleep(REQUEST_SLEEP)
            spin(20)
            time.sleep(REQUEST_SLEEP)

    w = threading.Thread(target=worker)
    w.start()
    try:
        took = in_threads(server, (), 1)
    finally:
        stop.set()
        w.join()
        sys.setswitchinterval(old)
    return requests / took


# -- refsim's predictions -------------------------------------------------------------------


def _compute(n: int) -> Op:
    return Op(OpKind.COMPUTE, None, n)


def _io(ns: int) -> Op:
    return Op(OpKind.IO, None, ns)


def _makespan(s: Scenario, runtime: Runtime) -> int:
    metrics = run_timed(s, runtime=runtime, keep_trace=False).metrics
    assert metrics is not None
    return metrics.makespan_ns


def predicted(
    *, cores: int, runtime: Runtime, iteration_ns: int, start_ns: int, iterations: int,
    requests: int,
) -> dict[str, float]:  # fmt: skip
    """The timed model's figure for each measured row (see the module docstring)."""
    timing = Timing(cores=cores, costs=((MicroKind.COMPUTE, max(1, iteration_ns)),))

    def scenario(*programs: tuple[Op, ...]) -> Scenario:
        specs = tuple(ThreadSpec(f"T{i + 1}", ops) for i, ops in enumerate(programs))
        return Scenario(name="real", threads=specs, timing=timing)

    work = (_compute(iterations),)
    one = _makespan(scenario(work), runtime)
    out: dict[str, float] = {}
    for n in (2, 4):
        out[f"{n} threads"] = n * one / _makespan(scenario(*[work] * n), runtime)
        started = [(_io((k + 1) * start_ns), *work) for k in range(n)]
        out[f"{n} processes"] = n * one / _makespan(scenario(*started), Runtime.ATOMIC)
    sleeps = (_io(int(SLEEP * 1e9)), _compute(100)) * SLEEPS
    out["4 sleeping threads"] = (
        4 * _makespan(scenario(sleeps), runtime) / _makespan(scenario(*[sleeps] * 4), runtime)
    )
    request = int(REQUEST_SLEEP * 1e9)
    server = (_io(request), _compute(20), _io(request)) * requests
    for name, interval in (("convoy 5 ms", 5_000_000), ("convoy 1 ms", 1_000_000)):
        convoy = Scenario(
            name="convoy",
            threads=(ThreadSpec("S", server), ThreadSpec("W", (_compute(10**10),))),
            timing=Timing(cores=cores, costs=timing.costs, switch_interval=interval),
        )
        metrics = run_timed(convoy, runtime=runtime, keep_trace=False).metrics
        assert metrics is not None
        done = dict(metrics.threads)["S"].finished_ns
        assert done is not None
        out[name] = requests / (done / 1e9)
    return out


# -- the experiment -------------------------------------------------------------------------

_SPEEDUPS = (
    ("2 threads", "2 CPU-bound threads, speedup"),
    ("2 processes", "2 processes, speedup"),
    ("4 threads", "4 CPU-bound threads, speedup"),
    ("4 processes", "4 processes, speedup"),
    ("4 sleeping threads", "4 sleeping threads, speedup"),
    ("convoy 5 ms", "convoy at a 5 ms switch interval"),
    ("convoy 1 ms", "convoy at a 1 ms switch interval"),
)


def steps(settings: GilSettings) -> int:
    """How many times :func:`run` calls its progress callback."""
    return 4 + settings.repeat * 7 + 1


def _machine() -> Machine:
    interpreter = this_interpreter()
    return Machine(cores=interpreter.cores, free=free_cores(), load=interpreter.load)


def run(
    settings: GilSettings = DEFAULT,
    *,
    progress: Progress | None = None,
    machine: Callable[[], Machine] = _machine,
) -> Report:
    """Measure, then predict; see the module docstring. ``machine`` reads the load (a
    test passes a fixed one)."""
    tick = progress or (lambda _: None)
    found = machine()
    tick("the machine's load")
    interpreter = this_interpreter()
    probe = 1_000_000
    per_iteration = min(elapsed(lambda: spin(probe)) for _ in range(3)) / probe
    tick("one loop iteration")
    start = min(in_processes(0, 1) for _ in range(3))
    tick("one process start")
    iterations = max(1, int(settings.work / per_iteration))
    sequential = min(elapsed(lambda: spin(iterations)) for _ in range(2))
    tick("the work, one unit after another")
    runs: dict[str, list[float]] = {name: [] for name, _ in _SPEEDUPS}
    skipped = {n: busy(found, n) for n in (2, 4)}
    for _ in range(settings.repeat):
        for n in (2, 4):
            runs[f"{n} threads"].append(n * sequential / in_threads(spin, (iterations,), n))
            tick(f"{n} threads")
            if not skipped[n]:
                runs[f"{n} processes"].append(n * sequential / in_processes(iterations, n))
            tick(f"{n} processes")
        one = elapsed(lambda: sleeper(SLEEPS, SLEEP))
        runs["4 sleeping threads"].append(4 * one / in_threads(sleeper, (SLEEPS, SLEEP), 4))
        tick("sleeping threads")
        runs["convoy 5 ms"].append(convoy_rate(settings.requests, 0.005))
        tick("the convoy at 5 ms")
        runs["convoy 1 ms"].append(convoy_rate(settings.requests, 0.001))
        tick("the convoy at 1 ms")
    runtime = counter_runtime(interpreter)
    model = predicted(
        cores=found.cores, runtime=runtime, iteration_ns=round(per_iteration * 1e9),
        start_ns=round(start * 1e9), iterations=iterations, requests=settings.requests,
    )  # fmt: skip
    tick("refsim's timed model")
    idle = f"{found.free:g} core{'' if found.free == 1 else 's'} of {found.cores} idle"
    busy_note = f"the machine was busy: {idle}" + (
        "" if found.load is None else f", load average {found.load:.2f}"
    )
    rows = [
        Row("bytecode ns", "one loop iteration (a compute bytecode)",
            Spread((per_iteration * 1e9,)), "ns", float(BYTECODE), f"{BYTECODE} ns (default)"),
        Row("process start ms", "starting and joining one process",
            Spread((start * 1e3,)), "ms", PROCESS_START / 1e6,
            f"{PROCESS_START / 1e6:g} ms (default)"),
    ]  # fmt: skip
    for name, label in _SPEEDUPS:
        unit = "req/s" if name.startswith("convoy") else "×"
        measured = Spread(tuple(runs[name])) if runs[name] else None
        text = f"{model[name]:.0f} req/s" if unit == "req/s" else f"{model[name]:.2f}×"
        rows.append(
            Row(name, label, measured, unit, model[name], text,
                note="" if measured is not None else busy_note)
        )  # fmt: skip
    return Report(
        experiment="gil",
        interpreter=interpreter,
        settings=(
            ("work", settings.work),
            ("repeat", settings.repeat),
            ("requests", settings.requests),
            ("free_cores", found.free),
        ),
        rows=tuple(rows),
        findings=findings_of(tuple(rows), interpreter, found, runtime),
    )


def findings_of(
    rows: tuple[Row, ...], interpreter: Interpreter, machine: Machine, runtime: Runtime
) -> tuple[str, ...]:
    """The sentences that explain the rows."""
    by = {row.name: row for row in rows}

    def m(name: str) -> float:
        spread = by[name].measured
        assert spread is not None
        return statistics.median(spread.runs)

    found: list[str] = []
    threads = f"{m('2 threads'):.2f}× with 2 threads and {m('4 threads'):.2f}× with 4"
    model = f"refsim's `{runtime}` runtime predicts {by['2 threads'].model_text} and " + (
        f"{by['4 threads'].model_text}"
    )
    if interpreter.gil_enabled:
        found.append(
            f"CPU-bound threads ran {threads} (1× is no faster than one thread): under the GIL "
            f"one thread runs bytecode at a time. {model}."
        )
    else:
        found.append(
            f"CPU-bound threads ran {threads}: without the GIL they run on "
            f"{machine.cores} cores at once. {model}."
        )
    if by["2 processes"].measured is None:
        found.append(
            f"The process rows were not measured because {by['2 processes'].note}. Processes "
            "can scale only onto idle cores, so those rows would have measured the other "
            f"programs, not processes. refsim predicts {by['2 processes'].model_text} for 2 "
            "processes on an idle machine."
        )
    else:
        start = m("process start ms")
        found.append(
            f"Processes have a GIL each: {m('2 processes'):.2f}× with 2 (refsim "
            f"{by['2 processes'].model_text}, counting the {start:.1f} ms a start took here)."
        )
    found.append(
        f"Sleeping threads release the GIL, so their waits overlap: {m('4 sleeping threads'):.2f}× "
        f"with 4 (refsim {by['4 sleeping threads'].model_text})."
    )
    found.append(
        f"The convoy: beside a CPU-bound thread, a thread that sleeps twice per request "
        f"managed {m('convoy 5 ms'):,.0f} requests per second at the 5 ms switch interval "
        f"(refsim {by['convoy 5 ms'].model_text}) and {m('convoy 1 ms'):,.0f} at 1 ms "
        f"(refsim {by['convoy 1 ms'].model_text}): after each sleep it waits for the CPU-bound "
        "thread to be asked to drop the GIL, so the interval sets the rate."
    )
    return tuple(found)

"""The same scenario under each runtime, safety and speed side by side (``refsim compare``).

Each row runs the scenario one way: under every runtime with every thread in one process,
grouped as the design space is (:data:`refsim.runtimes.GROUPS`: CPython with the GIL,
without it, other Pythons); under ``gil`` with one process per thread (unless its threads
wait for each other, which needs shared memory); and, when the file groups its threads
into processes, under ``gil`` as the file says. For each row:

* **anomalies possible**: the anomaly kinds some interleaving reaches, decided exactly as
  ``refsim check`` decides them (:func:`refsim.explore.reachable`), process by process,
  since processes share no memory. Past the state budget, a seeded sample of controlled
  runs stands in (of the scenario with each ``compute n`` cut to ``compute 1``, which
  reaches the same outcomes), and the row says "sampled" (a sample can miss an anomaly;
  it never invents one).
* **makespan**: one timed run (:func:`refsim.timed.run_timed`) with the given seed;
* **speedup**: the time the threads take one after another (one thread running every
  thread's ops in file order, timed under the same runtime, without process starts; for
  threads that wait for each other, which cannot be run as one, the sum of each
  thread's running and I/O time), divided by the makespan;
* **CPU utilisation**: the cores' time spent running threads.

With a :class:`~refsim.budget.Meter`, every piece of work (each runtime's sequential
run, each row's exploration and timed run) gets a fair share of the time left: a piece
that runs out of budget leaves its cell unknown (``None``, and the row says which budget)
and the next piece starts with what remains.

The figures of a comparison (``refsim compare --plot``, ``refsim plot --timed --runtimes``)
draw runs made here: :func:`timed_rows` runs each row in simulated time with its trace,
:func:`timed_ways` each :class:`Way` the command line names, both as :class:`TimedRun`
values that the figure layer (:func:`refsim.plot.draw_comparison`) draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from refsim.budget import BudgetExceeded, Meter
from refsim.claims import Verdict, claim, judge_found
from refsim.explore import ExplorationStopped, explore, reachable
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, ThreadSpec
from refsim.runtimes import GROUPS
from refsim.timed import run_timed
from refsim.trace import RunResult

__all__ = [
    "MAX_STATES",
    "SAMPLES",
    "Row",
    "TimedRun",
    "Way",
    "agrees",
    "compare",
    "label",
    "per_thread",
    "timed_rows",
    "timed_ways",
    "verdict",
    "ways",
]

MAX_STATES = 200_000
"""States the exploration of one process may use before sampling instead."""
SAMPLES = 500
"""Seeded controlled runs when exploring would need more states."""


@dataclass(frozen=True, slots=True)
class Row:
    """One way of running the scenario, and what it gives."""

    label: str
    runtime: Runtime
    processes: str
    """``"one"``, ``"per thread"`` or ``"as the file says"``."""
    anomalies: tuple[AnomalyKind, ...] | None
    """``None``: unknown, a budget ran out (``stopped``)."""
    exhaustive: bool
    """False when a sample, not an exploration, found ``anomalies``."""
    makespan_ns: int | None
    """``None``: unknown, the timed run ran out of budget."""
    sequential_ns: int | None
    utilisation: float | None
    went_wrong: tuple[AnomalyKind, ...] = ()
    """What the timed run itself recorded: its makespan is that of a broken run (a leaked
    object is never freed, so the run skips that DEALLOC)."""
    stopped: str | None = None
    """The budget (``time``, ``memory``, ``states``) that left a cell of this row unknown."""

    @property
    def speedup(self) -> float | None:
        if self.sequential_ns is None or self.makespan_ns is None:
            return None
        return self.sequential_ns / self.makespan_ns if self.makespan_ns else 1.0

    @property
    def known(self) -> bool:
        """Whether every cell was measured."""
        return self.anomalies is not None and self.speedup is not None


def _explorable(scenario: Scenario) -> Scenario:
    """``scenario`` with each ``compute n`` cut to ``compute 1`` (same outcomes)."""
    threads = tuple(
        replace(
            t,
            ops=tuple(
                Op(OpKind.COMPUTE, None, 1) if op.kind is OpKind.COMPUTE else op for op in t.ops
            ),
        )
        for t in scenario.threads
    )
    return replace(scenario, threads=threads)


def _possible(
    scenario: Scenario, runtime: Runtime, seed: int, meter: Meter | None
) -> tuple[set[AnomalyKind], bool]:
    """The anomaly kinds some interleaving reaches, exactly as ``check`` decides them; past
    the state budget, those a seeded sample of runs finds (then not exhaustive). Raises
    :class:`~refsim.budget.BudgetExceeded` when the ``meter`` runs out before either."""
    kinds: set[AnomalyKind] = set()
    exhaustive = True
    parts = scenario.per_process()
    for index, sub in enumerate(parts):
        if meter is not None:
            meter.check()  # a file of many processes: each is cheap, all of them may not be
        share = None if meter is None else meter.fair(len(parts) - index)
        try:
            search = None if share is None else share.share(0.5)
            kinds |= reachable(sub, runtime=runtime, max_states=MAX_STATES, meter=search).kinds
        except ExplorationStopped:
            table = explore(
                _explorable(sub), runtime=runtime, max_states=MAX_STATES, sample=SAMPLES,
                seed=seed, meter=share,
            )  # fmt: skip
            exhaustive &= table.exhaustive
            kinds |= table.kinds
    return kinds, exhaustive


def _sequential(scenario: Scenario, runtime: Runtime, meter: Meter | None = None) -> int:
    """The threads one after another: one thread running every thread's ops in file order,
    timed, in one process.

    One thread rather than each thread alone: the work must be the same as the rows'. Two
    decrefs of an object with refcount 2, run each alone, never reach the DEALLOC that
    one of them runs when both share the object."""
    if scenario.waits:
        # Threads that wait for each other cannot run as one thread (a consumer's get
        # would come before the producer's put): add up the work of each thread instead,
        # its running and its I/O, as one thread would do it one piece after another.
        metrics = run_timed(scenario, runtime=runtime, keep_trace=False, meter=meter).metrics
        assert metrics is not None
        return sum(m.running_ns + m.io_wait_ns for _, m in metrics.threads)
    ops = tuple(op for thread in scenario.threads for op in thread.ops)
    one = replace(scenario, threads=(ThreadSpec(scenario.threads[0].name, ops),), processes=())
    metrics = run_timed(one, runtime=runtime, keep_trace=False, meter=meter).metrics
    assert metrics is not None
    return metrics.makespan_ns


def per_thread(scenario: Scenario) -> Scenario:
    """``scenario`` with each thread in a process of its own (``P_T1``, ``P_T2`` ...)."""
    return replace(
        scenario, processes=tuple((f"P_{name}", (name,)) for name in scenario.thread_names)
    )


def ways(scenario: Scenario) -> list[tuple[str, Runtime, str, Scenario]]:
    """Each way the comparison runs ``scenario``: its label, runtime, processes (as
    :attr:`Row.processes` says them) and the scenario so arranged."""
    one = replace(scenario, processes=())
    found = [(str(runtime), runtime, "one", one) for _, runtimes in GROUPS for runtime in runtimes]
    if not scenario.waits:
        # Threads that wait for each other share their queues, events and joins: apart,
        # in processes of their own, they would only wait for ever.
        found.append(("gil, a process per thread", Runtime.GIL, "per thread", per_thread(scenario)))
    if len(scenario.process_groups()) > 1:
        found.append(("gil, the file's processes", Runtime.GIL, "as the file says", scenario))
    return found


def compare(scenario: Scenario, *, seed: int = 0, meter: Meter | None = None) -> tuple[Row, ...]:
    """Every row of the comparison (see the module docstring)."""
    one = replace(scenario, processes=())
    arranged = ways(scenario)
    runtimes = list(dict.fromkeys(runtime for _, runtime, _, _ in arranged))
    pieces = len(runtimes) + 2 * len(arranged)
    stopped: dict[Runtime | str, str] = {}

    def fair() -> Meter | None:
        nonlocal pieces
        pieces -= 1
        return None if meter is None else meter.fair(pieces + 1)

    sequential: dict[Runtime, int | None] = {}
    for runtime in runtimes:
        try:
            sequential[runtime] = _sequential(one, runtime, fair())
        except BudgetExceeded as error:
            sequential[runtime], stopped[runtime] = None, error.limit.value
    rows = []
    for label, runtime, processes, variant in arranged:
        kinds: set[AnomalyKind] | None = None
        exhaustive = False
        why = stopped.get(runtime)
        try:
            kinds, exhaustive = _possible(variant, runtime, seed, fair())
        except BudgetExceeded as error:
            why = error.limit.value
        makespan = utilisation = None
        went_wrong: tuple[AnomalyKind, ...] = ()
        try:
            timed = run_timed(variant, runtime=runtime, seed=seed, keep_trace=False, meter=fair())
        except BudgetExceeded as error:
            why = error.limit.value
        else:
            assert timed.metrics is not None
            makespan, utilisation = timed.metrics.makespan_ns, timed.metrics.utilisation
            went_wrong = tuple(sorted(timed.anomaly_kinds, key=str))
        rows.append(
            Row(
                label=label,
                runtime=runtime,
                processes=processes,
                anomalies=None if kinds is None else tuple(sorted(kinds, key=lambda k: k.value)),
                exhaustive=exhaustive,
                makespan_ns=makespan,
                sequential_ns=sequential[runtime],
                utilisation=utilisation,
                went_wrong=went_wrong,
                stopped=why,
            )
        )
    return tuple(rows)


def verdict(scenario: Scenario, row: Row) -> Verdict | None:
    """A one-process row's claim held against the kinds it found reachable (refsim.claims,
    the reading every command shares); ``None`` for a row in processes, which the claims
    do not speak of, and for a row whose anomalies are unknown (its budget ran out)."""
    if row.processes != "one" or row.anomalies is None:
        return None
    return judge_found(scenario, row.runtime, row.anomalies, complete=row.exhaustive)


def agrees(scenario: Scenario, row: Row) -> bool | None:
    """Whether the row agrees with the scenario's claims: its verdict holds (a runtime not
    checked, and a row in processes, always agree); ``None`` when its anomalies are
    unknown and its runtime is held to a claim."""
    judged = verdict(scenario, row)
    if judged is not None:
        return judged.holds
    if row.processes == "one" and row.anomalies is None:
        return None if claim(scenario, row.runtime).kinds is not None else True
    return True


# -- the runs a figure of the comparison draws ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Way:
    """A way of running the scenario that ``refsim plot --timed --runtimes`` names: a
    runtime, and where the threads live (``gil:processes``)."""

    runtime: Runtime
    processes: str
    """``file`` (as the file says), ``threads`` (all in one process) or ``processes``
    (a process per thread)."""

    def __str__(self) -> str:
        return str(self.runtime) if self.processes == "file" else f"{self.runtime}:{self.processes}"


@dataclass(frozen=True, slots=True)
class TimedRun:
    """One way of running the scenario, run in simulated time with its trace kept: its
    title in ``refsim compare``'s words (``gil``, ``gil, a process per thread``; empty for
    a run that is alone), the run, and the names of its processes (a GIL lane each)."""

    label: str
    result: RunResult
    processes: tuple[str, ...]

    @property
    def makespan_ns(self) -> int:
        """When the run's last thread ended, in simulated ns."""
        assert self.result.metrics is not None  # a timed run always measures
        return self.result.metrics.makespan_ns


def label(scenario: Scenario, way: Way, many: bool) -> str:
    """A run's title in a comparison of ``many`` runs (or of one), in ``refsim compare``'s
    words: the runtime, and where the threads live when that is not plain."""
    split = len(scenario.process_groups()) > 1
    if way.processes == "processes":
        return f"{way.runtime}, a process per thread"
    if way.processes == "threads" and split:
        return f"{way.runtime}, one process"
    if way.processes == "file" and split:
        return f"{way.runtime}, the file's processes"
    return str(way.runtime) if many else ""


def _timed(
    title: str, scenario: Scenario, runtime: Runtime, *, seed: int, meter: Meter | None,
    cores: int | None = None, switch_interval: int | None = None,
) -> TimedRun:  # fmt: skip
    result = run_timed(scenario, runtime=runtime, seed=seed, cores=cores,
                       switch_interval=switch_interval, meter=meter)  # fmt: skip
    return TimedRun(title, result, tuple(name for name, _ in scenario.process_groups()))


def timed_ways(
    scenario: Scenario, chosen: Sequence[Way], *, seed: int, cores: int | None = None,
    switch_interval: int | None = None, meter: Meter | None = None,
) -> tuple[TimedRun, ...]:  # fmt: skip
    """The timed run of ``scenario`` arranged as each of ``chosen`` says, titled by
    :func:`label`, each with a fair share of the ``meter`` (raises
    :class:`~refsim.timed.TimedRunStopped` if one runs out)."""
    arranged = {
        "file": scenario,
        "threads": replace(scenario, processes=()),
        "processes": per_thread(scenario),
    }
    runs = []
    for n, way in enumerate(chosen):
        share = None if meter is None else meter.fair(len(chosen) - n)
        runs.append(
            _timed(label(scenario, way, len(chosen) > 1), arranged[way.processes], way.runtime,
                   seed=seed, cores=cores, switch_interval=switch_interval, meter=share)
        )  # fmt: skip
    return tuple(runs)


def timed_rows(
    scenario: Scenario, *, seed: int, meter: Meter | None = None
) -> tuple[TimedRun, ...]:
    """The timed run of each row of :func:`compare` (:func:`ways`), titled as the row is,
    each with a fair share of the ``meter`` (raises :class:`~refsim.timed.TimedRunStopped`
    if one runs out)."""
    rows = ways(scenario)
    runs = []
    for n, (title, runtime, _, arranged) in enumerate(rows):
        share = None if meter is None else meter.fair(len(rows) - n)
        runs.append(_timed(title, arranged, runtime, seed=seed, meter=share))
    return tuple(runs)

"""``refsim compare FILE``: the same scenario under each runtime, safety and speed side by
side.

Each row runs the scenario one way: under ``unsafe``, ``gil`` and ``atomic`` with every
thread in one process; under ``gil`` with one process per thread (unless its threads
wait for each other, which needs shared memory); and, when the file
groups its threads into processes, under ``gil`` as the file says. For each row:

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
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from typing import Any, TextIO

from rich.table import Table
from rich.text import Text

from refsim.cli.common import (
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    UsageError,
    add_limits,
    console,
    load,
    write_json,
)
from refsim.costs import settings
from refsim.explore import StateBudgetExceeded, explore, reachable
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, ThreadSpec
from refsim.narrate import why_runtime
from refsim.report import format_ns
from refsim.runtimes import GROUPS
from refsim.timed import run_timed

__all__ = ["COMMAND", "Row", "compare", "compare_json", "compare_table", "per_thread", "ways"]

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
    anomalies: tuple[AnomalyKind, ...]
    exhaustive: bool
    """False when a sample, not an exploration, found ``anomalies``."""
    makespan_ns: int
    sequential_ns: int
    utilisation: float
    went_wrong: tuple[AnomalyKind, ...] = ()
    """What the timed run itself recorded: its makespan is that of a broken run (a leaked
    object is never freed, so the run skips that DEALLOC)."""

    @property
    def speedup(self) -> float:
        return self.sequential_ns / self.makespan_ns if self.makespan_ns else 1.0


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


def _possible(scenario: Scenario, runtime: Runtime, seed: int) -> tuple[set[AnomalyKind], bool]:
    """The anomaly kinds some interleaving reaches, exactly as ``check`` decides them; past
    the state budget, those a seeded sample of runs finds (then not exhaustive)."""
    kinds: set[AnomalyKind] = set()
    exhaustive = True
    for sub in scenario.per_process():
        try:
            kinds |= reachable(sub, runtime=runtime, max_states=MAX_STATES).kinds
        except StateBudgetExceeded:
            table = explore(
                _explorable(sub), runtime=runtime, max_states=MAX_STATES, sample=SAMPLES, seed=seed
            )
            exhaustive &= table.exhaustive
            kinds |= table.kinds
    return kinds, exhaustive


def _sequential(scenario: Scenario, runtime: Runtime) -> int:
    """The threads one after another: one thread running every thread's ops in file order,
    timed, in one process.

    One thread rather than each thread alone: the work must be the same as the rows'. Two
    decrefs of an object with refcount 2, run each alone, never reach the DEALLOC that
    one of them runs when both share the object."""
    if scenario.waits:
        # Threads that wait for each other cannot run as one thread (a consumer's get
        # would come before the producer's put): add up the work of each thread instead,
        # its running and its I/O, as one thread would do it one piece after another.
        metrics = run_timed(scenario, runtime=runtime, keep_trace=False).metrics
        assert metrics is not None
        return sum(m.running_ns + m.io_wait_ns for _, m in metrics.threads)
    ops = tuple(op for thread in scenario.threads for op in thread.ops)
    one = replace(scenario, threads=(ThreadSpec(scenario.threads[0].name, ops),), processes=())
    metrics = run_timed(one, runtime=runtime, keep_trace=False).metrics
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


def compare(scenario: Scenario, *, seed: int = 0) -> tuple[Row, ...]:
    """Every row of the comparison (see the module docstring)."""
    one = replace(scenario, processes=())
    sequential = {runtime: _sequential(one, runtime) for _, runtime, _, _ in ways(scenario)}
    rows = []
    for label, runtime, processes, variant in ways(scenario):
        kinds, exhaustive = _possible(variant, runtime, seed)
        timed = run_timed(variant, runtime=runtime, seed=seed, keep_trace=False)
        metrics = timed.metrics
        assert metrics is not None
        rows.append(
            Row(
                label=label,
                runtime=runtime,
                processes=processes,
                anomalies=tuple(sorted(kinds, key=lambda k: k.value)),
                exhaustive=exhaustive,
                makespan_ns=metrics.makespan_ns,
                sequential_ns=sequential[runtime],
                utilisation=metrics.utilisation,
                went_wrong=tuple(sorted(timed.anomaly_kinds, key=str)),
            )
        )
    return tuple(rows)


def _agrees(scenario: Scenario, row: Row) -> bool:
    """Whether a one-process row's anomalies are all claimed by ``expect:``."""
    claimed = scenario.held_to(row.runtime)
    if row.processes != "one" or claimed is None:
        return True
    return set(row.anomalies) <= claimed


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    p.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help="seed of the timed runs' jitter and of any sampling (default 0)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--plot", metavar="OUT", default=None,
        help="also draw each row's timed run, one above the other on one time axis "
        "(.png, .svg or .pdf)",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="with --plot: overwrite OUT if it exists")
    add_limits(p)


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from refsim.cli.plot import check_figure_output, compare_figure

    if args.plot is not None:
        check_figure_output(args.plot, force=args.force, option="--plot")
    elif args.force:
        raise UsageError("--force goes with --plot OUT: it lets the figure replace OUT")
    scenario, _ = load(args.file, args)
    rows = compare(scenario, seed=args.seed)
    if args.json:
        write_json(out, compare_json(scenario, rows, args.seed))
    else:
        _print(scenario, rows, args.seed, out)
    if args.plot is not None:
        wrote = compare_figure(args.plot, scenario, seed=args.seed, force=args.force)
        (err if args.json else out).write(wrote + "\n")
    return EXIT_OK if all(_agrees(scenario, row) for row in rows) else EXIT_DISAGREES


def _times(ratio: float) -> str:
    """``2.00×``; a small ratio keeps two significant digits (``0.0012×``), not ``0.00×``."""
    if ratio >= 0.1:
        return f"{ratio:.2f}×"
    return f"{ratio:.2g}×" if ratio >= 0.001 else "<0.001×"


def compare_table(rows: tuple[Row, ...]) -> Table:
    """The comparison as a table: a row per way of running, its safety and its speed,
    grouped as the design space is (runtimes.GROUPS, then processes)."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    names = ("", "runs as", "anomalies possible", "makespan", "speedup", "CPU utilisation")
    for name in names:
        right = name in ("makespan", "speedup", "CPU utilisation")
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    group_of = {runtime: group for group, runtimes in GROUPS for runtime in runtimes}
    shown = ""
    for row in rows:
        found = ", ".join(k.value for k in row.anomalies) or "none"
        if not row.exhaustive:
            found += " (sampled)"
        group = group_of[row.runtime] if row.processes == "one" else "processes"
        table.add_row(
            Text(group if group != shown else "", style="dim"), row.label, found,
            format_ns(row.makespan_ns), _times(row.speedup), f"{row.utilisation:.0%}",
        )  # fmt: skip
        shown = group
    return table


def _print(scenario: Scenario, rows: tuple[Row, ...], seed: int, out: TextIO) -> None:
    con = console(out)
    cores = settings(scenario.timing).cores
    head = Text()
    head.append(scenario.name, style="bold")
    head.append(
        f"  ·  {len(scenario.threads)} thread{'s' if len(scenario.threads) != 1 else ''} "
        f"under each runtime  ·  timed, seed {seed}  ·  {cores} core{'s' if cores != 1 else ''}"
    )
    con.print(head)
    con.print()
    con.print(compare_table(rows))
    con.print()
    sequential = format_ns(next(r for r in rows if r.runtime is Runtime.GIL).sequential_ns)
    con.print(
        "speedup: over running the threads one after another under the same runtime "
        f"(under gil: {sequential}); CPU utilisation: of {cores} core{'s' if cores != 1 else ''}; "
        "anomalies possible: every interleaving explored"
        + (", or a seeded sample where marked" if not all(r.exhaustive for r in rows) else "")
        + "."
    )
    con.print()
    width = max(len(row.label) for row in rows if row.processes == "one")
    for row in rows:
        if row.processes == "one":
            kinds = frozenset(row.anomalies)
            con.print(Text(f"  {row.label:<{width}}  {why_runtime(scenario, row.runtime, kinds)}"))
    for row in rows:
        if row.went_wrong:
            con.print(
                f"The {row.label} run went wrong ({', '.join(map(str, row.went_wrong))}): "
                "its time is that of a broken run."
            )
    for row in rows:
        if not _agrees(scenario, row):
            claimed = ", ".join(sorted(k.value for k in scenario.held_to(row.runtime) or ()))
            claim = f"only {claimed}" if claimed else "no anomaly"
            found = ", ".join(k.value for k in row.anomalies)
            con.print(
                f"unexpected: the scenario claims {claim} under {row.runtime}, but {found} "
                "can happen."
            )


def compare_json(scenario: Scenario, rows: tuple[Row, ...], seed: int) -> dict[str, Any]:
    return {
        "scenario": scenario.name,
        "seed": seed,
        "cores": settings(scenario.timing).cores,
        "rows": [
            {
                "runs_as": row.label,
                "runtime": row.runtime.value,
                "processes": row.processes,
                "anomalies": [k.value for k in row.anomalies],
                "exhaustive": row.exhaustive,
                "makespan_ns": row.makespan_ns,
                "sequential_ns": row.sequential_ns,
                "speedup": round(row.speedup, 6),
                "utilisation": round(row.utilisation, 6),
                "agrees": _agrees(scenario, row),
                "went_wrong": [k.value for k in row.went_wrong],
            }
            for row in rows
        ],
    }


COMMAND = Command(
    "compare",
    "the same scenario under each runtime: safety and speed side by side",
    _arguments,
    _execute,
)

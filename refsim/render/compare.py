"""``refsim compare``'s table on a terminal: each way of running, its safety and its speed."""

from __future__ import annotations

from rich.console import Console, RenderableType
from rich.text import Text

from refsim.compare import Row, verdict
from refsim.costs import DEFAULT_COSTS, GIL_HANDOFF, PROCESS_START, settings
from refsim.model import AnomalyKind, MicroKind, Runtime, Scenario, format_ns
from refsim.narrate import why_runtime
from refsim.render.budget import unknown_line
from refsim.render.text import hanging, visible
from refsim.render.verdict import verdict_text
from refsim.report import fitted, plural
from refsim.runtimes import GROUPS

__all__ = [
    "UNKNOWN",
    "compare_cells",
    "compare_table",
    "print_comparison",
    "times",
    "unknown_line",
]


UNKNOWN = "unknown"
"""A cell a budget left unmeasured."""


def times(ratio: float) -> str:
    """``2.00×``; a small ratio keeps two significant digits (``0.0012×``), not ``0.00×``."""
    if ratio >= 0.1:
        return f"{ratio:.2f}×"
    return f"{ratio:.2g}×" if ratio >= 0.001 else "<0.001×"


def compare_table(rows: tuple[Row, ...], width: int) -> RenderableType:
    """The comparison as a table ``width`` columns wide at most: a row per way of
    running, its safety and its speed, grouped as the design space is (CPython with the
    GIL, without it, other Pythons: runtimes.GROUPS; then processes)."""
    headers, cells = compare_cells(rows)
    return fitted(headers, cells, headers[3:], width)


def compare_cells(rows: tuple[Row, ...]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """:func:`compare_table`'s columns and rows, as text."""
    headers = ("design", "runs as", "anomalies possible", "makespan", "speedup", "CPU use")
    group_of = {runtime: group for group, runtimes in GROUPS for runtime in runtimes}
    cells: list[tuple[str, ...]] = []
    shown = ""
    for row in rows:
        if row.anomalies is None:
            found = UNKNOWN
        else:
            found = ", ".join(k.value for k in row.anomalies) or "none"
            if not row.exhaustive:
                found += " (sampled)"
        group = group_of[row.runtime] if row.processes == "one" else "processes"
        makespan = UNKNOWN if row.makespan_ns is None else format_ns(row.makespan_ns)
        speedup = UNKNOWN if row.speedup is None else times(row.speedup)
        use = UNKNOWN if row.utilisation is None else f"{row.utilisation:.0%}"
        cells.append((group if group != shown else "", row.label, found, makespan, speedup, use))
        shown = group
    return headers, cells


def _kinds(row: Row) -> frozenset[AnomalyKind] | None:
    return None if row.anomalies is None else frozenset(row.anomalies)


def _untimed(scenario: Scenario) -> str:
    """What the times of a scenario without ``timing:`` stand for."""
    costs = DEFAULT_COSTS
    return (
        f"{visible(scenario.name)} has no timing: section, so these times use refsim's default "
        f"costs: {format_ns(costs[MicroKind.LOAD])} for a refcount LOAD, ADD or STORE, "
        f"{format_ns(costs[MicroKind.RMW])} for an atomic one, "
        f"{format_ns(costs[MicroKind.LOAD_GLOBAL])} for a bytecode. A few micro-steps take "
        f"nanoseconds, while a GIL hand-off takes {format_ns(GIL_HANDOFF)} and a process "
        f"start {format_ns(PROCESS_START)}: the speeds below say little about this program. "
        f"Give it a timing: section, or see `refsim compare cpu_bound`."
    )


def print_comparison(
    console: Console, scenario: Scenario, rows: tuple[Row, ...], seed: int
) -> None:
    """``refsim compare``: the header, the table, what the columns mean, and what disagrees
    with the scenario's claims."""
    cores = settings(scenario.timing).cores
    head = Text()
    head.append(scenario.name, style="bold")
    timed = "timed" if scenario.timing is not None else "untimed: default costs"
    head.append(
        f"  ·  {plural(len(scenario.threads), 'thread')} under each runtime  ·  {timed}, "
        f"seed {seed}  ·  {plural(cores, 'core')}"
    )
    console.print(head)
    if scenario.timing is None:
        console.print(Text(_untimed(scenario)))
    console.print()
    console.print(compare_table(rows, console.width))
    console.print()
    one_by_one = next(r for r in rows if r.runtime is Runtime.GIL).sequential_ns
    sequential = UNKNOWN if one_by_one is None else format_ns(one_by_one)
    sampled = ", or a seeded sample where marked" if not all(r.exhaustive for r in rows) else ""
    console.print(
        Text(
            f"speedup: over running the threads one after another under the same runtime "
            f"(under gil: {sequential}); CPU use: the share of {plural(cores, 'core')} busy; "
            f"anomalies possible: every interleaving explored{sampled}."
        )
    )
    console.print()
    console.print(Text("Why, runtime by runtime:"))
    whys = [
        (row.label, why_runtime(scenario, row.runtime, _kinds(row)))
        for row in rows
        if row.processes == "one"
    ]
    console.print(hanging(whys, indent=2))
    for row in rows:
        if row.went_wrong:
            console.print(
                Text(
                    f"The {row.label} run went wrong ({', '.join(map(str, row.went_wrong))}): "
                    "its time is that of a broken run."
                )
            )
    unknown = [row for row in rows if not row.known]
    if unknown:
        console.print(Text(unknown_line(unknown), style="yellow"))
    for row in rows:
        judged = verdict(scenario, row)
        if judged is not None and not judged.holds:
            console.print(verdict_text(judged))

"""``refsim run FILE --quantum A..B`` on a terminal: one line per quantum, then which
quanta show the race."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from refsim.claims import judge_run, merge
from refsim.model import Runtime, Scenario
from refsim.render.fit import Fit
from refsim.render.text import and_words, visible
from refsim.render.verdict import verdict_text
from refsim.trace import Outcome, RunResult

__all__ = ["print_sweep", "spans"]


def spans(quanta: Sequence[int]) -> str:
    """``1-3, 5 and 7-9``: consecutive quanta written as ranges."""
    parts: list[str] = []
    start = prev = None
    for q in [*quanta, None]:
        if start is not None and (q is None or prev is None or q != prev + 1):
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if q is not None and start is None:
            start = q
        prev = q
    return and_words(parts) if parts else "none"


def print_sweep(
    console: Console,
    scenario: Scenario,
    runs: Sequence[tuple[int, RunResult]],
    *,
    runtime: Runtime,
    seed: int | None,
    file: str,
) -> None:
    """The sweep's table (quantum, schedule, outcome), which quanta go wrong, and the
    verdict of the runs together against the scenario's claims."""
    head = Text()
    head.append(scenario.name, style="bold")
    first, last = runs[0][0], runs[-1][0]
    how = "" if seed is None else f", each turn 1..quantum at random (seed {seed})"
    head.append(f"  runtime {runtime}  ·  round-robin, quantum {first} to {last}{how}")
    console.print(head)
    console.print()
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("quantum", justify="right", no_wrap=True)
    table.add_column("schedule")
    table.add_column("outcome")
    for quantum, result in runs:
        outcome: Outcome = result.outcome
        if not result.finished:
            table.add_row(str(quantum), str(result.schedule), "stopped by --max-steps")
        else:
            table.add_row(str(quantum), str(result.schedule), str(outcome))
    console.print(Fit(table))
    console.print()
    wrong = [q for q, result in runs if result.anomalies]
    if not wrong:
        console.print(Text(f"No quantum from {first} to {last} goes wrong."))
    else:
        right = [q for q, result in runs if not result.anomalies]
        line = f"Something goes wrong at quantum {spans(wrong)}"
        line += f"; nothing at {spans(right)}." if right else " (every quantum tried)."
        console.print(Text(line))
    verdict = merge([judge_run(scenario, result) for _, result in runs])
    console.print(verdict_text(verdict, retry="no quantum in this range shows it"))
    console.print(
        Text(
            f"(one run per quantum: `refsim run {visible(shlex.quote(file))} --quantum N` shows "
            f"the run of "
            f"quantum N step by step)"
        )
    )

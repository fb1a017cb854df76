"""What a command says about its budget: the work done so far, the line Ctrl-C prints,
and the message when a budget runs out (which budget, what was found so far, what the
whole job would need, and the option that helps). Text only; :mod:`refsim.cli.budget`
parses the options and shows the progress line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from refsim.budget import Budget, BudgetExceeded, Limit, Meter, bytes_text, seconds_text
from refsim.errors import visible
from refsim.model import count_text, format_ns

if TYPE_CHECKING:  # only named in annotations: every command imports this module
    from refsim.compare import Row
    from refsim.explore import ExplorationStopped
    from refsim.loader import ReadingStopped
    from refsim.timed import TimedRunStopped
    from refsim.trace import RunResult

__all__ = [
    "done_text",
    "exploration_helps",
    "exploration_stopped_lines",
    "found_lines",
    "interrupted_line",
    "out_of_memory_lines",
    "raise_hint",
    "reading_stopped_lines",
    "spent_line",
    "stopped_lines",
    "stopped_option",
    "timed_stopped_lines",
    "unknown_line",
    "whole_line",
]


def done_text(done: Sequence[tuple[str, int]]) -> str:
    """The work a tally counts, for people: ``340,000 states explored, 1,000 runs sampled``."""
    return ", ".join(f"{count:,} {unit}" for unit, count in done if count)


def interrupted_line(meter: Meter | None) -> str:
    """What Ctrl-C prints: ``interrupted after 12 s: 340,000 states explored``."""
    if meter is None:
        return "interrupted"
    done = done_text(meter.done())
    return f"interrupted after {seconds_text(meter.elapsed)}" + (f": {done}" if done else "")


def spent_line(error: BudgetExceeded) -> str:
    """``the time budget (--max-seconds) of 30 s ran out after 30 s``, with the memory
    measured when it is the memory budget."""
    line = f"{error.limit} of {error.allowed} ran out after {seconds_text(error.seconds)}"
    if error.limit is Limit.MEMORY and error.memory is not None:
        line += f" (refsim held {error.memory / 1e6:,.0f} MB)"
    return line


def out_of_memory_lines(meter: Meter | None) -> list[str]:
    """What a MemoryError (the machine had no more memory to give) prints, naming the
    budget to lower so that it stops the work first next time."""
    budget = Budget() if meter is None else meter.budget
    after = "" if meter is None else f" after {seconds_text(meter.elapsed)}"
    done = "" if meter is None else done_text(meter.done())
    lines = [
        f"error: out of memory{after}: this machine could not give refsim more memory"
        + (f" ({done} so far)" if done else "")
    ]
    if budget.memory is None:
        lines.append(
            "    Give a memory budget it can hold, e.g. --max-memory 1GB: the work then stops "
            "in time and says what it found."
        )
    else:
        lines.append(
            f"    Lower the memory budget below what this machine has free (--max-memory, now "
            f"{bytes_text(budget.memory)}): the work then stops in time and says what it found."
        )
    return lines


def stopped_option(result: RunResult) -> str:
    """The option of the budget that stopped an unfinished run."""
    assert result.stopped is not None
    return Limit(result.stopped).option


def raise_hint(limit: Limit) -> str:
    """The option that gives a budget more room, with an example."""
    if limit is Limit.TIME:
        return "raise --max-seconds (e.g. --max-seconds 300, or none for no limit)"
    if limit is Limit.MEMORY:
        return "raise --max-memory if this machine has more to spare (e.g. --max-memory 4GB)"
    return f"raise {limit.option}"


def stopped_lines(
    error: BudgetExceeded,
    subject: str,
    *,
    doing: str = "",
    found: Sequence[str] = (),
    whole: str | None = None,
    helps: str | None = None,
) -> list[str]:
    """What a command says when a budget runs out: which, and after how long, while
    ``doing`` what; the work done and what was ``found`` so far; what the ``whole`` job
    would need; and what ``helps`` (by default: raise that budget)."""
    while_ = f" while {doing}" if doing else ""
    lines = [f"error: {subject}: {spent_line(error)}{while_}."]
    done = done_text(error.done)
    if done:
        lines.append(f"    So far: {done}.")
    lines += [f"    {line}" for line in found]
    if whole is not None:
        lines.append(f"    {whole}")
    advice = helps or raise_hint(error.limit)
    lines.append(f"    To go further: {advice}.")
    return lines


def exploration_helps(sampling: bool) -> str:
    """What else helps an exact count that will not fit in its budget (after raising it):
    a bound on the preemptions, a sample, a smaller program; for a sample, fewer runs."""
    if sampling:
        return "or sample fewer runs (--sample)"
    return (
        "bound the preemptions with --preemption-bound K, pass --sample N for a table "
        "sampled from N random runs (not exact), or explore fewer threads or ops (each one "
        "more multiplies the states)"
    )


def found_lines(error: ExplorationStopped) -> list[str]:
    """What an exploration had found when its budget ran out, marked as a lower bound."""
    kinds = sorted(k.value for k in error.kinds)
    if kinds:
        lines = [
            f"Anomalies seen so far: {', '.join(kinds)} (each is reachable; more may be: a "
            f"lower bound)."
        ]
    else:
        lines = ["No anomaly seen so far (which does not show that none is reachable)."]
    if error.counting and error.finals:
        lines.append(f"Final states seen so far: {error.finals:,} (more may be reachable).")
    return lines


def whole_line(error: ExplorationStopped) -> str | None:
    """What the whole count is: the interleavings to count (an estimate) and the distinct
    states it needs at least, with the time and memory those take at the rate so far."""
    if not error.counting:
        return None
    parts = []
    if error.interleavings is not None:
        parts.append(
            f"about {count_text(error.interleavings, 12)} interleavings to count (estimated from "
            f"random runs)"
        )
    if error.at_least:
        states = f"at least {error.at_least:,} distinct states (one per combination of the "
        states += "threads' places)"
        costs = []
        if error.seconds_per_state is not None:
            costs.append(seconds_text(error.at_least * error.seconds_per_state))
        if error.bytes_per_state is not None:
            costs.append(bytes_text(error.at_least * error.bytes_per_state))
        if costs:
            states += f": {' and '.join(costs)} at the rate so far"
        parts.append(states)
    else:
        parts.append(f"more than the {error.states:,} distinct states it had reached")
    return "The whole count: " + ", through ".join(parts) + "."


def _state_size(error: ExplorationStopped) -> str:
    """What a state costs in memory: as measured in this count, when it was."""
    if error.bytes_per_state is not None:
        return f"each state has taken about {bytes_text(error.bytes_per_state)} so far"
    return "a state takes a few hundred bytes"


def exploration_stopped_lines(error: ExplorationStopped, subject: str, *, helps: str) -> list[str]:
    """``stopped_lines`` for an exploration: found so far, the whole, and what ``helps``
    besides raising the budget that ran out."""
    doing = (
        f"counting the interleavings under {error.runtime}"
        if error.counting
        else f"searching the reachable states under {error.runtime}"
    )
    advice = f"{raise_hint(error.limit)}, {helps}"
    if error.limit is Limit.STATES:
        advice = f"raise --max-states ({_state_size(error)}), {helps}"
    return stopped_lines(
        error, subject, doing=doing, found=found_lines(error), whole=whole_line(error),
        helps=advice,
    )  # fmt: skip


def timed_stopped_lines(error: TimedRunStopped, subject: str, *, total: int) -> list[str]:
    """A timed run that ran out of budget: how far it got in simulated time and in
    micro-steps, of the ``total`` the whole run has."""
    found = [
        f"The run had reached {format_ns(error.simulated_ns)} of simulated time, "
        f"{error.steps:,} of its {total:,} micro-steps."
    ]
    return stopped_lines(error, subject, doing="simulating the run in time", found=found)


def reading_stopped_lines(error: ReadingStopped) -> list[str]:
    """A scenario file too slow (or too big) to read within the budget: how far it got,
    and how long the whole would take at that rate."""
    found = [f"It had read {error.line:,} of the file's {error.lines:,} lines."]
    whole = None
    if error.limit is Limit.TIME and error.line > 1:
        parsing = (error.seconds - error.started) * error.lines / error.line
        whole = (
            f"Reading it all would take about {seconds_text(error.started + parsing)} at this rate."
        )
    return stopped_lines(
        error, visible(error.filename), doing="reading the file", found=found, whole=whole
    )


def unknown_line(rows: Sequence[Row]) -> str:
    """Why some cells of ``refsim compare``'s table say unknown: the budgets that ran out,
    with their options."""
    budgets = sorted({Limit(row.stopped) for row in rows if row.stopped}, key=lambda b: b.value)
    which = " and ".join(str(b) for b in budgets) or "a budget"
    options = " or ".join(b.option for b in budgets) or "the budgets"
    labels = ", ".join(row.label for row in rows)
    return (
        f"unknown: {which} ran out before every cell could be measured ({labels}); raise "
        f"{options} to measure them."
    )

"""``refsim FILE``: a :class:`~refsim.story.Story` told on a terminal.

A race: (1) the scenario, (2) how often each outcome happens, (3) the shortest way it
goes wrong, (4) what the GIL changes, (5) what to try next. A time story: (1) the
scenario, (2) where the time goes, then the shortest way it goes wrong if something can,
the runtimes side by side with the lesson, and what to try next. ``brief`` keeps the
outcomes and the runtimes only.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from refsim.model import Runtime, format_ns
from refsim.render.compare import compare_table
from refsim.render.fit import Fit
from refsim.render.text import (
    and_words,
    commands,
    count_cell,
    hanging,
    heading,
    percent,
    plural,
    print_paragraphs,
)
from refsim.report import (
    fitted,
    legend,
    print_trace,
    timed_summary,
    trace_columns,
)
from refsim.story import Shape, Story
from refsim.trace import Exploration

__all__ = [
    "COMPARE_LEGEND",
    "TIME_LEGEND",
    "failing_words",
    "headline",
    "outcome_table",
    "print_story",
    "runtime_cells",
    "time_words",
    "unknown_time",
]

_Body = Callable[[Console, Story], None]


def print_story(console: Console, story: Story, *, brief: bool = False) -> None:
    """The whole story of ``story``, or with ``brief`` its outcomes and runtimes only."""
    sections = _sections(story, brief)
    for number, (title, body) in enumerate(sections, 1):
        if brief and number == 1:
            console.print(Text(story.scenario.name, style="bold"))
        heading(console, f"{number}. {title}", first=number == 1 and not brief)
        body(console, story)


def _sections(story: Story, brief: bool) -> list[tuple[str, _Body]]:
    race = story.shape is Shape.RACE
    outcomes = (f"How often each outcome happens (runtime {story.runtime})", _outcomes)
    gil = ("What the GIL changes", _gil)
    time = (f"Where the time goes (runtime {story.runtime}, simulated time)", _time)
    side = ("The runtimes side by side", _side_by_side)
    if brief:
        return [outcomes, gil] if race else [side]
    sections: list[tuple[str, _Body]] = [
        (f"The scenario: {story.scenario.name}", _scenario),
        outcomes if race else time,
    ]
    if race or story.failing is not None:
        sections.append(("The shortest way it goes wrong", _failing))
    sections.append(gil if race else side)
    sections.append(("Go further", _next))
    return sections


def _scenario(c: Console, story: Story) -> None:
    if story.scenario.description:
        print_paragraphs(c, story.scenario.description)
        c.print()
    c.print(hanging(story.facts))


# -- how often each outcome happens ---------------------------------------------------------


_BUDGET_WORDS = {
    "states": "too many states to search (--max-states)",
    "time": "the time budget ran out first (--max-seconds)",
    "memory": "the memory budget ran out first (--max-memory)",
}
"""Why a runtime's anomalies are unknown: the budget that stopped the search."""


def _found_words(kinds: frozenset[object] | None, stopped: str | None = None) -> str:
    if kinds is None:
        return _BUDGET_WORDS[stopped or "states"]
    if kinds:
        return f"these anomalies can happen: {and_words(sorted(str(k) for k in kinds))}"
    return "no interleaving reaches any anomaly"


def headline(story: Story) -> str:
    """What the outcome table counts: exact, sampled, by process, or why there is none."""
    table = story.table
    row = story.row(story.runtime)
    kinds = row.reachable
    if len(story.processes) > 1:
        names = ", ".join(story.processes)
        return (
            f"its threads run in {len(story.processes)} processes ({names}), which share no "
            f"memory, so each is explored on its own (`refsim explore FILE --process NAME` "
            f"counts one): {_found_words(kinds, row.stopped)}"
        )
    if table is None:
        why = "too many interleavings to count, and too long to sample"
        if kinds is None:
            return f"unavailable: {why}; {_found_words(kinds, row.stopped)}"
        return (
            f"{why}; but every reachable state was searched (a compute or I/O step touches "
            f"nothing shared, so its place in the interleaving cannot change the outcome): "
            f"{_found_words(kinds)}"
        )
    if not table.exhaustive:
        return (
            f"sampled, not exact: {table.interleavings:,} runs of the fair random scheduler "
            f"({_sampled_why(table)})"
        )
    return f"exact: every one of {plural(table.interleavings, 'interleaving')} counted"


def _sampled_why(table: Exploration) -> str:
    """Why a table is sampled: the budget that stopped the exact count, and whether the
    sample itself was cut short."""
    why = {
        "time": "the time budget, --max-seconds, ran out before every interleaving was counted",
        "memory": "the memory budget, --max-memory, ran out before every interleaving was counted",
    }.get(table.budget or "", "too many states to count every interleaving")
    if table.requested is not None and table.interleavings < table.requested:
        why += f"; the budget ran out after {table.interleavings:,} of {table.requested:,} runs"
    return why


def outcome_table(table: Exploration) -> RenderableType:
    """Each outcome, its count and its share."""
    grid = Table(box=None, header_style="bold", pad_edge=False)
    grid.add_column("outcome")
    grid.add_column("interleavings" if table.exhaustive else "runs", justify="right")
    grid.add_column("share", justify="right")
    for s in table.outcomes:
        grid.add_row(str(s.outcome), count_cell(s.count), percent(s.share))
    return Fit(grid)


def _outcomes(c: Console, story: Story) -> None:
    c.print(Text(headline(story)))
    if story.table is not None:
        c.print(outcome_table(story.table))


# -- the shortest way it goes wrong ---------------------------------------------------------


def failing_words(story: Story) -> str:
    """The interleaving that goes wrong, in one sentence (or why there is none)."""
    failing = story.failing
    if failing is None:
        row = story.row(story.runtime)
        kinds = row.reachable
        if kinds is None:
            why = _found_words(None, row.stopped)
            return f"Not known: no run that goes wrong was found ({why})."
        if kinds:
            return (
                f"{and_words(sorted(k.value for k in kinds))} can happen, but there are too "
                f"many interleavings to pick the shortest: `refsim search` finds and "
                f"shrinks one."
            )
        return f"No interleaving goes wrong under {story.runtime}."
    result, part = failing.run, failing.part
    names = [k.value for k in result.outcome.anomalies]
    where = "" if part.part_of is None else f" (in process {part.part_of})"
    how = {
        "count": "The fewest preemptions that end in",
        "sample": "Of the sampled runs, the one with the fewest preemptions that ends in",
        "search": "A run found by search (`refsim search`) that ends in",
    }[failing.found_by]
    fewest = ""
    if failing.found_by == "search":
        fewest = " (the fewest possible)" if failing.minimal else " (maybe not the fewest)"
    return (
        f"{how} {and_words(names)}{where}: schedule {result.schedule}, "
        f"{plural(result.steps, 'step')}, {plural(result.preemptions, 'preemption')}"
        f"{fewest} (a preemption: the scheduler switches away from a thread that could "
        f"have gone on)."
    )


def _failing(c: Console, story: Story) -> None:
    failing = story.failing
    c.print(Text(failing_words(story)))
    if failing is None:
        return
    result, part = failing.run, failing.part
    c.print()
    print_trace(c, part, result)
    words = legend(trace_columns(part, result))
    if words is not None:
        c.print(Text(words))
    c.print()
    c.print(Text("Step by step:", style="bold"))
    steps = [("end" if s.step is None else f"step {s.step}", s.text) for s in failing.sentences]
    c.print(hanging(steps, indent=2))
    c.print()
    c.print(Text("In a real CPython process:", style="bold"))
    c.print(hanging([("-", f"{line}.") for line in failing.meanings], indent=2, gap=1))


# -- what the GIL changes -------------------------------------------------------------------


def _runtime_table(story: Story, width: int) -> RenderableType:
    """Every runtime, grouped as the design space is, and whether it can go wrong."""
    headers, cells = runtime_cells(story)
    return fitted(headers, cells, headers[3:], width)


def runtime_cells(story: Story) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """:func:`_runtime_table`'s columns and rows, as text."""
    headers = ("design", "runtime", "can it go wrong?", "interleavings")
    cells: list[tuple[str, ...]] = []
    shown = ""
    for row in story.runtimes:
        group = row.group if row.group != shown else ""
        shown = row.group
        kinds = row.reachable
        if kinds is None:
            cells.append(
                (group, row.runtime.value, f"unknown ({_found_words(None, row.stopped)})", "")
            )
            continue
        answer = "yes: " + ", ".join(sorted(k.value for k in kinds)) if kinds else "no"
        table = row.table
        if table is not None and not table.exhaustive:
            answer += " (sampled: maybe more)"
        if len(story.processes) > 1:
            count = "by process"
        elif table is None:
            count = "too many to count"
        else:
            count = count_cell(table.interleavings) if table.exhaustive else "sampled"
        cells.append((group, row.runtime.value, answer, count))
    return headers, cells


def _gil(c: Console, story: Story) -> None:
    c.print(_runtime_table(story, c.width))
    c.print()
    c.print(Text("Why, runtime by runtime:"))
    c.print(hanging([(row.runtime.value, row.why) for row in story.runtimes], indent=2))
    c.print()
    c.print(Text(story.lesson))


# -- time -----------------------------------------------------------------------------------


def _time(c: Console, story: Story) -> None:
    time = story.time
    assert time is not None
    result = time.run(story.runtime)
    if result is None:
        c.print(Text(unknown_time(story)))
        return
    before, gil, after = time_words(story)
    c.print(Text(before))
    c.print()
    c.print(timed_summary(result, c.width))
    if gil is not None:
        c.print(Text(gil))
    c.print(Text(after))


def unknown_time(story: Story) -> str:
    """What the time section says when its run did not finish within the budget."""
    return (
        f"Unknown: the run under {story.runtime} did not finish within the budget "
        f"(raise --max-seconds, or --max-memory, to see where its time goes)."
    )


TIME_LEGEND = (
    "(running: on a core; GIL wait: ready but another thread holds the GIL; I/O wait: "
    "in a blocking call, the GIL released)"
)


def time_words(story: Story) -> tuple[str, str | None, str]:
    """What is said around the table of where the time goes: before it, the GIL's line
    under it (under gil only), and what its columns mean."""
    time = story.time
    assert time is not None
    result = time.run(story.runtime)
    assert result is not None, "unknown_time says what a run that did not finish leaves"
    metrics = result.metrics
    assert metrics is not None
    before = (
        f"One run in simulated time (seed 0, {plural(metrics.cores, 'core')}) takes "
        f"{format_ns(metrics.makespan_ns)}, with the cores busy {metrics.utilisation:.0%} "
        f"of it; each thread's time went to:"
    )
    gil = None
    if result.runtime is Runtime.GIL:
        switches = "switch" if metrics.switches == 1 else "switches"
        gil = (
            f"GIL: {metrics.switches:,} {switches} between threads, "
            f"{plural(metrics.drop_requests, 'drop request')} (switch interval "
            f"{format_ns(time.switch_interval)})"
        )
    return before, gil, TIME_LEGEND


COMPARE_LEGEND = (
    "(speedup: over running the threads one after another; anomalies possible: found "
    "by exploring every interleaving; `refsim compare` has the details)"
)


def _side_by_side(c: Console, story: Story) -> None:
    time = story.time
    assert time is not None
    c.print(compare_table(time.rows, c.width))
    c.print(Text(COMPARE_LEGEND))
    c.print()
    c.print(Text(story.lesson))
    c.print()
    c.print(Text("The lesson: ", style="bold") + Text(time.lesson))


def _next(c: Console, story: Story) -> None:
    for line in commands(story.next, c.width):
        c.print(line)

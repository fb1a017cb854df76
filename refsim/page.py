"""A page's content, as a value: the story, each process's state graph and the figure.

:func:`gather` collects everything ``refsim html`` puts in a page;
:mod:`refsim.render.html` writes it out and computes nothing. A page tells the same
:class:`~refsim.story.Story` as the terminal, and adds what a page can do that a
terminal cannot: a run to step through forwards and back, and the scheduler game, both
walking the reachable state graph (:mod:`refsim.graph`) that refsim computed, so that
the page never needs refsim's semantics in JavaScript.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from refsim.explore import ExplorationStopped, explore
from refsim.graph import MAX_STATES, Graph, along, build
from refsim.model import Scenario, Schedule
from refsim.story import Story, figure_run
from refsim.trace import Exploration, RunResult

__all__ = ["Figure", "Page", "Part", "gather"]


@dataclass(frozen=True, slots=True)
class Part:
    """What a page can play: one process of the scenario (the whole scenario when it has
    one), its state graph, and its outcome table."""

    scenario: Scenario
    """The process (``scenario.part_of`` names it), or the scenario itself."""
    graph: Graph
    """Every reachable state (:func:`refsim.graph.build`) or, past the budget, only the
    states on :attr:`witnesses` (:func:`refsim.graph.along`)."""
    table: Exploration | None
    """Every interleaving from the start: how common the learner's outcome is, and the
    fewest preemptions that reach it. ``None`` when it could not be counted."""
    witnesses: tuple[tuple[str, Schedule], ...]
    """Runs worth stepping through, as (what it shows, schedule): the failing run first,
    then each outcome's witness."""


@dataclass(frozen=True, slots=True)
class Figure:
    """The page's picture: an SVG drawn by :mod:`refsim.plot`, or why there is none."""

    svg: str | None
    """The SVG document, or ``None`` (see ``missing``)."""
    caption: str
    """What it shows; without an SVG, why there is none and how to get one."""


@dataclass(frozen=True, slots=True)
class Page:
    story: Story
    parts: tuple[Part, ...]
    figure: Figure
    max_states: int
    """The state budget of each part's graph."""


def gather(story: Story, *, max_states: int = MAX_STATES, figure: bool = True) -> Page:
    """Everything a page of ``story`` shows: each process's state graph (within
    ``max_states`` states, else its witnesses only) and, with ``figure`` and matplotlib,
    the failing run (or the timed run, or one run) drawn as SVG."""
    processes = story.scenario.per_process()
    parts = tuple(_part(story, i, part, max_states) for i, part in enumerate(processes))
    drawn = _figure(story, parts) if figure else Figure(None, "")
    return Page(story, parts, drawn, max_states)


def _part(story: Story, index: int, scenario: Scenario, max_states: int) -> Part:
    runtime = story.runtime
    failing = story.failing
    witnesses: list[tuple[str, Schedule]] = []
    if failing is not None and failing.part.part_of == scenario.part_of:
        witnesses.append((f"the failing run: {failing.run.outcome}", failing.run.schedule))
    table = story.table if len(story.processes) == 1 else None
    # The graph has at least the explorer's states (it keeps what the explorer merges):
    # when the explorer needed more than the budget, or gave up, do not try.
    over = len(story.processes) == 1 and (
        table is None or not table.exhaustive or table.states > max_states
    )
    try:
        graph = None if over else build(scenario, runtime, max_states=max_states)
    except ExplorationStopped:
        graph = None
    if graph is not None and (table is None or not table.exhaustive):
        # Within the budget the exact count is cheap: the explorer needs fewer states. The
        # story has it already when it counted this process to the end.
        counted = story.counted[index] if index < len(story.counted) else None
        if counted is None or not counted.exhaustive:
            counted = explore(scenario, runtime=runtime)
        table = counted
    if table is not None:
        for stats in table.outcomes:
            if all(stats.witness != schedule for _, schedule in witnesses):
                witnesses.append((str(stats.outcome), stats.witness))
    if graph is None:
        graph = along(scenario, runtime, [schedule for _, schedule in witnesses])
        kept = set(graph.schedules)
        witnesses = [(label, schedule) for label, schedule in witnesses if schedule in kept]
    return Part(scenario, graph, table, tuple(witnesses))


def _figure(story: Story, parts: tuple[Part, ...]) -> Figure:
    from refsim.plot import INSTALL_HINT, draw_run, draw_timed, matplotlib_available, save_figure

    if not matplotlib_available():
        return Figure(
            None,
            f"The figure of the run needs matplotlib, which is not installed here: "
            f"{INSTALL_HINT}, then write the page again. Everything else works without it.",
        )
    found = figure_run(story)
    if found is not None and found[0].metrics is None:
        result, process = found
        fig = draw_run(result, scenario=process)
        caption = (
            f"The failing run, schedule {result.schedule}: a lane per thread, a box per "
            f"micro-step, and below, each object's refcount beside its true refs."
        )
    elif found is not None:
        result, scenario = found
        processes = [name for name, _ in scenario.process_groups()]
        fig = draw_timed(result, threads=scenario.thread_names, processes=processes)
        caption = (
            f"One run of {scenario.name} under {story.runtime} in simulated time (seed 0): a "
            f"lane per thread, coloured by what it is doing."
        )
    else:
        common = _common_run(parts)
        if common is None:
            return Figure(None, "There is no run to draw.")
        part, result = common
        fig = draw_run(result, scenario=part.scenario)
        caption = (
            f"No interleaving goes wrong; this is one run, schedule {result.schedule} (the "
            f"most common outcome's, with the fewest preemptions)."
        )
    buffer = io.BytesIO()
    save_figure(fig, buffer, ".svg")
    return Figure(buffer.getvalue().decode("utf-8"), caption)


def _common_run(parts: tuple[Part, ...]) -> tuple[Part, RunResult] | None:
    """The first part's most common outcome's witness, run."""
    from refsim.engine import run

    for part in parts:
        if part.table is not None and part.table.outcomes:
            witness = part.table.outcomes[0].witness
            return part, run(part.scenario, runtime=part.graph.runtime, schedule=witness)
    return None

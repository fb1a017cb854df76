"""Figures of runs and explorations: ``refsim plot`` (adapters layer; reads only run
results and explorations, never runs anything).

A run's figure has one lane per thread with a box per micro-step (``LOAD 2``,
``SUB → 1``, ``STORE 1``), a thick left edge where a bytecode starts, the race window of
each LOAD ... STORE shaded behind its boxes, preemptions marked, a lane for the GIL (under
``gil``) and one per user lock showing who holds it; below, one panel per object with the
refcount word and the true refs as step lines, the span where it is freed shaded, and
every anomaly marked at its step. The outcomes figure sets each outcome's share of the
interleavings beside its probability under the fair random scheduler. docs/plots.md
explains how to read both.

The timed figure (``--timed``, :mod:`~refsim.plot.timed_figure`) draws a run in simulated
time instead: one lane per thread coloured by its state (running, waiting for the GIL, on
I/O, for a core, for a lock), a lane per process's GIL coloured by its holder, and each
drop request marked.

The package is split by concept: :mod:`~refsim.plot.picture` says what to draw (plain
values, standard library only; the Chrome trace export uses it too),
:mod:`~refsim.plot.run_figure` and :mod:`~refsim.plot.outcomes` draw, and
:mod:`~refsim.plot.style` holds the look and the saving. matplotlib is an optional extra
(``pip install 'refsim[plot]'``): only these modules import it, inside their functions,
and only through ``Figure`` and the Agg canvas (no pyplot, no global state: settings are
scoped with ``rc_context``). The same run gives the same bytes (a fixed SVG hash salt,
no dates or versions in the files' metadata).

Drawing functions return a small frozen summary of what they drew, read back from the
figure's artists by their ``gid``, so tests check a figure's content, not just that a
file appeared.
"""

from typing import TYPE_CHECKING, Any

from refsim.lazy import exported

if TYPE_CHECKING:
    from refsim.plot.outcomes import (
        OutcomesFigure,
        draw_outcomes,
        plot_outcomes,
        summarize_outcomes,
    )
    from refsim.plot.picture import (
        Blocked,
        Holding,
        Mark,
        RunPicture,
        Series,
        Step,
        Window,
        describe_run,
        natural_order,
        short_label,
        step_label,
    )
    from refsim.plot.run_figure import RunFigure, draw_run, plot_run, summarize_run
    from refsim.plot.style import FORMATS, INSTALL_HINT, matplotlib_available, save_figure
    from refsim.plot.timed_figure import (
        Panel,
        TimedFigure,
        Variant,
        draw_comparison,
        draw_timed,
        plot_timed,
        summarize_timed,
    )
    from refsim.plot.timeline import Band, Interval, Timeline, describe_timed

_HOMES = {
    **dict.fromkeys(
        ("OutcomesFigure", "draw_outcomes", "plot_outcomes", "summarize_outcomes"), "outcomes"
    ),
    **dict.fromkeys(
        (
            "Blocked",
            "Holding",
            "Mark",
            "RunPicture",
            "Series",
            "Step",
            "Window",
            "describe_run",
            "natural_order",
            "short_label",
            "step_label",
        ),
        "picture",
    ),
    **dict.fromkeys(("RunFigure", "draw_run", "plot_run", "summarize_run"), "run_figure"),
    **dict.fromkeys(("FORMATS", "INSTALL_HINT", "matplotlib_available", "save_figure"), "style"),
    **dict.fromkeys(
        (
            "Panel",
            "TimedFigure",
            "Variant",
            "draw_comparison",
            "draw_timed",
            "plot_timed",
            "summarize_timed",
        ),
        "timed_figure",
    ),
    **dict.fromkeys(("Band", "Interval", "Timeline", "describe_timed"), "timeline"),
}
"""Where each public name lives. A name is imported on first use (PEP 562): a command
that draws nothing does not pay for the drawing modules when it starts."""


def __getattr__(name: str) -> Any:
    return exported(__name__, _HOMES, name)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "FORMATS",
    "INSTALL_HINT",
    "Band",
    "Blocked",
    "Holding",
    "Interval",
    "Mark",
    "OutcomesFigure",
    "Panel",
    "RunFigure",
    "RunPicture",
    "Series",
    "Step",
    "TimedFigure",
    "Timeline",
    "Variant",
    "Window",
    "describe_run",
    "describe_timed",
    "draw_comparison",
    "draw_outcomes",
    "draw_run",
    "draw_timed",
    "matplotlib_available",
    "natural_order",
    "plot_outcomes",
    "plot_run",
    "plot_timed",
    "save_figure",
    "short_label",
    "step_label",
    "summarize_outcomes",
    "summarize_run",
    "summarize_timed",
]

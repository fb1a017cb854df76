"""The figure of one timed run, in the manner of Beazley's GIL thread-state plots: time
across, one lane per thread coloured by what it was doing (running, waiting for the GIL,
waiting on I/O, ready for a core, waiting for a lock), one lane per process's GIL coloured
by its holder, and a small mark over the GIL lane at each drop request (docs/plots.md,
"Timed runs"). :func:`summarize_timed` reads back what a figure shows, for tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refsim.plot.style import (
    CHAR,
    FONT,
    FORMATS,
    GREEN,
    PURPLE,
    SKY,
    VERMILLION,
    YELLOW,
    new_figure,
    save_figure,
    style,
)
from refsim.trace import RunResult, TimedMetrics

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["STATES", "TimedFigure", "draw_timed", "plot_timed", "summarize_timed"]

STATES: tuple[tuple[str, str, str], ...] = (
    ("running", "running", GREEN),
    ("gil_wait", "waiting for the GIL", VERMILLION),
    ("io_wait", "waiting on I/O", SKY),
    ("ready", "ready (no free core)", YELLOW),
    ("lock_wait", "waiting for a lock", PURPLE),
)
"""Each thread state: its name in the metrics, its legend label and its (Okabe & Ito)
colour."""

GIL_HOLDERS = ("#332288", "#AAAAAA", "#882255", "#999933", "#555555", "#CC6677", "#44AA99")
"""Who holds a GIL: from Paul Tol's "muted" scheme and greys, none of them a state's
colour (the light holder palette of the step figure has a sky blue and a yellow)."""
_DARK = frozenset({"#332288", "#882255", "#555555"})
DROP = "#222222"
"""Drop-request markers: near black, apart from every fill."""

_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs"), (1, "ns"))

MIN_PX = 1.2
"""The narrowest a span is drawn, in pixels: a 100 µs run in a 1 s figure stays visible."""


@dataclass(frozen=True, slots=True)
class _Bars:
    """Turns spans in ns into ``broken_barh`` ranges in the axis's unit."""

    unit_ns: int
    narrowest: float
    dpi: float

    def __call__(self, start: int, end: int) -> tuple[float, float]:
        return start / self.unit_ns, max((end - start) / self.unit_ns, self.narrowest)

    def is_short(self, start: int, end: int) -> bool:
        return (end - start) / self.unit_ns < self.narrowest

    def draw(self, ax: Axes, spans: list[tuple[int, int]], lane: float, colour: str,
             gid: str, *, widen: bool = True) -> None:  # fmt: skip
        """Draw ``spans`` (ns) in the lane at ``lane``; with ``widen`` the ones too short
        to see are widened and drawn on top, so that a long neighbour never hides them."""
        for short in (False, True):
            xs = [
                self(a, b) if widen else (a / self.unit_ns, (b - a) / self.unit_ns)
                for a, b in spans
                if self.is_short(a, b) == short
            ]
            if xs:
                # Unsnapped: snapping a span under two pixels wide to the pixel grid
                # rounds most of them to nothing, so a lane showed 13 of 199 waits.
                ax.broken_barh(xs, (lane - 0.36, 0.72), facecolors=colour, linewidth=0,
                               gid=gid, zorder=3 if short else 2, snap=False)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TimedFigure:
    """What a timed run's figure contains, counted from its artists."""

    lanes: tuple[str, ...]
    """The lanes' names, top to bottom: threads, then ``GIL`` (``GIL P0`` ... per process)."""
    spans: tuple[tuple[str, int], ...]
    """Per state (in :data:`STATES` order, only those drawn): how many spans."""
    holdings: int
    """Spans in the GIL lanes."""
    holder_labels: int
    """Holders' names written on the GIL lanes (only when colours cannot say who)."""
    drop_requests: int
    """Drop-request markers."""
    unit: str
    """The time axis's unit (``ms``, ``s`` ...)."""


def plot_timed(
    result: RunResult, path: str | Path, *, threads: Sequence[str] | None = None,
    processes: Sequence[str] | None = None, dpi: float = 100,
) -> TimedFigure:  # fmt: skip
    """Draw the timed ``result`` and write it to ``path`` (PNG, SVG or PDF by suffix)."""
    if Path(path).suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: a figure must end in {', '.join(FORMATS)}")
    fig = draw_timed(result, threads=threads, processes=processes, dpi=dpi)
    save_figure(fig, path)
    return summarize_timed(fig)


def draw_timed(
    result: RunResult, *, threads: Sequence[str] | None = None,
    processes: Sequence[str] | None = None, dpi: float = 100,
) -> Figure:  # fmt: skip
    """The figure of one timed run (see the module docstring), as a matplotlib ``Figure``.

    ``result`` must come from :func:`refsim.timed.run_timed` with its trace kept;
    ``threads`` orders the lanes, ``processes`` names the GIL lanes (``GIL P1`` ...)."""
    metrics = result.metrics
    if metrics is None:
        raise ValueError("a timed figure needs a timed run (refsim.timed.run_timed)")
    names = tuple(threads) if threads is not None else tuple(n for n, _ in metrics.threads)
    with style():
        return _draw(result, metrics, names, _gil_lanes(metrics, processes), dpi)


def time_unit(makespan_ns: int) -> tuple[int, str]:
    """The largest unit in which the run lasts at least 2 (ns per unit, its symbol)."""
    for ns, symbol in _UNITS:
        if makespan_ns >= 2 * ns:
            return ns, symbol
    return 1, "ns"


def _gil_lanes(metrics: TimedMetrics, processes: Sequence[str] | None) -> tuple[str, ...]:
    """One GIL lane per process, only under a runtime with a GIL (someone held one)."""
    if not metrics.gil_holdings:
        return ()
    used = 1 + max(p for p, *_ in metrics.gil_holdings)
    names = tuple(processes) if processes else tuple(f"P{p}" for p in range(used))
    return ("GIL",) if len(names) == 1 else tuple(f"GIL {name}" for name in names)


def _draw(
    result: RunResult, metrics: TimedMetrics, names: tuple[str, ...], gils: tuple[str, ...],
    dpi: float,
) -> Figure:  # fmt: skip
    lanes = (*names, *gils)
    lane_in = 0.6 if len(lanes) <= 6 else max(0.32, 0.6 - 0.025 * (len(lanes) - 6))
    # Title and subtitle, then the legend's rows (four entries a row).
    rows = -(-_legend_entries(metrics, names) // 4)
    width, left, right, top, bottom = 14.0, 1.4, 0.4, 1.1 + 0.3 * rows + 0.3, 0.85
    height = top + lane_in * len(lanes) + 0.2 + bottom
    fig = new_figure(width, height, dpi)
    ax = fig.add_axes(
        (left / width, bottom / height, (width - left - right) / width,
         (lane_in * len(lanes) + 0.2) / height),
        gid="timed",
    )  # fmt: skip
    y = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}
    unit_ns, unit = time_unit(metrics.makespan_ns)
    # Data units per pixel: a span too short to see is drawn MIN_PX pixels wide.
    pixel = max(metrics.makespan_ns, 1) / unit_ns / ((width - left - right) * dpi)
    bar = _Bars(unit_ns, MIN_PX * pixel, dpi)
    handles = _draw_states(ax, metrics, y, bar)
    handles += _draw_gil(ax, metrics, names, gils, y, bar, pixel)
    ax.set_yticks([y[n] for n in lanes], list(lanes))
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    ax.set_xlim(0, max(metrics.makespan_ns, 1) / unit_ns)
    ax.set_xlabel(f"time ({unit})")
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    _title(fig, result, metrics, width, height)
    fig.legend(
        [h for h, _ in handles], [label for _, label in handles], loc="upper left",
        ncols=4, frameon=False, bbox_to_anchor=(0.35 / width, 1 - 0.95 / height),
        handlelength=1.6, columnspacing=1.4, borderaxespad=0,
    )  # fmt: skip
    return fig


def _holders(metrics: TimedMetrics, names: Sequence[str]) -> list[str]:
    """The threads that held a GIL, in lane order."""
    held = {thread for _, thread, _, _ in metrics.gil_holdings}
    return [name for name in names if name in held]


def _legend_entries(metrics: TimedMetrics, names: Sequence[str]) -> int:
    """How many entries the legend will have: to leave room for its rows."""
    states = len({state for _, state, _, _ in metrics.spans})
    holders = len(_holders(metrics, names))
    named = holders if holders <= len(GIL_HOLDERS) else 1
    return states + named + (1 if metrics.drop_request_times else 0)


def _draw_states(
    ax: Axes, metrics: TimedMetrics, y: Mapping[str, float], bar: _Bars
) -> list[tuple[Any, str]]:
    """One collection per state and thread, without edges (thousands of thin spans with
    edges would smear into the edge colour). Only runs are widened to be seen: a widened
    wait would paint a thread that runs almost all the time as half waiting."""
    from matplotlib.patches import Patch

    handles: list[tuple[Any, str]] = []
    _draw_grounds(ax, metrics, y, bar)
    for state, label, colour in STATES:
        bars: dict[str, list[tuple[int, int]]] = {}
        for thread, s, start, end in metrics.spans:
            if s == state and thread in y:
                bars.setdefault(thread, []).append((start, end))
        if not bars:
            continue
        for thread, spans in bars.items():
            bar.draw(ax, spans, y[thread], colour, f"spans:{state}", widen=state == "running")
        handles.append((Patch(facecolor=colour), label))
    return handles


def _draw_grounds(ax: Axes, metrics: TimedMetrics, y: Mapping[str, float], bar: _Bars) -> None:
    """Under each thread's spans, one bar from its first span to its last in the colour of
    the state it spends most time in, when its spans leave no gap.

    Thousands of spans under a pixel wide meet at fractional pixels, and each antialiased
    edge lets the white background through: a lane that runs all the time showed pale
    seams at irregular places, which read as events that are not there. On the ground
    the seams take the colour the lane mostly is."""
    colours = {state: colour for state, _, colour in STATES}
    by: dict[str, list[tuple[str, int, int]]] = {}
    for thread, state, start, end in metrics.spans:
        if thread in y:
            by.setdefault(thread, []).append((state, start, end))
    for thread, spans in by.items():
        if any(a[2] != b[1] for a, b in pairwise(spans)):
            continue
        time: dict[str, int] = {}
        for state, start, end in spans:
            time[state] = time.get(state, 0) + end - start
        most = max(colours, key=lambda state: time.get(state, 0))  # ties: STATES order
        x, width = spans[0][1] / bar.unit_ns, (spans[-1][2] - spans[0][1]) / bar.unit_ns
        ax.broken_barh([(x, width)], (y[thread] - 0.36, 0.72), facecolors=colours[most],
                       linewidth=0, gid="ground", zorder=1, snap=False)  # fmt: skip


def _draw_gil(
    ax: Axes, metrics: TimedMetrics, names: tuple[str, ...], gils: tuple[str, ...],
    y: Mapping[str, float], bar: _Bars, pixel: float,
) -> list[tuple[Any, str]]:  # fmt: skip
    """The GIL lanes, each holding coloured by its thread, and the drop requests as small
    triangles pointing down onto the lane, smaller when they come close together so that
    they never run into a band."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not gils:
        return []
    colour = {name: GIL_HOLDERS[i % len(GIL_HOLDERS)] for i, name in enumerate(names)}
    by: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for p, thread, start, end in metrics.gil_holdings:
        by.setdefault((p, thread), []).append((start, end))
    for (p, thread), spans in sorted(by.items()):
        bar.draw(ax, spans, y[gils[p]], colour[thread], f"holdings:{thread}")
    held = _holders(metrics, names)
    handles: list[tuple[Any, str]]
    if len(held) <= len(GIL_HOLDERS):
        handles = [(Patch(facecolor=colour[t]), f"GIL held by {t}") for t in held]
    else:
        # More holders than colours: a colour no longer says who; names on the lane do.
        _name_holders(ax, metrics, gils, y, bar, pixel, colour)
        handles = [
            (
                Patch(facecolor=GIL_HOLDERS[0]),
                "GIL held (by the running thread; named where it fits)",
            )
        ]
    if metrics.drop_request_times:
        xs = [t / bar.unit_ns for _, t in metrics.drop_request_times]
        ys = [y[gils[p]] + 0.5 for p, _ in metrics.drop_request_times]
        ax.plot(xs, ys, ls="none", marker="v", ms=_marker_pt(metrics, bar, pixel),
                color=DROP, gid="drop-requests", clip_on=False)  # fmt: skip
        handles.append((Line2D([], [], ls="none", marker="v", ms=7, color=DROP), "drop request"))
    return handles


def _name_holders(
    ax: Axes, metrics: TimedMetrics, gils: tuple[str, ...], y: Mapping[str, float],
    bar: _Bars, pixel: float, colour: Mapping[str, str],
) -> None:  # fmt: skip
    """Write the holder's name in each GIL holding wide enough for it (white on the dark
    colours, black on the light ones)."""
    font = FONT - 3
    for p, thread, start, end in metrics.gil_holdings:
        px = (end - start) / bar.unit_ns / pixel
        if px >= (len(thread) * CHAR * font + 4) * bar.dpi / 72:
            ax.text((start + end) / 2 / bar.unit_ns, y[gils[p]], thread, ha="center",
                    va="center", fontsize=font,
                    color="white" if colour[thread] in _DARK else "black", gid="holder-label",
                    zorder=4)  # fmt: skip


def _marker_pt(metrics: TimedMetrics, bar: _Bars, pixel: float) -> float:
    """A drop-request marker's size in points: 6, or less so that two markers a typical
    (median) gap apart in one lane leave room between them."""
    gaps = sorted(b - a for (p, a), (q, b) in pairwise(metrics.drop_request_times) if p == q)
    if not gaps:
        return 6.0
    px = gaps[len(gaps) // 2] / bar.unit_ns / pixel
    return max(2.0, min(6.0, 0.55 * px * 72 / bar.dpi))


def _human(ns: int) -> str:
    """A duration in the largest unit it has at least one of: ``1.21 s``, ``100 ms``."""
    unit_ns, symbol = next(((u, s) for u, s in _UNITS if ns >= u), (1, "ns"))
    return f"{ns / unit_ns:.3g} {symbol}"


def _title(
    fig: Figure, result: RunResult, metrics: TimedMetrics, width: float, height: float
) -> None:
    took = _human(metrics.makespan_ns)
    fig.text(0.4 / width, 1 - 0.16 / height,
             f"{result.scenario}  ·  runtime {result.runtime}  ·  timed", fontsize=FONT + 5,
             fontweight="bold", va="top", gid="title")  # fmt: skip
    cores = f"{metrics.cores} core{'s' if metrics.cores != 1 else ''}"
    said = (
        f"took {took} on {cores} (utilisation {metrics.utilisation:.0%})  ·  "
        f"{metrics.switches:,} GIL switches, {metrics.drop_requests:,} drop requests"
    )
    fig.text(0.4 / width, 1 - 0.58 / height, said, fontsize=FONT, va="top", color="#333333",
             gid="subtitle")  # fmt: skip


def summarize_timed(fig: Figure) -> TimedFigure:
    """Count what a timed figure (from :func:`draw_timed`) shows, by its artists' gids."""
    import numpy as np

    ax = next(a for a in fig.axes if a.get_gid() == "timed")
    lanes = tuple(t.get_text() for t in ax.get_yticklabels())

    def count(gid: str) -> int:
        return sum(len(c.get_paths()) for c in ax.collections if c.get_gid() == gid)

    spans = tuple(
        (state, count(f"spans:{state}")) for state, _, _ in STATES if count(f"spans:{state}")
    )
    holdings = sum(
        len(c.get_paths()) for c in ax.collections if str(c.get_gid()).startswith("holdings:")
    )
    drops = sum(len(np.asarray(ln.get_xdata())) for ln in ax.lines
                if ln.get_gid() == "drop-requests")  # fmt: skip
    unit = ax.get_xlabel().removeprefix("time (").removesuffix(")")
    labels = sum(1 for t in ax.texts if t.get_gid() == "holder-label")
    return TimedFigure(lanes=lanes, spans=spans, holdings=holdings, holder_labels=labels,
                       drop_requests=drops, unit=unit)  # fmt: skip

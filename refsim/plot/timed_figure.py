"""The figure of a timed run, in the manner of Beazley's GIL thread-state plots: time
across, one lane per thread coloured by its state, one lane per process's GIL coloured by
its holder, and a small mark over the GIL lane at each drop request (docs/plots.md,
"Timed runs"). What it shows comes from :mod:`~refsim.plot.timeline`: every stretch of a
lane has a state, and a stretch too dense to draw is one band striped by its states'
shares.

The same figure draws a window of a run (``window``), and several runs of one scenario one
above the other on one time axis (:func:`draw_comparison`: runtimes, threads against
processes). The runs of a comparison are made below this layer
(:func:`refsim.compare.timed_rows` and :func:`~refsim.compare.timed_ways` give
:class:`~refsim.compare.TimedRun` values); this module only draws them: any value with a
``label``, a timed ``result`` and its ``processes`` is a :class:`Panel`.
:func:`summarize_timed` reads back what a figure shows, for tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from refsim.plot.style import (
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
    text_width,
)
from refsim.plot.timeline import Band, Interval, Timeline, describe_timed, human
from refsim.trace import RunResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "STATES",
    "Panel",
    "TimedFigure",
    "Variant",
    "draw_comparison",
    "draw_timed",
    "plot_timed",
    "summarize_timed",
    "time_unit",
]

STARTING = "#DDDDDD"
FREE = "#E4E4E4"
STATES: tuple[tuple[str, str, str], ...] = (
    ("running", "running", GREEN),
    ("gil_wait", "waiting for the GIL", VERMILLION),
    ("io_wait", "waiting on I/O", SKY),
    ("ready", "ready (no free core)", YELLOW),
    ("blocked", "blocked (waits for another thread)", PURPLE),
    ("starting", "starting its process", STARTING),
    ("free", "GIL free", FREE),
)
"""Each lane state: its name (:mod:`~refsim.plot.timeline`), its legend label and its
colour (Okabe & Ito's, greys for the states in which nothing runs)."""
_COLOUR = {state: colour for state, _, colour in STATES}
_SAYS = {
    "running": "running",
    "gil_wait": "GIL wait",
    "io_wait": "I/O",
    "ready": "no core",
    "blocked": "blocked",
    "starting": "starting",
    "free": "free",
}
"""What a band's label calls each state."""

GIL_HOLDERS = ("#332288", "#AAAAAA", "#882255", "#999933", "#555555", "#CC6677", "#44AA99")
"""Who holds a GIL: from Paul Tol's "muted" scheme and greys, none of them a state's
colour (the light holder palette of the step figure has a sky blue and a yellow)."""
_DARK = frozenset({"#332288", "#882255", "#555555"})
DROP = "#222222"
"""Drop-request markers: near black, apart from every fill."""

_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs"), (1, "ns"))

MIN_PX = 1.2
"""The narrowest an interval is drawn, in pixels: a 100 µs run in a 1 s figure shows."""
_BAR = 0.72
"""A lane's bar height (lanes are 1 apart)."""
_FLOOR = 0.14
"""The least part of a band's height a state present in it gets: 1 % of the time still
shows as a stripe."""
_LABEL_FONT = FONT - 2.5
_END, _END_STYLE = "#333333", (0, (3, 2))
"""Where a run of a comparison ends: a dashed line across its panel."""
_FINISH_PT = 16.0
"""The finish mark's height in points: about a lane's bar."""
_WIDTH, _LEFT, _RIGHT = 14.0, 1.5, 0.45


class Panel(Protocol):
    """What :func:`draw_comparison` draws of each run: its title, the timed run, and the
    names of its processes (for the GIL lanes). :class:`Variant` is one, and so is
    :class:`refsim.compare.TimedRun`."""

    @property
    def label(self) -> str: ...

    @property
    def result(self) -> RunResult: ...

    @property
    def processes(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Variant:
    """One run of a comparison: its label (``gil``, ``gil, a process per thread``), the
    timed run, and the names of its processes (for the GIL lanes)."""

    label: str
    result: RunResult
    processes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TimedFigure:
    """What a timed figure contains, counted from its artists."""

    lanes: tuple[str, ...]
    """The lanes' names, top to bottom: threads, then ``GIL`` (``GIL P0`` ... per process);
    of every panel of a comparison in turn."""
    spans: tuple[tuple[str, int], ...]
    """Per thread state (in :data:`STATES` order, only those drawn): how many intervals."""
    holdings: int
    """Intervals in the GIL lanes in which a thread holds the GIL."""
    holder_labels: int
    """Holders' names written on the GIL lanes (only when colours cannot say who)."""
    drop_requests: int
    """Drop-request markers."""
    unit: str
    """The time axis's unit (``ms``, ``s`` ...)."""
    intervals: tuple[tuple[str, str, float, float], ...] = ()
    """Every interval drawn: (lane, state, start, end) in the axis's unit, by panel, lane
    and time; a GIL lane's state is ``held by T1``, ``free`` or ``starting``."""
    bands: tuple[tuple[str, float, float, tuple[str, ...]], ...] = ()
    """Every summary band: (lane, start, end, its stripes' states or holders, top down)."""
    labels: tuple[str, ...] = ()
    """The texts written in the lanes and on the bands, left to right by lane."""
    x_range: tuple[float, float] = (0.0, 0.0)
    """The time shown, in the axis's unit."""
    panels: tuple[str, ...] = ()
    """A comparison's panel titles, top to bottom (empty for one run)."""
    legend: tuple[str, ...] = ()
    finished: int = 0
    """Finish marks: threads that finished inside the time shown."""
    stuck: int = 0
    """Deadlock marks: threads blocked for good when the run ended."""


def plot_timed(
    result: RunResult, path: str | Path, *, threads: Sequence[str] | None = None,
    processes: Sequence[str] | None = None, window: tuple[int, int] | None = None,
    dpi: float = 100,
) -> TimedFigure:  # fmt: skip
    """Draw the timed ``result`` and write it to ``path`` (PNG, SVG or PDF by suffix)."""
    if Path(path).suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: a figure must end in {', '.join(FORMATS)}")
    fig = draw_timed(result, threads=threads, processes=processes, window=window, dpi=dpi)
    save_figure(fig, path)
    return summarize_timed(fig)


def draw_timed(
    result: RunResult, *, threads: Sequence[str] | None = None,
    processes: Sequence[str] | None = None, window: tuple[int, int] | None = None,
    dpi: float = 100,
) -> Figure:  # fmt: skip
    """The figure of one timed run (see the module docstring), as a matplotlib ``Figure``.

    ``result`` must come from :func:`refsim.timed.run_timed` with its trace kept;
    ``threads`` orders the lanes, ``processes`` names the GIL lanes (``GIL P1`` ...),
    ``window`` (ns, start and end) draws that stretch of the run only. Raises
    ``ValueError`` for a run that is not timed and for a window the run never reaches."""
    return draw_comparison(
        [Variant("", result, tuple(processes or ()))], threads=threads, window=window, dpi=dpi
    )


def draw_comparison(
    variants: Sequence[Panel], *, threads: Sequence[str] | None = None,
    window: tuple[int, int] | None = None, dpi: float = 100,
) -> Figure:  # fmt: skip
    """Several timed runs of one scenario one above the other on one time axis, each
    with its lanes, titled by its label (one run: :func:`draw_timed`'s figure)."""
    if not variants:
        raise ValueError("nothing to draw: no runs given")
    for v in variants:
        if v.result.metrics is None:
            raise ValueError("a timed figure needs a timed run (refsim.timed.run_timed)")
    longest = max(v.result.metrics.makespan_ns for v in variants if v.result.metrics)
    start, end = window if window is not None else (0, max(longest, 1))
    if not 0 <= start < end:
        raise ValueError(f"a window runs from its start to a later end, not {start}..{end} ns")
    if window is not None and start >= longest:
        raise ValueError(
            f"the window starts at {human(start)}, after the run ended ({human(longest)})"
        )
    pixel_ns = (end - start) / ((_WIDTH - _LEFT - _RIGHT) * dpi)
    timelines = [
        describe_timed(v.result, threads=threads, processes=v.processes or None,
                       window=(start, end), pixel_ns=pixel_ns)
        for v in variants
    ]  # fmt: skip
    labels = [v.label for v in variants]
    with style():
        return _draw(timelines, labels, (start, end), window is not None, dpi)


def time_unit(span_ns: int) -> tuple[int, str]:
    """The largest unit in which ``span_ns`` is at least 2 (ns per unit, its symbol)."""
    for ns, symbol in _UNITS:
        if span_ns >= 2 * ns:
            return ns, symbol
    return 1, "ns"


@dataclass(frozen=True, slots=True)
class _Axis:
    """Turns ns into the axis's unit; knows how long a pixel lasts."""

    unit_ns: int
    pixel: float
    """Data units per pixel."""
    dpi: float
    window: tuple[int, int]

    def x(self, ns: float) -> float:
        return ns / self.unit_ns

    def width_pt(self, start: int, end: int) -> float:
        return (end - start) / self.unit_ns / self.pixel * 72 / self.dpi

    def bar(self, start: int, end: int) -> tuple[float, float]:
        """A ``broken_barh`` range cut to the window, at least :data:`MIN_PX` wide."""
        start, end = max(start, self.window[0]), min(end, self.window[1])
        return self.x(start), max((end - start) / self.unit_ns, MIN_PX * self.pixel)

    def shown(self, start: int, end: int) -> tuple[int, int]:
        """``start`` to ``end`` cut to the window."""
        return max(start, self.window[0]), min(end, self.window[1])


def _draw(
    timelines: Sequence[Timeline], labels: Sequence[str], window: tuple[int, int],
    windowed: bool, dpi: float,
) -> Figure:  # fmt: skip
    many = len(timelines) > 1
    lane_counts = [len(t.lanes) for t in timelines]
    lanes_total = sum(lane_counts)
    lane_in = 0.6 if lanes_total <= 6 else max(0.34, 0.6 - 0.02 * (lanes_total - 6))
    handles = _legend_handles(timelines)
    rows = -(-len(handles) // 4)
    title_in = 0.5 if many else 0.0
    gap = 0.35
    top, bottom = 1.1 + 0.3 * rows + 0.35, 0.85
    heights = [title_in + lane_in * n + 0.2 for n in lane_counts]
    height = top + sum(heights) + gap * (len(heights) - 1) + bottom
    fig = new_figure(_WIDTH, height, dpi)
    unit_ns, unit = time_unit(window[1] - window[0])
    axis = _Axis(unit_ns, (window[1] - window[0]) / unit_ns / ((_WIDTH - _LEFT - _RIGHT) * dpi),
                 dpi, window)  # fmt: skip
    y = top
    axes: list[Axes] = []
    for i, (timeline, label, panel) in enumerate(zip(timelines, labels, heights, strict=True)):
        lanes_in = panel - title_in
        rect = (_LEFT / _WIDTH, 1 - (y + panel) / height, (_WIDTH - _LEFT - _RIGHT) / _WIDTH,
                lanes_in / height)  # fmt: skip
        ax = fig.add_axes(rect, gid=f"timed:{i}", sharex=axes[0] if axes else None)
        axes.append(ax)
        _draw_panel(ax, timeline, axis, lane_in * 72, ends=many)
        ax.set_xlim(axis.x(window[0]), axis.x(window[1]))
        if many:
            ax.set_title(f"{label}  ·  {_said(timeline)}", pad=8, fontsize=FONT,
                         loc="left", gid="panel-title")  # fmt: skip
        if i < len(timelines) - 1:
            ax.tick_params(axis="x", labelbottom=False)
        y += panel + gap
    axes[-1].set_xlabel(f"time ({unit})")
    _title(fig, timelines, labels, window, windowed, height)
    fig.legend(
        [h for h, _ in handles], [label for _, label in handles], loc="upper left",
        ncols=4, frameon=False, bbox_to_anchor=(0.35 / _WIDTH, 1 - 0.95 / height),
        handlelength=1.6, columnspacing=1.4, borderaxespad=0,
    )  # fmt: skip
    return fig


def _draw_panel(ax: Axes, timeline: Timeline, axis: _Axis, lane_pt: float, *, ends: bool) -> None:
    lanes = timeline.lanes
    y = {name: float(len(lanes) - 1 - i) for i, name in enumerate(lanes)}
    colour = _holder_colours(timeline)
    _draw_intervals(ax, timeline, y, axis, colour)
    for band in timeline.bands:
        _draw_band(ax, band, y[band.lane], axis, colour, lane_pt)
    _draw_marks(ax, timeline, y, axis)
    if ends and timeline.window[0] < timeline.makespan_ns < timeline.window[1]:
        # In a comparison, where this run ended: the runs' lengths side by side.
        x = axis.x(timeline.makespan_ns)
        ax.axvline(x, color=_END, lw=1.2, ls=_END_STYLE, zorder=5, gid="end-of-run")
    ax.set_yticks([y[n] for n in lanes], list(lanes))
    for label in ax.get_yticklabels():
        if label.get_text() in timeline.threads:
            label.set_fontweight("bold")
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    ax.tick_params(axis="y", length=0)
    ax.spines[["left", "top", "right"]].set_visible(False)
    if timeline.gils:
        ax.axhline(len(timeline.gils) - 0.5, color="#BBBBBB", lw=0.8, zorder=0)


def _holder_colours(timeline: Timeline) -> dict[str, str]:
    return {name: GIL_HOLDERS[i % len(GIL_HOLDERS)] for i, name in enumerate(timeline.threads)}


def _holders(timeline: Timeline) -> list[str]:
    """The threads that held a GIL in the time shown, in lane order."""
    held = {i.detail for i in timeline.intervals if i.state == "held"}
    held |= {k for b in timeline.bands for k, _ in b.shares}
    return [name for name in timeline.threads if name in held]


def _fill(interval: Interval, colour: Mapping[str, str]) -> str:
    if interval.state == "held":
        return colour.get(interval.detail or "", GIL_HOLDERS[0])
    return _COLOUR[interval.state]


def _draw_intervals(
    ax: Axes, timeline: Timeline, y: Mapping[str, float], axis: _Axis,
    colour: Mapping[str, str],
) -> None:  # fmt: skip
    """Each interval as a bar (one collection per lane and state, or holder), without
    edges: the narrow ones widened to :data:`MIN_PX` and drawn on top, so that a long
    neighbour never hides them. A ``free`` GIL is a thin grey bar, ``starting`` hatched."""
    groups: dict[tuple[str, str, str | None, bool], list[Interval]] = {}
    for i in timeline.intervals:
        narrow = (i.end - i.start) / axis.unit_ns < MIN_PX * axis.pixel
        detail = i.detail if i.state == "held" else None
        groups.setdefault((i.lane, i.state, detail, narrow), []).append(i)
    for (lane, state, detail, narrow), found in groups.items():
        high = 0.16 if state == "free" else _BAR
        # Unsnapped: snapping a bar under two pixels wide to the pixel grid rounds most of
        # them to nothing, so a lane showed 13 of 199 waits.
        ax.broken_barh(
            [axis.bar(i.start, i.end) for i in found], (y[lane] - high / 2, high),
            facecolors=_fill(found[0], colour), linewidth=0, zorder=3 if narrow else 2,
            snap=False, hatch="///" if state == "starting" else None,
            edgecolor="#AAAAAA" if state == "starting" else "none",
            gid=f"interval|{lane}|{state}" + (f"|{detail}" if detail else ""),
        )  # fmt: skip
    many = len(_holders(timeline)) > len(GIL_HOLDERS)
    said: dict[str, str] = {}
    for i in sorted(timeline.intervals, key=lambda i: (-y[i.lane], i.start)):
        start, end = axis.shown(i.start, i.end)
        for text in _texts(i, many):
            margin = 4 if i.state == "held" else 8  # a holder's name is short, and alone
            if text_width(text, _LABEL_FONT) * 1.03 + margin <= axis.width_pt(start, end):
                if said.get(i.lane) == text:
                    break  # said just before in this lane: the colour says it again
                said[i.lane] = text
                dark = i.state == "held" and _fill(i, colour) in _DARK
                ax.text(axis.x((start + end) / 2), y[i.lane], text, ha="center",
                        va="center", fontsize=_LABEL_FONT, zorder=4,
                        color="white" if dark else "#111111",
                        gid="holder-label" if i.state == "held" else "interval-label")  # fmt: skip
                break


def _texts(i: Interval, many_holders: bool) -> list[str]:
    """What an interval may say, longest first, if it is wide enough for one of them."""
    took = human(i.end - i.start)
    if i.state == "running":
        return [f"{i.detail} · {took}", i.detail] if i.detail else [f"running · {took}"]
    if i.state == "gil_wait":
        return [f"waiting for the GIL · {took}", f"GIL wait · {took}", "GIL wait"]
    if i.state == "io_wait":
        said = [f"waiting on I/O ({i.detail})"] if i.detail else []
        return [*said, f"waiting on I/O · {took}", "I/O"]
    if i.state == "ready":
        return [f"ready, no free core · {took}", "no free core"]
    if i.state == "blocked":
        return ([f"blocked on {i.detail} · {took}", f"blocked on {i.detail}"] if i.detail
                else []) + [f"blocked · {took}", "blocked"]  # fmt: skip
    if i.state == "starting":
        return [f"starting its process · {took}", "starting its process", "starting"]
    if i.state == "held" and many_holders and i.detail:
        # More holders than colours: a colour no longer says who; the name does.
        return [i.detail]
    return []


def _draw_band(
    ax: Axes, band: Band, lane: float, axis: _Axis, colour: Mapping[str, str], lane_pt: float
) -> None:
    """A band: its stretch striped, one stripe per state (or holder) top down in legend
    order, each as high as its share of the time (at least :data:`_FLOOR`), and a label
    with the shares where it fits."""
    from matplotlib.patches import Rectangle

    order = [s for s, _, _ in STATES]

    def rank(key: str) -> tuple[int, str]:
        return (order.index(key), "") if key in order else (len(order), key)

    stripes = sorted(band.shares, key=lambda kv: rank(kv[0]))
    weights = [max(share, _FLOOR) for _, share in stripes]
    total = sum(weights)
    top = lane + _BAR / 2
    x, width = axis.x(band.start), axis.x(band.end) - axis.x(band.start)
    for (key, _), weight in zip(stripes, weights, strict=True):
        high = _BAR * weight / total
        fill = _COLOUR.get(key) or colour.get(key, GIL_HOLDERS[0])
        ax.add_patch(Rectangle((x, top - high), width, high, facecolor=fill, linewidth=0,
                               zorder=2, gid=f"band|{band.lane}|{key}"))  # fmt: skip
        top -= high
    parts = [f"{_percent(share)} {_SAYS.get(key, f'held by {key}')}" for key, share in band.shares]
    for n in range(len(parts), 0, -1):
        text = " · ".join(parts[:n])
        if text_width(text, _LABEL_FONT) * 1.03 + 12 <= axis.width_pt(band.start, band.end):
            ax.text(x + width / 2, lane, text, ha="center", va="center", fontsize=_LABEL_FONT,
                    zorder=4, gid="band-label",
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "none",
                          "alpha": 0.85})  # fmt: skip
            break


def _percent(share: float) -> str:
    return "<1%" if 0 < share < 0.01 else f"{share:.0%}"


def _draw_marks(ax: Axes, timeline: Timeline, y: Mapping[str, float], axis: _Axis) -> None:
    """Where each thread finished (a short dark bar), and the drop requests (triangles over
    the GIL lane, smaller when they come close together, so they never run into a band)."""
    if timeline.finished:
        xs = [axis.x(t) for _, t in timeline.finished]
        ys = [y[name] for name, _ in timeline.finished]
        ax.plot(xs, ys, ls="none", marker="|", ms=_FINISH_PT, mew=2.2, color="#111111",
                zorder=5, gid="finished", clip_on=False)  # fmt: skip
    if timeline.stuck:
        # Blocked for good: the run ends here, in a deadlock.
        xs = [axis.x(timeline.makespan_ns)] * len(timeline.stuck)
        ys = [y[name] for name, _ in timeline.stuck]
        ax.plot(xs, ys, ls="none", marker="X", ms=12, color=VERMILLION, mec="white", mew=1,
                zorder=6, gid="stuck", clip_on=False)  # fmt: skip
    if timeline.drops:
        xs = [axis.x(t) for _, t in timeline.drops]
        ys = [y[lane] + 0.5 for lane, _ in timeline.drops]
        ax.plot(xs, ys, ls="none", marker="v", ms=_marker_pt(timeline, axis), color=DROP,
                gid="drop-requests", clip_on=False)  # fmt: skip


def _marker_pt(timeline: Timeline, axis: _Axis) -> float:
    """A drop-request marker's size in points: 6, or less so that two markers a typical
    (median) gap apart in one lane leave room between them."""
    gaps = sorted(b - a for (p, a), (q, b) in pairwise(timeline.drops) if p == q)
    if not gaps:
        return 6.0
    px = gaps[len(gaps) // 2] / axis.unit_ns / axis.pixel
    return max(2.0, min(6.0, 0.55 * px * 72 / axis.dpi))


def _legend_handles(timelines: Sequence[Timeline]) -> list[tuple[Any, str]]:
    """Only what the figure shows: the states drawn, who held a GIL, the finish marks, the
    drop requests, and what a band is."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    seen = {i.state for t in timelines for i in t.intervals}
    seen |= {k for t in timelines for b in t.bands for k, _ in b.shares}
    handles: list[tuple[Any, str]] = []
    for state, label, colour in STATES:
        if state in seen:
            hatch = "///" if state == "starting" else None
            handles.append((Patch(facecolor=colour, hatch=hatch, edgecolor="#AAAAAA" if hatch
                                  else colour, lw=0), label))  # fmt: skip
    holders: list[str] = []
    for t in timelines:
        holders += [h for h in _holders(t) if h not in holders]
    fills = _holder_colours(timelines[0])
    if len(holders) <= len(GIL_HOLDERS):
        handles += [(Patch(facecolor=fills.get(h, GIL_HOLDERS[0])), f"GIL held by {h}")
                    for h in holders]  # fmt: skip
    else:
        handles.append((Patch(facecolor=GIL_HOLDERS[0]),
                        "GIL held (by the running thread; named where it fits)"))  # fmt: skip
    if any(t.bands for t in timelines):
        handles.append((Patch(facecolor="white", edgecolor="#555555", hatch="---", lw=0.8),
                        "striped: too dense to draw, each state's share"))  # fmt: skip
    if any(t.stuck for t in timelines):
        handles.append((Line2D([], [], ls="none", marker="X", ms=11, color=VERMILLION,
                               mec="white"), "blocked for good (deadlock)"))  # fmt: skip
    if any(t.finished for t in timelines):
        handles.append((Line2D([], [], ls="none", marker="|", ms=12, mew=2.2,
                               color="#111111"), "finished"))  # fmt: skip
    if any(t.drops for t in timelines):
        handles.append((Line2D([], [], ls="none", marker="v", ms=7, color=DROP), "drop request"))
    if len(timelines) > 1 and any(t.makespan_ns < t.window[1] for t in timelines):
        handles.append((Line2D([], [], color=_END, lw=1.2, ls=_END_STYLE), "the run ends"))
    return handles


def _said(timeline: Timeline) -> str:
    """How the run went: its length, the cores' use, the GIL's switches."""
    cores = f"{timeline.cores} core{'s' if timeline.cores != 1 else ''}"
    said = f"took {human(timeline.makespan_ns)} on {cores} (utilisation {timeline.utilisation:.0%})"
    if timeline.gils:
        said += f"  ·  {timeline.switches:,} GIL switches, {timeline.drop_requests:,} drop requests"
    return said


def _title(
    fig: Figure, timelines: Sequence[Timeline], labels: Sequence[str],
    window: tuple[int, int], windowed: bool, height: float,
) -> None:  # fmt: skip
    first = timelines[0]
    if len(timelines) == 1:
        head = f"{first.scenario}  ·  runtime {first.runtime}  ·  timed"
        said = _said(first)
    else:
        runs = " vs ".join(labels) if len(" vs ".join(labels)) <= 48 else f"{len(labels)} ways"
        head = f"{first.scenario}  ·  timed  ·  {runs}"
        said = "the same scenario, seed and machine, one run above the other on one time axis"
    if windowed:
        longest = max(t.makespan_ns for t in timelines)
        said = f"window {human(window[0])} to {human(window[1])} of {human(longest)}  ·  " + said
    fig.text(0.4 / _WIDTH, 1 - 0.16 / height, head, fontsize=FONT + 5, fontweight="bold",
             va="top", gid="title")  # fmt: skip
    fig.text(0.4 / _WIDTH, 1 - 0.58 / height, said, fontsize=FONT, va="top", color="#333333",
             gid="subtitle")  # fmt: skip


def summarize_timed(fig: Figure) -> TimedFigure:
    """Count what a timed figure (from :func:`draw_timed`) shows, by its artists' gids."""
    import numpy as np
    from matplotlib.collections import Collection
    from matplotlib.patches import Rectangle

    axes = sorted((a for a in fig.axes if str(a.get_gid()).startswith("timed:")),
                  key=lambda a: int(str(a.get_gid()).split(":")[1]))  # fmt: skip
    lanes: list[str] = []
    intervals: list[tuple[str, str, float, float]] = []
    bands: dict[tuple[str, float, float], list[str]] = {}
    labels: list[str] = []
    counts: dict[str, int] = {}
    holder_labels = drops = finished = stuck = 0
    for ax in axes:
        lanes += [t.get_text() for t in ax.get_yticklabels()]
        for c in ax.collections:
            gid = str(c.get_gid())
            if not gid.startswith("interval|") or not isinstance(c, Collection):
                continue
            _, lane, state, *holder = gid.split("|")
            name = f"held by {holder[0]}" if holder else state
            for path in c.get_paths():
                xs = np.asarray(path.vertices)[:, 0]
                intervals.append((lane, name, float(xs.min()), float(xs.max())))
                counts[state] = counts.get(state, 0) + 1
        for patch in ax.patches:
            gid = str(patch.get_gid())
            if gid.startswith("band|") and isinstance(patch, Rectangle):
                _, lane, key = gid.split("|")
                where = (lane, float(patch.get_x()), float(patch.get_x() + patch.get_width()))
                bands.setdefault(where, []).append(key)
        texts = sorted(
            (t for t in ax.texts if t.get_gid() in ("interval-label", "band-label")),
            key=lambda t: (-t.get_position()[1], t.get_position()[0]),
        )
        labels += [t.get_text() for t in texts]
        holder_labels += sum(1 for t in ax.texts if t.get_gid() == "holder-label")
        drops += sum(len(np.asarray(ln.get_xdata())) for ln in ax.lines
                     if ln.get_gid() == "drop-requests")  # fmt: skip
        finished += sum(len(np.asarray(ln.get_xdata())) for ln in ax.lines
                        if ln.get_gid() == "finished")  # fmt: skip
        stuck += sum(len(np.asarray(ln.get_xdata())) for ln in ax.lines
                     if ln.get_gid() == "stuck")  # fmt: skip
    ax = axes[-1]
    thread_states = [s for s, _, _ in STATES if s not in ("free", "held")]
    return TimedFigure(
        lanes=tuple(lanes),
        spans=tuple((s, counts[s]) for s in thread_states if counts.get(s) and s != "starting"),
        holdings=counts.get("held", 0),
        holder_labels=holder_labels,
        drop_requests=drops,
        unit=ax.get_xlabel().removeprefix("time (").removesuffix(")"),
        intervals=tuple(intervals),
        bands=tuple((lane, a, b, tuple(keys)) for (lane, a, b), keys in bands.items()),
        labels=tuple(labels),
        x_range=(float(ax.get_xlim()[0]), float(ax.get_xlim()[1])),
        panels=tuple(a.get_title(loc="left") for a in axes if a.get_title(loc="left")),
        legend=tuple(t.get_text() for t in fig.legends[0].get_texts()),
        finished=finished,
        stuck=stuck,
    )

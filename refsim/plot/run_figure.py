"""The figure of one run: lanes of micro-step boxes, race windows, preemptions, the GIL
and lock lanes, and a panel per object or variable (docs/plots.md explains how to read
it). :func:`summarize_run` reads back what a figure shows, for tests."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refsim.model import AnomalyKind, Scenario
from refsim.plot import labels
from refsim.plot.picture import Mark, RunPicture, Series, Step, describe_run
from refsim.plot.style import (
    BLUE,
    BOX_FONT,
    CATEGORIES,
    COLOUR,
    FONT,
    FORMATS,
    GREEN,
    GREY,
    HOLDERS,
    ORANGE,
    PURPLE,
    RACE,
    VERMILLION,
    WINDOW,
    new_figure,
    save_figure,
    style,
    text_width,
)
from refsim.trace import RunResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["RunFigure", "draw_run", "plot_run", "summarize_run"]


@dataclass(frozen=True, slots=True)
class RunFigure:
    """What a run's figure contains, counted from its artists."""

    lanes: tuple[str, ...]
    """The lanes' names, top to bottom: threads, then ``GIL`` and ``lock NAME``."""
    boxes: int
    """Micro-step boxes."""
    box_labels: int
    """Boxes with their text drawn (thinned away when boxes get small)."""
    bytecode_starts: int
    windows: int
    """Race windows shaded (overlapping ones included)."""
    overlapping_windows: int
    preemptions: int
    """Preemption markers (0 when there are too many to mark)."""
    holdings: int
    """Spans in the GIL and lock lanes."""
    panels: tuple[str, ...]
    """One per object and variable, top to bottom."""
    freed: tuple[tuple[str, float, float], ...]
    """Each freed span: object, first and last x (steps)."""
    anomalies: tuple[tuple[str, float], ...]
    """Each anomaly marker: the axes it is in (a panel's name, or ``lanes``) and its x."""
    anomaly_labels: tuple[str, ...]
    """The marker labels drawn, a line each, left to right (thinned, or one per kind
    with its count, when they would not all fit)."""
    x_range: tuple[float, float]
    """The steps the lanes and panels show, from the left edge to the right."""
    y_labels: tuple[str, ...]
    """Each panel's y-axis label: ``count`` for an object, ``value`` for a variable."""
    blocked: tuple[tuple[str, float, float], ...] = ()
    """Each blocked stretch: the thread's lane, its first and last x (steps; the ``end``
    column ends at the right edge)."""
    lane_labels: tuple[str, ...] = ()
    """The texts in the lanes besides the boxes': holders (``T1, never released``) and
    blocked stretches (``blocked on lock L``), top to bottom, left to right."""
    legend: tuple[str, ...] = ()
    """The legend's labels, in order."""


def plot_run(
    result: RunResult,
    path: str | Path,
    *,
    threads: Sequence[str] | None = None,
    scenario: Scenario | None = None,
    dpi: float = 100,
) -> RunFigure:
    """Draw ``result`` and write it to ``path`` (PNG, SVG or PDF by suffix). With the
    ``scenario`` it ran, lanes say what each blocked thread waited for."""
    if Path(path).suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: a figure must end in {', '.join(FORMATS)}")
    fig = draw_run(result, threads=threads, scenario=scenario, dpi=dpi)
    save_figure(fig, path)
    return summarize_run(fig)


_SMALL = BOX_FONT - 2.5
"""The box font a size smaller, for labels that do not fit at :data:`BOX_FONT`."""
_WIDEST = 16.0
"""Inches: a figure may grow to this width so that every box's label fits."""
SHORT = {
    "LOAD": "LD",
    "ADD": "ADD",
    "SUB": "SUB",
    "STORE": "ST",
    "DEALLOC": "FREE",
    "RMW": "RMW",
    "READ": "RD",
    "LOAD_GLOBAL": "LDG",
    "BINARY_OP": "BIN",
    "STORE_GLOBAL": "STG",
    "COMPUTE": "COMP",
    "IO": "IO",
    "ACQUIRE": "ACQ",
    "RELEASE": "REL",
    "SET": "SET",
    "CLEAR": "CLR",
    "WAIT": "WT",
    "PUT": "PUT",
    "GET": "GET",
    "JOIN": "JN",
    "CWAIT": "CWT",
    "REACQUIRE": "REACQ",
    "NOTIFY": "NTF",
    "NOTIFY_ALL": "NTFA",
    "LOAD_LOCAL": "LDL",
    "STORE_LOCAL": "STL",
    "ADD_SHARED": "ADDS",
    "DECREF_SHARED": "DECS",
    "QUEUE": "QUE",
    "MERGE": "MRG",
    "IMMORTAL": "IMM",
    "DEFERRED": "DEF",
    "TAKE": "TAKE",
    "DROP": "DROP",
}
"""The short form of each micro-step kind, for a box too narrow for the whole name
(docs/plots.md lists them; the legend then gives both: ``LOAD_GLOBAL (LDG)``). A kind
without one loses its text, never to a fragment of it, where its name does not fit."""
_SYNONYM = {"DEALLOC": "FREE"}
"""Short forms that are words: preferred, at the box font, to the whole name at the small
one."""


def _forms(label: str) -> list[str]:
    """The ways a box's label may be written whole, best first: on one line, on two, or
    as a word that says the same (``FREE``)."""
    return [form for form in (_written(label, form) for form in range(3)) if form]


def _candidates(micro: str) -> list[tuple[int, float]]:
    """The ways to write a box of kind ``micro``, best first, as (form, font size): the
    whole forms (:func:`_forms`) at the box font then a size smaller, then its short
    form with the value (``LDG 0``, on one line or two), then the short form alone.
    Forms 0-2 are :func:`_forms`'s, 3-5 the short ones (:func:`_written`)."""
    whole = [(form, size) for size in (BOX_FONT, _SMALL) for form in range(3)]
    if micro not in SHORT:
        return whole
    with_value = [(form, size) for size in (BOX_FONT, _SMALL) for form in (3, 4)]
    return whole + with_value + [(5, BOX_FONT), (5, _SMALL)]


def _written(label: str, form: int) -> str | None:
    """``label`` written in form ``form`` (see :func:`_candidates`), or ``None`` when it
    has no such form."""
    head, _, tail = label.partition(" ")
    if form == 0:
        return label
    if form == 1:
        return f"{head}\n{tail}" if tail else None
    if form == 2:
        return _SYNONYM.get(head)
    short = SHORT[head]
    if form == 5:
        return short
    if not tail:
        return None
    return f"{short} {tail}" if form == 3 else f"{short}\n{tail}"


def _text_box(text: str, font: float) -> tuple[float, float]:
    """The room (points, wide and high) a box needs for ``text``."""
    lines = text.split("\n")
    # Agg hints glyphs a little wider than their outlines: 3 % more, and a margin.
    wide = max(text_width(line, font) for line in lines) * 1.03 + 4
    return wide, len(lines) * font * 1.25


class _Geometry:
    """Sizes in inches, decided from the picture before anything is drawn: the widths
    when it is made, the heights by :meth:`stack` once the anomaly labels are placed."""

    def __init__(self, picture: RunPicture) -> None:
        n = max(picture.steps, 1)
        self.lanes = len(picture.threads) + len(picture.holder_lanes)
        # Always a column after the last step: the last step's change of a word shows
        # whole there (a change is drawn at the step's right edge), and what is judged at
        # the end is marked there. For a long run a few percent of it, so it still shows.
        self.pad = max(1.0, 0.03 * n)
        self.end = n + self.pad
        self.end_x = n + 0.5 + self.pad / 2
        """Where the end column's marks go: ``n + 1`` for all but long runs."""
        self.left, self.right = 1.3, 0.35
        self.lane = 0.75 if self.lanes <= 4 else max(0.34, 0.75 - 0.035 * (self.lanes - 4))
        self.box_h_pt = 0.56 * self.lane * 72
        self.width = self._width(picture)
        self.axes_width = self.width - self.left - self.right
        self.box_pt = self.axes_width * 72 / self.end
        """Points per step."""

    def _width(self, picture: RunPicture) -> float:
        """Wide enough for ~0.6 in a step, and, within :data:`_WIDEST`, for every box's
        label at the box font (else at the smaller one): long bytecode names get room."""
        base = max(11.0, 2.4 + 0.62 * self.end)
        labels = sorted({b.label for b in picture.boxes})
        for font in (BOX_FONT, _SMALL):
            need = max((self._narrowest(label, font) for label in labels), default=0.0)
            wide = self.left + self.right + need / 0.94 * self.end / 72
            if wide <= _WIDEST:
                return min(20.0, max(base, wide))
        return min(20.0, base)

    def _narrowest(self, label: str, font: float) -> float:
        boxes = [_text_box(form, font) for form in _forms(label)]
        return min((wide for wide, high in boxes if high <= self.box_h_pt), default=math.inf)

    def stack(self, footer_lines: int, legend_entries: int, band_rows: Sequence[int]) -> None:
        """Decide the heights: ``band_rows`` gives each panel's rows of labels."""
        self.lanes_height = self.lanes * self.lane + 0.25
        panels = len(band_rows)
        panel = 2.1 if panels <= 2 else max(1.3, 2.1 - 0.2 * (panels - 2))
        self.data_pt = panel * 72 - labels.band_pt(1)
        """Points of a panel's height for its lines (the label rows come on top)."""
        self.panels = [(self.data_pt + labels.band_pt(rows)) / 72 for rows in band_rows]
        self.gap = 0.5
        # Title, subtitle, the legend's rows (estimated: about ten entries at most) and
        # the step numbers over the lanes.
        self.columns = max(1, int(self.width // 3.2))
        self.top = 1.0 + 0.32 * math.ceil(legend_entries / self.columns) + 0.45
        # Without panels the lanes' steps are numbered at the bottom too.
        self.bottom = 0.75 + 0.27 * footer_lines + (0.0 if panels else 0.3)
        self.height = (
            self.top
            + self.lanes_height
            + sum(self.panels)
            + self.gap * panels
            + self.bottom
            + (0.25 if panels else 0.0)
        )

    @property
    def room(self) -> labels.Room:
        """The room the anomaly labels have."""
        return labels.Room(self.axes_width * 72, self.box_pt)

    def fits(self, text: str, font: float) -> bool:
        wide, high = _text_box(text, font)
        return wide <= self.box_pt * 0.94 and high <= self.box_h_pt


def draw_run(
    result: RunResult,
    *,
    threads: Sequence[str] | None = None,
    scenario: Scenario | None = None,
    dpi: float = 100,
) -> Figure:
    """The figure of one run (see the module docstring), as a matplotlib ``Figure``."""
    if threads is None and scenario is not None:
        threads = scenario.thread_names
    picture = describe_run(result, threads=threads, scenario=scenario)
    with style():
        return _draw_picture(picture, dpi)


def _footer(picture: RunPicture, width_in: float) -> list[str]:
    """The anomalies' sentences (the first few), wrapped to the figure's width."""
    chars = int(width_in * 72 / ((FONT - 1) * 0.52))
    lines: list[str] = []
    shown = picture.marks if len(picture.marks) <= 5 else picture.marks[:4]
    for mark in shown:
        where = "at the end" if mark.step is None else f"step {mark.step}"
        kind = mark.kind.value
        said = mark.message if mark.message.startswith(kind) else f"{kind}: {mark.message}"
        lines += textwrap.wrap(f"{where} · {said}", chars, subsequent_indent="    ")
    if len(picture.marks) > len(shown):
        more = len(picture.marks) - len(shown)
        lines.append(f"… and {more:,} more anomalies (`refsim run` lists them all)")
    if not picture.finished:
        lines.append(f"stopped after {picture.steps} steps: the step budget ran out")
    return lines


def _draw_picture(picture: RunPicture, dpi: float) -> Figure:
    g = _Geometry(picture)
    footer = _footer(picture, g.width - 0.8)
    layouts = [_panel_layout(picture, s, g) for s in picture.series]
    g.stack(len(footer), _legend_entries(picture), [layout.rows for layout in layouts])
    fig = new_figure(g.width, g.height, dpi)
    H = g.height

    def rect(top_in: float, height_in: float) -> tuple[float, float, float, float]:
        return (
            g.left / g.width,
            1 - (top_in + height_in) / H,
            g.axes_width / g.width,
            height_in / H,
        )

    lanes_ax = fig.add_axes(rect(g.top, g.lanes_height), gid="lanes")
    panels: list[Axes] = []
    y = g.top + g.lanes_height + g.gap
    for s, height in zip(picture.series, g.panels, strict=True):
        panels.append(fig.add_axes(rect(y, height), sharex=lanes_ax, gid=f"panel:{s.name}"))
        y += height + g.gap
    xlim = (0.5, g.end + 0.5)
    handles = _draw_lanes(lanes_ax, picture, g, xlim)
    for ax, series, layout in zip(panels, picture.series, layouts, strict=True):
        handles += _draw_panel(ax, series, picture, g, xlim, layout)
    handles += _end_marks_in_lanes(lanes_ax, picture, g)
    _title(fig, picture, g)
    _legend(fig, handles, g)
    if footer:
        fig.text(
            0.4 / g.width, (0.2 + 0.27 * len(footer)) / H, "\n".join(footer),
            va="top", ha="left", fontsize=FONT - 1, linespacing=1.35, gid="footer",
        )  # fmt: skip
    if panels:
        panels[-1].set_xlabel("step")
    else:
        # No panel under the lanes: number the steps at the bottom too, by the label.
        lanes_ax.tick_params(axis="x", bottom=True, labelbottom=True)
        lanes_ax.set_xlabel("step")
    return fig


def _step_ticks(ax: Axes, picture: RunPicture) -> None:
    """Every step number and ``end`` (the column after the last step) when there are
    few steps, else a readable subset of the steps."""
    from matplotlib.ticker import MaxNLocator

    steps = picture.steps
    if steps <= 30:
        ticks = [*range(1, steps + 1), steps + 1]
        ax.set_xticks(ticks, [*map(str, ticks[:-1]), "end"])
    else:
        found = MaxNLocator(nbins=15, integer=True).tick_values(1, steps)
        ax.set_xticks([int(t) for t in found if 1 <= t <= steps])


def _legend_entries(picture: RunPicture) -> int:
    """How many entries the legend will have (the figure's top is sized for them)."""
    kinds = {b.micro for b in picture.boxes}
    count = sum(1 for ks, _ in CATEGORIES if kinds & set(ks)) + len(_uncategorized(picture))
    count += len({w.overlaps for w in picture.windows})
    count += any(b.bytecode_start for b in picture.boxes) + bool(picture.preemptions)
    objects = [s for s in picture.series if s.is_object]
    variables = [s for s in picture.series if not s.is_object]
    count += bool(objects) + bool(variables) + bool(objects) + bool(variables)
    count += any(s.freed_at for s in objects)
    count += bool(picture.marks) + bool(picture.blocked)
    return count


def _uncategorized(picture: RunPicture) -> list[str]:
    """The micro-step kinds drawn in the default grey (no category of their own), in
    the order they first appear."""
    return [kind for kind in dict.fromkeys(b.micro for b in picture.boxes) if kind not in COLOUR]


def _lane_y(picture: RunPicture) -> dict[str, float]:
    names = list(picture.threads) + list(picture.holder_lanes)
    return {name: float(len(names) - 1 - i) for i, name in enumerate(names)}


def _draw_lanes(
    ax: Axes, picture: RunPicture, g: _Geometry, xlim: tuple[float, float]
) -> list[tuple[Any, str]]:
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    ys = _lane_y(picture)
    n = len(ys)
    handles: list[tuple[Any, str]] = []
    ax.set_xlim(*xlim)
    ax.set_ylim(-0.55, n - 0.45)
    ax.set_yticks([ys[name] for name in ys], list(ys))
    for label in ax.get_yticklabels():
        if label.get_text() in picture.threads:
            label.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.spines[["left", "bottom"]].set_visible(False)
    ax.xaxis.tick_top()
    _step_ticks(ax, picture)
    ax.spines["top"].set_visible(True)
    ax.spines["top"].set_color("#999999")
    box_h = 0.56
    gap = 0.05 if g.box_pt >= 10 else 0.0
    sparse = g.box_pt >= 4

    # Separate the thread lanes from the GIL and lock lanes.
    if picture.holder_lanes:
        ax.axhline(len(picture.holder_lanes) - 0.5, color="#999999", lw=1, zorder=0)

    # Race windows first, so the boxes sit on top of them.
    for overlaps, (colour, alpha), gid, name in (
        (False, WINDOW, "windows", "race window (LOAD … STORE)"),
        (True, RACE, "overlapping-windows", "race windows that overlap"),
    ):
        rects = [
            Rectangle((w.start - 0.5, ys[w.thread] - 0.43), w.end - w.start + 1, 0.86)
            for w in picture.windows
            if w.overlaps is overlaps
        ]
        if rects:
            ax.add_collection(
                PatchCollection(rects, facecolor=colour, alpha=alpha, edgecolor="none",
                                zorder=1, gid=gid)
            )  # fmt: skip
            handles.append((Patch(facecolor=colour, alpha=alpha), name))

    handles += _draw_blocked(ax, picture, g, ys, xlim)
    anomaly_steps = {m.step for m in picture.marks if m.step is not None}
    # Outline the boxes where anomalies happened, unless they would be a smear.
    outline = sparse and len(anomaly_steps) * 3 <= g.axes_width * 72 / g.box_pt
    by_thread: dict[str, list[Step]] = {t: [] for t in picture.threads}
    for box in picture.boxes:
        by_thread[box.thread].append(box)
    kinds_seen: set[str] = set()
    abbreviated: set[str] = set()
    fitted = _fitted(picture.boxes, g)
    starts: list[list[tuple[float, float]]] = []
    for thread, boxes in by_thread.items():
        if not boxes:
            continue
        yc = ys[thread]
        ax.broken_barh(
            [(b.step - 0.5 + gap / 2, 1 - gap) for b in boxes],
            (yc - box_h / 2, box_h),
            facecolors=[COLOUR.get(b.micro, GREY) for b in boxes],
            edgecolors=["#444444" if sparse else "none" for b in boxes],
            linewidths=0.6 if sparse else 0.0,
            zorder=2,
            gid=f"boxes:{thread}",
        )
        kinds_seen.update(b.micro for b in boxes)
        for b in boxes:
            if b.bytecode_start and sparse:
                x = b.step - 0.5 + gap / 2
                starts.append([(x, yc - box_h / 2 - 0.08), (x, yc + box_h / 2 + 0.08)])
            if outline and b.step in anomaly_steps and b.thread == _actor(picture, b.step):
                ax.add_patch(
                    Rectangle((b.step - 0.5 + gap / 2, yc - box_h / 2), 1 - gap, box_h,
                              fill=False, edgecolor=VERMILLION, lw=3, zorder=4,
                              gid="anomaly-box")
                )  # fmt: skip
            written = _written(b.label, fitted[b.micro][0]) if b.micro in fitted else None
            if written is not None:
                form, size = fitted[b.micro]
                ax.text(
                    b.step, yc, written, ha="center", va="center",
                    fontsize=size, zorder=5, gid="box-label", linespacing=1.1,
                )  # fmt: skip
                if form >= 2:
                    abbreviated.add(b.micro)
    if starts:
        ax.add_collection(
            LineCollection(starts, colors="black", linewidths=3.2, zorder=3,
                           gid="bytecode-starts", capstyle="butt")
        )  # fmt: skip
        handles.append(
            (Line2D([], [], color="black", lw=3.2, marker="|", ls="none", ms=16, mew=3.2),
             "bytecode starts")
        )  # fmt: skip
    for kinds, colour in CATEGORIES:
        present = [f"{k} ({SHORT[k]})" if k in abbreviated else k for k in kinds if k in kinds_seen]
        if present:
            handles.append((Patch(facecolor=colour, edgecolor="#444444"), " / ".join(present)))
    # The grey kinds (the waits, free-threaded's local and shared counts...) each get an
    # entry of their own: a reader meets LDL or MERGE nowhere else.
    for kind in _uncategorized(picture):
        named = f"{kind} ({SHORT[kind]})" if kind in abbreviated else kind
        handles.append((Patch(facecolor=GREY, edgecolor="#444444"), named))

    # GIL and lock lanes: one bar per stretch a thread holds it, named if it fits.
    colour_of = {t: HOLDERS[i % len(HOLDERS)] for i, t in enumerate(picture.threads)}
    for lane in picture.holder_lanes:
        spans = [h for h in picture.holdings if h.lane == lane]
        yc = ys[lane]
        # Never released: through the end column to the edge, and said in its label.
        bars = [(h.start - 0.5, (xlim[1] if h.to_end else h.end + 0.5)) for h in spans]
        ax.broken_barh(
            [(left, right - left) for left, right in bars],
            (yc - box_h / 2, box_h),
            facecolors=[colour_of.get(h.holder, GREY) for h in spans],
            edgecolors="white", linewidths=1.5 if sparse else 0.0, zorder=2,
            gid=f"holdings:{lane}",
        )  # fmt: skip
        for h, (left, right) in zip(spans, bars, strict=True):
            width_pt = (right - left) * g.box_pt
            for text in [f"{h.holder}, never released", h.holder] if h.to_end else [h.holder]:
                if text_width(text, BOX_FONT) * 1.03 + 8 <= width_pt:
                    ax.text((left + right) / 2, yc, text, ha="center", va="center",
                            fontsize=BOX_FONT, zorder=5, gid="holder-label")  # fmt: skip
                    break

    # Preemptions: a downward triangle over the lane of the thread that was switched away
    # from, at the boundary where it happened. Too many to tell apart: none, and say so.
    room = g.axes_width * 72 / 9
    if picture.preemptions and len(picture.preemptions) <= room:
        xs = [s - 0.5 for s, _, _ in picture.preemptions]
        yv = [ys[was] + 0.5 for _, was, _ in picture.preemptions]
        ax.plot(xs, yv, ls="none", marker="v", ms=11, color=VERMILLION, mec="white",
                mew=0.8, zorder=6, clip_on=False, gid="preemptions")  # fmt: skip
        handles.append(
            (Line2D([], [], ls="none", marker="v", ms=11, color=VERMILLION),
             "preemption")
        )  # fmt: skip
    return handles


BLOCKED = (PURPLE, 0.3)
"""The blocked stretches' fill: the colour of the timed figure's blocked state, paler."""


def _draw_blocked(
    ax: Axes, picture: RunPicture, g: _Geometry, ys: dict[str, float],
    xlim: tuple[float, float],
) -> list[tuple[Any, str]]:  # fmt: skip
    """Behind a thread's lane, each stretch in which it was blocked: hatched, and saying
    on what (``blocked on lock L``) along its bottom where that fits."""
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch, Rectangle

    if not picture.blocked:
        return []
    colour, alpha = BLOCKED
    spans = [
        (b, b.start - 0.5, xlim[1] if b.end > picture.steps else b.end + 0.5)
        for b in picture.blocked
    ]
    rects = [Rectangle((left, ys[b.thread] - 0.43), right - left, 0.86) for b, left, right in spans]
    ax.add_collection(
        PatchCollection(rects, facecolor=(*to_rgb(colour), alpha), edgecolor=colour,
                        hatch="//", linewidth=0, zorder=1, gid="blocked")
    )  # fmt: skip
    font = FONT - 3
    for b, left, right in spans:
        width_pt = (right - left) * g.box_pt
        for text in ([f"blocked on {b.on}"] if b.on else []) + ["blocked"]:
            if text_width(text, font, italic=True) * 1.03 + 6 <= width_pt:
                ax.text((left + right) / 2, ys[b.thread] - 0.41, text, ha="center",
                        va="bottom", fontsize=font, style="italic", color="#5A2A4A",
                        zorder=5, gid="blocked-label",
                        bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                              "alpha": 0.8})  # fmt: skip
                break
    return [(Patch(facecolor=(*to_rgb(colour), alpha), edgecolor=colour, hatch="//", lw=0),
             "blocked (waits for another thread)")]  # fmt: skip


def _actor(picture: RunPicture, step: int) -> str:
    return picture.boxes[step - 1].thread


def _fitted(boxes: Sequence[Step], g: _Geometry) -> dict[str, tuple[int, float]]:
    """For each micro-step kind, how all its boxes are written: the first candidate
    (:func:`_candidates`) in which every box of the kind fits, so that one kind is
    abbreviated alike everywhere. A kind with none is left without text."""
    labels: dict[str, set[str]] = {}
    for b in boxes:
        labels.setdefault(b.micro, set()).add(b.label)
    chosen = {}
    for micro, texts in labels.items():
        for form, size in _candidates(micro):
            written = [_written(label, form) for label in texts]
            if all(w is not None and g.fits(w, size) for w in written):
                chosen[micro] = (form, size)
                break
    return chosen


def _value_at(points: Sequence[tuple[int, int]], step: float) -> int:
    value = points[0][1]
    for s, v in points:
        if s <= step:
            value = v
        else:
            break
    return value


def _steps_xy(points: Sequence[tuple[int, int]], end: float) -> tuple[list[float], list[int]]:
    xs = [s + 0.5 for s, _ in points] + [end]
    vs = [v for _, v in points] + [points[-1][1]]
    return xs, vs


def _draw_panel(
    ax: Axes,
    series: Series,
    picture: RunPicture,
    g: _Geometry,
    xlim: tuple[float, float],
    layout: labels.Layout,
) -> list[tuple[Any, str]]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    handles: list[tuple[Any, str]] = []
    end = xlim[1]
    kind = "object" if series.is_object else "variable"
    ax.set_title(f"{series.name} ({kind})", pad=6)
    everything: list[int] = []
    if series.values:  # a tracing collector's object has no count: only its true refs
        xs, vs = _steps_xy(series.values, end)
        ax.plot(xs, vs, drawstyle="steps-post", color=BLUE, lw=3, zorder=3, gid="value-line",
                solid_joinstyle="miter")  # fmt: skip
        label = "refcount" if series.is_object else "value"
        handles.append((Line2D([], [], color=BLUE, lw=3), label))
        everything += vs
    # The dashed line is what the solid one should be: the true refs of an object, the
    # intended value of a variable (every update applied); where they part, one was lost.
    for shadow, gid, name in (
        (series.true_refs, "true-refs-line", "true refs"),
        (series.intended, "intended-line", "intended value (every update applied)"),
    ):
        if not shadow:
            continue
        txs, tvs = _steps_xy(shadow, end)
        ax.plot(txs, tvs, drawstyle="steps-post", color=ORANGE, lw=2.6, ls=(0, (4, 2.5)),
                zorder=4, gid=gid)  # fmt: skip
        handles.append((Line2D([], [], color=ORANGE, lw=2.6, ls=(0, (4, 2.5))), name))
        everything += tvs
    # Free-threaded: the refcount is the sum of two counts; draw both, thinner.
    for part, gid, name, colour, dashes in (
        (series.local, "local-line", "local count (the owner's)", GREEN, (0, (1, 1.5))),
        (series.shared, "shared-line", "shared count (atomic)", PURPLE, (0, (5, 1.5, 1, 1.5))),
    ):
        if not part:
            continue
        pxs, pvs = _steps_xy(part, end)
        ax.plot(pxs, pvs, drawstyle="steps-post", color=colour, lw=1.8, ls=dashes, zorder=5,
                gid=gid)  # fmt: skip
        handles.append((Line2D([], [], color=colour, lw=1.8, ls=dashes), name))
        everything += pvs
    # The lines below, the rows of labels above them (so a label never sits on a line).
    low, high = min([0, *everything]) - 0.45, max(everything) + 0.45
    per_pt = (high - low) / g.data_pt
    ax.set_ylim(low, low + (g.data_pt + labels.band_pt(layout.rows)) * per_pt)
    found = MaxNLocator(integer=True, nbins=5).tick_values(low, high)
    ax.set_yticks([int(t) for t in found if low <= t <= high])
    # Both lines are counts: the refcount word and the true refs.
    ax.set_ylabel("count" if series.is_object else "value")
    ax.set_xlim(*xlim)
    _step_ticks(ax, picture)
    ax.tick_params(axis="x", labelbottom=True)
    if picture.steps <= 60:
        for s in range(1, picture.steps):
            ax.axvline(s + 0.5, color="#DDDDDD", lw=0.7, zorder=0)
    if series.freed_at is not None:
        ax.axvspan(series.freed_at + 0.5, end, facecolor="#000000", alpha=0.10, hatch="//",
                   edgecolor="#777777", lw=0, zorder=1, gid=f"freed:{series.name}")  # fmt: skip
        handles.append((Patch(facecolor="#000000", alpha=0.10, hatch="//"), "freed"))
    line = series.values or series.true_refs
    points = [(x, float(_value_at(line, x - 0.5))) for x, _, _ in layout.found]
    gid = f"anomalies:{series.name}"
    labels.draw_marks(ax, points, layout, g.room, gid, high + 3 * per_pt, per_pt)
    if layout.found:
        handles.append(_anomaly_handle())
    return handles


def _mark_x(mark: Mark, g: _Geometry) -> float:
    return float(mark.step) if mark.step is not None else g.end_x


def _anomaly_handle() -> tuple[Any, str]:
    from matplotlib.lines import Line2D

    return (Line2D([], [], ls="none", marker="X", ms=12, color=VERMILLION, mec="white"), "anomaly")


def _end_marks_in_lanes(ax: Axes, picture: RunPicture, g: _Geometry) -> list[tuple[Any, str]]:
    """Anomalies with no panel (a deadlock; an anomaly on a lock): marked in the lanes of
    the threads involved."""
    panels = {s.name for s in picture.series}
    marks = [(i, m) for i, m in enumerate(picture.marks) if m.subject not in panels]
    if not marks:
        return []
    ys = _lane_y(picture)
    # One marker per (mark, thread): a deadlock shows in every blocked thread's lane.
    found: list[tuple[float, int, AnomalyKind]] = []
    points: list[tuple[float, float]] = []
    for i, m in marks:
        for t in m.threads or picture.threads[:1]:
            found.append((_mark_x(m, g), i, m.kind))
            points.append((_mark_x(m, g), ys[t]))
    layout = labels.layout(found, g.room)
    low, high = ax.get_ylim()
    per_pt = (high - low) / (g.lanes_height * 72)
    top = max(y for _, y in points)
    labels.draw_marks(ax, points, layout, g.room, "anomalies:lanes", top + 10 * per_pt, per_pt)
    if any(m.step is None for _, m in marks):
        ax.axvline(picture.steps + 0.5, color=VERMILLION, lw=1, ls=":", zorder=1)
    return [_anomaly_handle()]


def _panel_layout(picture: RunPicture, series: Series, g: _Geometry) -> labels.Layout:
    """Where the labels of ``series``'s panel go (its anomalies and the ``freed`` note)."""
    marks = enumerate(picture.marks)
    found = [(_mark_x(m, g), i, m.kind) for i, m in marks if m.subject == series.name]
    note = None
    if series.freed_at is not None:
        freed = labels.Label(("freed",), (), labels.label_width("freed", italic=True))
        note = (freed, series.freed_at + 0.5)
    return labels.layout(found, g.room, note)


def _title(fig: Figure, picture: RunPicture, g: _Geometry) -> None:
    n = picture.steps
    p = len(picture.preemptions)
    schedule = picture.schedule
    if len(schedule) > 90:
        schedule = schedule[:88].rsplit(" ", 1)[0] + " …"
    fig.text(0.4 / g.width, 1 - 0.16 / g.height,
             f"{picture.scenario}  ·  runtime {picture.runtime}", fontsize=FONT + 5,
             fontweight="bold", va="top", gid="title")  # fmt: skip
    steps = f"{n:,} step{'s' if n != 1 else ''}, {p:,} preemption{'s' if p != 1 else ''}"
    fig.text(0.4 / g.width, 1 - 0.55 / g.height, f"schedule {schedule}  ·  {steps}",
             fontsize=FONT, va="top", color="#333333", gid="subtitle")  # fmt: skip


def _legend(fig: Figure, handles: list[tuple[Any, str]], g: _Geometry) -> None:
    seen: dict[str, Any] = {}
    for handle, label in handles:
        seen.setdefault(label, handle)
    fig.legend(
        list(seen.values()), list(seen), loc="upper left", ncols=g.columns, frameon=False,
        bbox_to_anchor=(0.35 / g.width, 1 - 0.9 / g.height), handlelength=1.6,
        columnspacing=1.4, borderaxespad=0,
    )  # fmt: skip


def summarize_run(fig: Figure) -> RunFigure:
    """Count what a run's figure (from :func:`draw_run`) shows, by its artists' gids."""
    import numpy as np
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon, Rectangle
    from matplotlib.text import Text

    lanes_ax = next(ax for ax in fig.axes if ax.get_gid() == "lanes")
    panels = [ax for ax in fig.axes if str(ax.get_gid()).startswith("panel:")]
    lanes = tuple(t.get_text() for t in lanes_ax.get_yticklabels())

    def collections(ax: Axes, prefix: str) -> list[Collection]:
        return [c for c in ax.collections if str(c.get_gid()).startswith(prefix)]

    def count(ax: Axes, prefix: str) -> int:
        return sum(len(c.get_paths()) for c in collections(ax, prefix))

    def texts(ax: Axes, gid: str) -> list[str]:
        return [t.get_text() for t in ax.texts if isinstance(t, Text) and t.get_gid() == gid]

    freed = []
    anomalies: list[tuple[str, float]] = []
    labels: list[str] = texts(lanes_ax, "anomaly-label")
    for c in collections(lanes_ax, "anomalies:"):
        anomalies += [("lanes", float(x)) for x in np.asarray(c.get_offsets())[:, 0]]
    for ax in panels:
        name = str(ax.get_gid()).removeprefix("panel:")
        for patch in ax.patches:
            if patch.get_gid() != f"freed:{name}":
                continue
            if isinstance(patch, Rectangle):  # what axvspan makes since matplotlib 3.9
                freed.append((name, patch.get_x(), patch.get_x() + patch.get_width()))
            elif isinstance(patch, Polygon):
                xs = np.asarray(patch.get_xy())[:, 0]
                freed.append((name, float(xs.min()), float(xs.max())))
        for c in collections(ax, "anomalies:"):
            anomalies += [(name, float(x)) for x in np.asarray(c.get_offsets())[:, 0]]
        labels += texts(ax, "anomaly-label")
    preemptions = sum(
        len(np.asarray(line.get_xdata()))
        for line in lanes_ax.lines
        if isinstance(line, Line2D) and line.get_gid() == "preemptions"
    )
    ys = dict(zip(lanes_ax.get_yticks(), lanes, strict=True))
    blocked = []
    for c in collections(lanes_ax, "blocked"):
        for path in c.get_paths():
            corners = np.asarray(c.get_transform().transform(path.vertices))
            corners = lanes_ax.transData.inverted().transform(corners)
            y = float(np.round(corners[:, 1].mean()))
            blocked.append((ys[y], float(corners[:, 0].min()), float(corners[:, 0].max())))
    said = sorted(
        (t for t in lanes_ax.texts if t.get_gid() in ("holder-label", "blocked-label")),
        key=lambda t: (-round(t.get_position()[1]), t.get_position()[0]),
    )
    return RunFigure(
        lanes=lanes,
        boxes=count(lanes_ax, "boxes:"),
        box_labels=len(texts(lanes_ax, "box-label")),
        bytecode_starts=count(lanes_ax, "bytecode-starts"),
        windows=count(lanes_ax, "windows") + count(lanes_ax, "overlapping-windows"),
        overlapping_windows=count(lanes_ax, "overlapping-windows"),
        preemptions=preemptions,
        holdings=count(lanes_ax, "holdings:"),
        panels=tuple(str(ax.get_gid()).removeprefix("panel:") for ax in panels),
        freed=tuple(freed),
        anomalies=tuple(sorted(anomalies)),
        anomaly_labels=tuple(labels),
        x_range=(float(lanes_ax.get_xlim()[0]), float(lanes_ax.get_xlim()[1])),
        y_labels=tuple(ax.get_ylabel() for ax in panels),
        blocked=tuple(sorted(blocked, key=lambda b: (lanes.index(b[0]), b[1]))),
        lane_labels=tuple(t.get_text() for t in said),
        legend=tuple(t.get_text() for t in fig.legends[0].get_texts()),
    )

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

from refsim.model import AnomalyKind
from refsim.plot.picture import Mark, RunPicture, Series, Step, describe_run, short_label
from refsim.plot.style import (
    BLUE,
    BOX_FONT,
    CATEGORIES,
    CHAR,
    COLOUR,
    FONT,
    FORMATS,
    GREY,
    HOLDERS,
    ORANGE,
    VERMILLION,
    new_figure,
    save_figure,
    style,
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
    """The marker labels drawn (thinned when they would overlap)."""


def plot_run(
    result: RunResult,
    path: str | Path,
    *,
    threads: Sequence[str] | None = None,
    dpi: float = 100,
) -> RunFigure:
    """Draw ``result`` and write it to ``path`` (PNG, SVG or PDF by suffix)."""
    if Path(path).suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: a figure must end in {', '.join(FORMATS)}")
    fig = draw_run(result, threads=threads, dpi=dpi)
    save_figure(fig, path)
    return summarize_run(fig)


class _Geometry:
    """Sizes in inches, decided from the picture before anything is drawn."""

    def __init__(self, picture: RunPicture, footer_lines: int, legend_entries: int) -> None:
        n = max(picture.steps, 1)
        lanes = len(picture.threads) + len(picture.holder_lanes)
        at_end = any(m.step is None for m in picture.marks) or any(
            s.freed_at == n for s in picture.series
        )
        # Room after the last step for what is judged at the end, or an object freed there.
        self.end = n + (1.2 if at_end else 0.0)
        self.width = min(20.0, max(11.0, 2.4 + 0.62 * self.end))
        self.left, self.right = 1.3, 0.35
        self.axes_width = self.width - self.left - self.right
        self.lane = 0.75 if lanes <= 4 else max(0.34, 0.75 - 0.035 * (lanes - 4))
        self.lanes_height = lanes * self.lane + 0.25
        panels = len(picture.series)
        self.panel = 2.1 if panels <= 2 else max(1.3, 2.1 - 0.2 * (panels - 2))
        self.gap = 0.5
        # Title, subtitle, the legend's rows (estimated: about ten entries at most) and
        # the step numbers over the lanes.
        self.columns = max(1, int(self.width // 3.2))
        self.top = 1.0 + 0.32 * math.ceil(legend_entries / self.columns) + 0.45
        self.bottom = 0.75 + 0.27 * footer_lines
        self.height = (
            self.top
            + self.lanes_height
            + panels * (self.panel + self.gap)
            + self.bottom
            + (0.25 if panels else 0.0)
        )
        self.box_pt = self.axes_width * 72 / (self.end + 0.0)

    def fits(self, text: str, font: float, box_height_pt: float) -> bool:
        lines = text.split("\n")
        wide = max(len(line) for line in lines) * CHAR * font + 4
        high = len(lines) * font * 1.25
        return wide <= self.box_pt * 0.94 and high <= box_height_pt


def draw_run(
    result: RunResult, *, threads: Sequence[str] | None = None, dpi: float = 100
) -> Figure:
    """The figure of one run (see the module docstring), as a matplotlib ``Figure``."""
    picture = describe_run(result, threads=threads)
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
    probe = _Geometry(picture, 0, 0)
    footer = _footer(picture, probe.width - 0.8)
    g = _Geometry(picture, len(footer), _legend_entries(picture))
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
    for s in picture.series:
        panels.append(fig.add_axes(rect(y, g.panel), sharex=lanes_ax, gid=f"panel:{s.name}"))
        y += g.panel + g.gap
    xlim = (0.5, g.end + 0.5)
    handles = _draw_lanes(lanes_ax, picture, g, xlim)
    for ax, series in zip(panels, picture.series, strict=True):
        handles += _draw_panel(ax, series, picture, g, xlim)
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
        lanes_ax.set_xlabel("step")
    return fig


def _step_ticks(ax: Axes, picture: RunPicture) -> None:
    """Every step number when there are few (and ``end`` where what is judged at the end
    is marked), else a readable subset."""
    from matplotlib.ticker import MaxNLocator

    steps = picture.steps
    if steps <= 30:
        ticks = list(range(1, steps + 1))
        labels = [str(t) for t in ticks]
        if any(m.step is None for m in picture.marks):
            ticks.append(steps + 1)
            labels.append("end")
        ax.set_xticks(ticks, labels)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=15, integer=True))


def _legend_entries(picture: RunPicture) -> int:
    """How many entries the legend will have (the figure's top is sized for them)."""
    kinds = {b.micro for b in picture.boxes}
    count = sum(1 for ks, _ in CATEGORIES if kinds & set(ks))
    count += len({w.overlaps for w in picture.windows})
    count += any(b.bytecode_start for b in picture.boxes) + bool(picture.preemptions)
    objects = [s for s in picture.series if s.is_object]
    count += bool(picture.series) + bool(objects) + any(s.freed_at for s in objects)
    count += bool(picture.marks)
    return count


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
    box_h_pt = box_h * g.lane * 72
    gap = 0.05 if g.box_pt >= 10 else 0.0
    sparse = g.box_pt >= 4

    # Separate the thread lanes from the GIL and lock lanes.
    if picture.holder_lanes:
        ax.axhline(len(picture.holder_lanes) - 0.5, color="#999999", lw=1, zorder=0)

    # Race windows first, so the boxes sit on top of them.
    for overlaps, colour, alpha, gid, name in (
        (False, "#888888", 0.22, "windows", "race window (LOAD … STORE)"),
        (True, VERMILLION, 0.28, "overlapping-windows", "race windows that overlap"),
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

    anomaly_steps = {m.step for m in picture.marks if m.step is not None}
    # Outline the boxes where anomalies happened, unless they would be a smear.
    outline = sparse and len(anomaly_steps) * 3 <= g.axes_width * 72 / g.box_pt
    by_thread: dict[str, list[Step]] = {t: [] for t in picture.threads}
    for box in picture.boxes:
        by_thread[box.thread].append(box)
    kinds_seen: set[str] = set()
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
            text, size = _fit_label(b.label, g, box_h_pt)
            if text:
                ax.text(
                    b.step, yc, text, ha="center", va="center", fontsize=size,
                    zorder=5, gid="box-label", linespacing=1.1,
                )  # fmt: skip
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
        present = [k for k in kinds if k in kinds_seen]
        if present:
            handles.append((Patch(facecolor=colour, edgecolor="#444444"), " / ".join(present)))

    # GIL and lock lanes: one bar per stretch a thread holds it, named if it fits.
    colour_of = {t: HOLDERS[i % len(HOLDERS)] for i, t in enumerate(picture.threads)}
    for lane in picture.holder_lanes:
        spans = [h for h in picture.holdings if h.lane == lane]
        yc = ys[lane]
        ax.broken_barh(
            [(h.start - 0.5, h.end - h.start + 1) for h in spans],
            (yc - box_h / 2, box_h),
            facecolors=[colour_of.get(h.holder, GREY) for h in spans],
            edgecolors="white", linewidths=1.5 if sparse else 0.0, zorder=2,
            gid=f"holdings:{lane}",
        )  # fmt: skip
        for h in spans:
            width_pt = (h.end - h.start + 1) * g.box_pt
            if len(h.holder) * CHAR * BOX_FONT + 6 <= width_pt:
                ax.text((h.start + h.end) / 2, yc, h.holder, ha="center", va="center",
                        fontsize=BOX_FONT, zorder=5, gid="holder-label")  # fmt: skip

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


def _actor(picture: RunPicture, step: int) -> str:
    return picture.boxes[step - 1].thread


def _fit_label(label: str, g: _Geometry, box_h_pt: float) -> tuple[str, float]:
    """The label and its font size: on one line or two, a size smaller, or just its
    value, or nothing (``""``) when the box is too small for any of these."""
    head, _, tail = label.partition(" ")
    tries = [label, f"{head}\n{tail}"] if tail else [label]
    for size in (BOX_FONT, BOX_FONT - 2.5):
        for text in tries:
            if g.fits(text, size, box_h_pt):
                return text, size
    if tail and g.fits(tail, BOX_FONT - 2.5, box_h_pt):
        return tail, BOX_FONT - 2.5
    return "", BOX_FONT


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
    ax: Axes, series: Series, picture: RunPicture, g: _Geometry, xlim: tuple[float, float]
) -> list[tuple[Any, str]]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    handles: list[tuple[Any, str]] = []
    end = xlim[1]
    kind = "object" if series.is_object else "variable"
    ax.set_title(f"{series.name} ({kind})", pad=6)
    xs, vs = _steps_xy(series.values, end)
    word = "refcount" if series.is_object else "value"
    ax.plot(xs, vs, drawstyle="steps-post", color=BLUE, lw=3, zorder=3, gid="value-line",
            solid_joinstyle="miter")  # fmt: skip
    handles.append((Line2D([], [], color=BLUE, lw=3), "refcount" if series.is_object else "value"))
    everything = list(vs)
    if series.true_refs:
        txs, tvs = _steps_xy(series.true_refs, end)
        ax.plot(txs, tvs, drawstyle="steps-post", color=ORANGE, lw=2.6, ls=(0, (4, 2.5)),
                zorder=4, gid="true-refs-line")  # fmt: skip
        handles.append((Line2D([], [], color=ORANGE, lw=2.6, ls=(0, (4, 2.5))), "true refs"))
        everything += tvs
    low, high = min([0, *everything]), max(everything)
    ax.set_ylim(low - 0.45, high + 1.35)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.set_ylabel(word)
    ax.set_xlim(*xlim)
    _step_ticks(ax, picture)
    ax.tick_params(axis="x", labelbottom=True)
    if picture.steps <= 60:
        for s in range(1, picture.steps):
            ax.axvline(s + 0.5, color="#DDDDDD", lw=0.7, zorder=0)
    if series.freed_at is not None:
        ax.axvspan(series.freed_at + 0.5, end, facecolor="#000000", alpha=0.10, hatch="//",
                   edgecolor="#777777", lw=0, zorder=1, gid=f"freed:{series.name}")  # fmt: skip
        ax.text(series.freed_at + 0.6, high + 1.2, " freed", va="top", ha="left",
                fontsize=FONT - 1, color="#333333", style="italic", zorder=5)  # fmt: skip
        handles.append((Patch(facecolor="#000000", alpha=0.10, hatch="//"), "freed"))
    marks = [m for m in picture.marks if m.subject == series.name]
    if marks:
        points = [
            (_mark_x(m, picture), float(_value_at(series.values, _mark_x(m, picture) - 0.5)))
            for m in marks
        ]
        _draw_marks(ax, marks, points, g, f"anomalies:{series.name}", g.panel * 72)
        handles.append(_anomaly_handle())
    return handles


def _mark_x(mark: Mark, picture: RunPicture) -> float:
    return float(mark.step) if mark.step is not None else picture.steps + 1.0


def _anomaly_handle() -> tuple[Any, str]:
    from matplotlib.lines import Line2D

    return (Line2D([], [], ls="none", marker="X", ms=12, color=VERMILLION, mec="white"), "anomaly")


def _draw_marks(
    ax: Axes,
    marks: Sequence[Mark],
    points: Sequence[tuple[float, float]],
    g: _Geometry,
    gid: str,
    height_pt: float,
) -> None:
    """A marker at every anomaly, and labels that never overlap one another.

    Few anomalies: each is labelled just above its marker, or higher up with a leader
    line, or not at all when every place is taken (its marker stays; the footer and
    ``refsim run`` give every one). Many: only the first of each kind is labelled, with
    how many there are.
    """
    width_pt = g.axes_width * 72
    many = len(marks) > max(8.0, width_pt / 90)
    low, high = ax.get_ylim()
    if len(marks) > width_pt / 8:
        # Too many to tell apart: a rug of ticks along the bottom, one per anomaly.
        rug = low + 0.06 * (high - low)
        points = [(x, rug) for x, _ in points]
        ax.scatter([x for x, _ in points], [y for _, y in points], marker="|", s=120,
                   linewidths=1.2, color=VERMILLION, alpha=0.7, zorder=6, gid=gid)  # fmt: skip
    else:
        ax.scatter([x for x, _ in points], [y for _, y in points], marker="X",
                   s=60 if many else 150, color=VERMILLION, edgecolors="white",
                   linewidths=1, zorder=6, gid=gid, clip_on=False)  # fmt: skip
    size = FONT - 1
    counts: dict[AnomalyKind, int] = {}
    first: dict[AnomalyKind, int] = {}
    for i, m in enumerate(marks):
        first.setdefault(m.kind, i)
        counts[m.kind] = counts.get(m.kind, 0) + 1
    if many:
        order = sorted(first.values())
    else:
        order = sorted(range(len(marks)), key=lambda i: (first[marks[i].kind] != i, i))
    taken: list[tuple[float, float, float, float]] = []  # label boxes, in points
    done: set[tuple[str, float]] = set()
    for i in order:
        kind = marks[i].kind
        text = short_label(kind) + (f" ×{counts[kind]:,}" if many and counts[kind] > 1 else "")
        x, yv = points[i]
        if (text, x) in done:  # a deadlock marks each blocked thread; one label says it
            continue
        done.add((text, x))
        cx = (x - 0.5) * g.box_pt
        cy = (yv - low) / (high - low) * height_pt
        half = (len(text) * CHAR * size + 8) / 2
        # Keep the label inside the axes' width: shift it off an edge.
        dx = max(0.0, half - cx) - max(0.0, cx + half - width_pt)
        for offset in (12.0, 30.0, 48.0, -34.0):
            box = (cx + dx - half, cx + dx + half, cy + offset, cy + offset + size * 1.35)
            if any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3]
                   for b in taken):  # fmt: skip
                continue
            taken.append(box)
            near = offset == 12.0
            ax.annotate(
                text, (x, yv), xytext=(dx, offset), textcoords="offset points",
                ha="center", va="bottom", fontsize=size, color=VERMILLION,
                fontweight="bold", zorder=7, gid="anomaly-label", annotation_clip=False,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                      "alpha": 0.85},
                arrowprops=None if near else
                {"arrowstyle": "-", "color": VERMILLION, "lw": 0.8, "shrinkA": 0,
                 "shrinkB": 6},
            )  # fmt: skip
            break


def _end_marks_in_lanes(ax: Axes, picture: RunPicture, g: _Geometry) -> list[tuple[Any, str]]:
    """Anomalies with no panel (a deadlock; an anomaly on a lock): marked in the lanes of
    the threads involved."""
    panels = {s.name for s in picture.series}
    marks = [m for m in picture.marks if m.subject not in panels]
    if not marks:
        return []
    ys = _lane_y(picture)
    # One marker per (mark, thread): a deadlock shows in every blocked thread's lane.
    shown: list[Mark] = []
    points: list[tuple[float, float]] = []
    for m in marks:
        for t in m.threads or picture.threads[:1]:
            shown.append(m)
            points.append((_mark_x(m, picture), ys[t]))
    _draw_marks(ax, shown, points, g, "anomalies:lanes", g.lanes_height * 72)
    if any(m.step is None for m in marks):
        ax.axvline(picture.steps + 0.5, color=VERMILLION, lw=1, ls=":", zorder=1)
    return [_anomaly_handle()]


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
    )

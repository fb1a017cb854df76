"""The anomaly labels of a run figure: rows of labels over the markers, each with a leader
down to its markers, never overlapping one another nor another label's leader.

Split from :mod:`refsim.plot.run_figure`, which decides the figure's geometry and draws
the rest: this module only needs the room it is given (:class:`Room`), so the placing
can be read, and tested, on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from refsim.model import AnomalyKind
from refsim.plot.picture import short_label
from refsim.plot.style import FONT, VERMILLION, text_width

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Label", "Layout", "Room", "band_pt", "draw_marks", "label_width", "layout"]


@dataclass(frozen=True, slots=True)
class Room:
    """Where labels go: the axes' width and one step's width, in points."""

    width_pt: float
    box_pt: float


LABEL_FONT = FONT - 1
ROW = 20.0
"""Points per row of labels: a line of bold text in its white box, and a gap."""
MAX_ROWS = 4
GAP = 6.0
"""Points between two labels side by side, and from a label's end to its marker."""
PAD = 0.15
"""The white box around a label, in ems."""


def band_pt(rows: int) -> float:
    """The height, in points, of ``rows`` rows of labels over a panel's lines."""
    return 3 + max(rows, 1) * ROW + 2


@dataclass(frozen=True, slots=True)
class Label:
    """Text to place in the rows of labels: the label of one or more anomaly markers
    (at ``xs``, in steps), or the ``freed`` note (no markers)."""

    lines: tuple[str, ...]
    xs: tuple[float, ...]
    width: float
    """Points: its widest line, with the white box around it."""


@dataclass(frozen=True, slots=True)
class Placed:
    """A label in its place: from ``left`` (points from the axes' left edge), in the rows
    from ``row`` up (one per line)."""

    label: Label
    left: float
    row: int

    @property
    def right(self) -> float:
        return self.left + self.label.width

    @property
    def top(self) -> int:
        return self.row + len(self.label.lines)


@dataclass(frozen=True, slots=True)
class Layout:
    """One axes' anomaly markers ``(x, which anomaly, kind)`` and their placed labels."""

    found: tuple[tuple[float, int, AnomalyKind], ...]
    placed: tuple[Placed, ...]
    rug: bool
    """Too many markers to tell apart: a rug of ticks instead."""
    many: bool
    """Too many to label each: one label per kind, with its count, and small markers."""

    @property
    def rows(self) -> int:
        return max((p.top for p in self.placed), default=1)


def label_width(text: str, *, italic: bool = False) -> float:
    # Agg hints glyphs a little wider than their outlines: 3 % and a point or two more.
    measured = text_width(text, LABEL_FONT, bold=not italic, italic=italic)
    return measured * 1.03 + 2 * PAD * LABEL_FONT + 2


def _label(counts: Sequence[tuple[AnomalyKind, int]], xs: Sequence[float]) -> Label:
    lines = tuple(short_label(k) + (f" ×{n:,}" if n > 1 else "") for k, n in counts)
    return Label(lines, tuple(xs), max(label_width(line) for line in lines))


def _anomaly_labels(found: Sequence[tuple[float, int, AnomalyKind]], many: bool) -> list[Label]:
    """Which label names which markers. Many: one label per kind, at its first marker,
    with the count. Else one per step, a line per kind there, and one for adjacent steps
    of a single kind (``use after free ×3``)."""
    if many:
        firsts: dict[AnomalyKind, float] = {}
        which: dict[AnomalyKind, set[int]] = {}
        for x, i, kind in found:
            firsts.setdefault(kind, x)
            which.setdefault(kind, set()).add(i)
        return [_label([(kind, len(which[kind]))], [x]) for kind, x in firsts.items()]
    # A deadlock has a marker in each blocked thread's lane: one anomaly, counted once.
    steps: dict[float, dict[AnomalyKind, set[int]]] = {}
    for x, i, kind in found:
        steps.setdefault(x, {}).setdefault(kind, set()).add(i)
    groups: list[tuple[list[tuple[AnomalyKind, int]], list[float]]] = []
    for x, kinds in sorted(steps.items()):
        counts = [(kind, len(which)) for kind, which in kinds.items()]
        if groups and len(counts) == len(groups[-1][0]) == 1 and x - groups[-1][1][-1] <= 1:
            [(kind, n)], xs = groups[-1]
            if kind == counts[0][0]:
                groups[-1] = ([(kind, n + counts[0][1])], [*xs, x])
                continue
        groups.append((counts, [x]))
    return [_label(counts, xs) for counts, xs in groups]


def layout(
    found: Sequence[tuple[float, int, AnomalyKind]],
    room: Room,
    note: tuple[Label, float] | None = None,
) -> Layout:
    width_pt = room.width_pt
    anomalies = len({i for _, i, _ in found})
    many = anomalies > max(8.0, width_pt / 90)
    placed = _place(_anomaly_labels(found, many), room, note)
    return Layout(tuple(found), tuple(placed), anomalies > width_pt / 8, many)


def _place(labels: Sequence[Label], room: Room, note: tuple[Label, float] | None) -> list[Placed]:
    """Place ``labels`` in rows over their markers so that no two overlap and none covers
    another's leader (the line from a label down to its markers); see :func:`_fill`.

    The ``note`` (text, x in steps) begins at its x, wherever it fits or not at all:
    placed before the labels, in the lowest row, when that leaves as many of them a place
    in as few rows as placing it after them does; else after them.
    """
    if note is None:
        return _fill(labels, room, [])
    first = _fill(labels, room, _put(note, room, []))
    last = _put(note, room, _fill(labels, room, []))

    def worse(placed: list[Placed]) -> tuple[int, int]:
        return -len(placed), max((p.top for p in placed), default=0)

    return min([first, last], key=worse)  # the first of equals: the note first


def _fill(labels: Sequence[Label], room: Room, placed: list[Placed]) -> list[Placed]:
    """``placed`` and ``labels`` placed among them.

    Right to left, each takes the lowest row where it fits: centred over its markers,
    else beginning at them, else ending at them; first where it covers no marker still to
    be labelled (that label's leader could not get past it), then anywhere. A label with
    no place in :data:`MAX_ROWS` rows is left out: its marker stays, and the footer and
    ``refsim run`` give every anomaly.
    """
    width_pt = room.width_pt
    placed = list(placed)
    todo = sorted(labels, key=lambda label: -_centre(label))
    for i, label in enumerate(todo):
        waiting = [(x - 0.5) * room.box_pt for later in todo[i + 1 :] for x in later.xs]
        cx = (_centre(label) - 0.5) * room.box_pt
        w = label.width
        lefts = [_clamp(left, w, width_pt) for left in (cx - w / 2, cx - GAP, cx + GAP - w)]
        spots = [
            Placed(label, left, row) for strict in (True, False)
            for row in range(MAX_ROWS) for left in lefts
            if not (strict and any(left <= x <= left + w for x in waiting))
        ]  # fmt: skip
        placed += [s for s in spots if _clear(s, placed, room.box_pt)][:1]
    return placed


def _put(note: tuple[Label, float], room: Room, placed: list[Placed]) -> list[Placed]:
    """``placed`` and the note in the lowest row where it fits, if any."""
    text, x = note
    left = _clamp((x - 0.5) * room.box_pt + 4, text.width, room.width_pt)
    spots = [Placed(text, left, row) for row in range(MAX_ROWS)]
    return placed + [s for s in spots if _clear(s, placed, room.box_pt)][:1]


def _centre(label: Label) -> float:
    return sum(label.xs) / len(label.xs)


def _clamp(left: float, width: float, span: float) -> float:
    """``left`` moved so that ``width`` from it stays inside ``span`` (if it can)."""
    return max(0.0, min(left, span - width))


def _meet(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _leaders(p: Placed, box_pt: float) -> list[tuple[float, float]]:
    """The x-spans (points) of ``p``'s leaders: from each marker to the nearest point of
    the label's bottom edge."""
    spans = []
    for x in sorted(set(p.label.xs)):
        at = (x - 0.5) * box_pt
        end = min(max(at, p.left + 4), p.right - 4)
        spans.append((min(at, end) - 1, max(at, end) + 1))
    return spans


def _clear(new: Placed, placed: Sequence[Placed], box_pt: float) -> bool:
    """True when ``new`` overlaps no placed label, covers no placed label's leader, and
    its own leaders pass through no placed label."""
    span = (new.left, new.right)
    for old in placed:
        if (
            new.row < old.top
            and old.row < new.top
            and _meet(span, (old.left - GAP, old.right + GAP))
        ):
            return False
        # A leader runs through the rows under its label.
        if new.row < old.row and any(_meet(span, s) for s in _leaders(old, box_pt)):
            return False
        if old.row < new.row and any(
            _meet((old.left, old.right), s) for s in _leaders(new, box_pt)
        ):
            return False
    return True


def draw_marks(
    ax: Axes,
    points: Sequence[tuple[float, float]],
    layout: Layout,
    room: Room,
    gid: str,
    base: float,
    per_pt: float,
) -> None:
    """A marker at every anomaly (``points``, in data units), and the placed labels in
    their rows from ``base`` (data units) up, each with a leader down to its markers."""
    from matplotlib.collections import LineCollection

    if not points and not layout.placed:
        return
    low, high = ax.get_ylim()
    if layout.rug:
        # Too many to tell apart: a rug of ticks along the bottom, one per anomaly.
        rug = low + 0.06 * (high - low)
        points = [(x, rug) for x, _ in points]
        ax.scatter([x for x, _ in points], [y for _, y in points], marker="|", s=120,
                   linewidths=1.2, color=VERMILLION, alpha=0.7, zorder=6, gid=gid)  # fmt: skip
    elif points:
        ax.scatter([x for x, _ in points], [y for _, y in points], marker="X",
                   s=60 if layout.many else 150, color=VERMILLION, edgecolors="white",
                   linewidths=1, zorder=6, gid=gid, clip_on=False)  # fmt: skip
    # The leader starts at the top of the highest marker at its x.
    tops: dict[float, float] = {}
    for x, y in points:
        tops[x] = max(tops.get(x, y), y)
    segments = []

    def x_of(pt: float) -> float:
        return 0.5 + pt / room.box_pt

    for p in sorted(layout.placed, key=lambda p: (p.left, p.row)):
        bottom = base + p.row * ROW * per_pt
        if not p.label.xs:
            ax.text(x_of(p.left + PAD * LABEL_FONT), bottom + PAD * LABEL_FONT * per_pt,
                    p.label.lines[0], va="bottom", ha="left", fontsize=LABEL_FONT,
                    color="#333333", style="italic", zorder=5, gid="freed-label")  # fmt: skip
            continue
        for k, line in enumerate(p.label.lines):
            y = bottom + ((len(p.label.lines) - 1 - k) * ROW + PAD * LABEL_FONT) * per_pt
            ax.text(
                x_of((p.left + p.right) / 2), y, line, ha="center", va="bottom",
                fontsize=LABEL_FONT, color=VERMILLION, fontweight="bold", zorder=7,
                gid="anomaly-label", clip_on=False,
                bbox={"boxstyle": f"square,pad={PAD}", "fc": "white", "ec": "none",
                      "alpha": 0.9},
            )  # fmt: skip
        for x in sorted(set(p.label.xs)):
            at = (x - 0.5) * room.box_pt
            end = min(max(at, p.left + 4), p.right - 4)
            start = tops[x] + (2 if layout.rug else 7) * per_pt
            if bottom - start > 6 * per_pt:
                segments.append([(x, start), (x_of(end), bottom)])
    if segments:
        ax.add_collection(
            LineCollection(segments, colors=VERMILLION, linewidths=0.9, zorder=6.5,
                           gid="anomaly-leaders")
        )  # fmt: skip

"""The outcomes figure (``refsim plot --outcomes``): each outcome's share of all
interleavings beside its probability under the fair random scheduler."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refsim.model import count_text
from refsim.plot.style import (
    BLUE,
    FONT,
    FORMATS,
    ORANGE,
    VERMILLION,
    new_figure,
    save_figure,
    style,
)
from refsim.trace import Exploration, OutcomeStats

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["OutcomesFigure", "draw_outcomes", "plot_outcomes", "summarize_outcomes"]


@dataclass(frozen=True, slots=True)
class OutcomesFigure:
    """What an outcomes figure contains."""

    outcomes: tuple[str, ...]
    """The outcome labels, top to bottom."""
    shares: tuple[float, ...]
    """Bar lengths: the share of interleavings (or of the sampled runs)."""
    probabilities: tuple[float, ...]
    """Bar lengths under the fair random scheduler (empty for a sampled table)."""
    legend: tuple[str, ...]
    """What the bars' colours mean, as the legend says it."""
    xlabel: str


def plot_outcomes(
    exploration: Exploration, path: str | Path, *, dpi: float = 100
) -> OutcomesFigure:
    """Draw ``exploration``'s outcome shares and write them to ``path``."""
    if Path(path).suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: a figure must end in {', '.join(FORMATS)}")
    fig = draw_outcomes(exploration, dpi=dpi)
    save_figure(fig, path)
    return summarize_outcomes(fig)


_MAX_OUTCOMES = 12
"""Bars at most, the ``other`` bar included."""
RARE = Fraction(1, 1000)
"""An outcome this rare both ways (share and probability) is grouped in the ``other`` bar,
unless it is one without anomalies (the right answer stays, however rare it is)."""
_COUNT_DIGITS = 12
"""Counts longer than this are written ``9.05 × 10^18`` beside a bar."""


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _count(n: int) -> str:
    """``1,234``, or past :data:`_COUNT_DIGITS` digits ``9.05 × 10¹⁸``."""
    head, power, exponent = count_text(n, _COUNT_DIGITS).partition("^")
    return head + exponent.translate(_SUPERSCRIPT) if power else head


def _grouped(outcomes: Sequence[OutcomeStats]) -> tuple[list[OutcomeStats], list[OutcomeStats]]:
    """The outcomes that get a bar each, most frequent first, and those grouped in the
    ``other`` bar: the rare ones (:data:`RARE`), and the least frequent beyond
    :data:`_MAX_OUTCOMES` bars. A group of one is no group: it keeps its own bar."""
    ordered = sorted(outcomes, key=lambda s: -s.share)  # stable: explore's order for ties

    def rare(s: OutcomeStats) -> bool:
        probability = s.probability if s.probability is not None else Fraction(0)
        return bool(s.outcome.anomalies) and s.share < RARE and probability < RARE

    shown = [s for s in ordered if not rare(s)]
    rest = [s for s in ordered if rare(s)]
    if len(shown) + bool(rest) > _MAX_OUTCOMES:
        keep = _MAX_OUTCOMES - 1
        rest = shown[keep:] + rest
        shown = shown[:keep]
    if len(rest) == 1:
        return sorted([*shown, *rest], key=lambda s: -s.share), []
    return shown, sorted(rest, key=lambda s: -s.share)


def draw_outcomes(exploration: Exploration, *, dpi: float = 100) -> Figure:
    """The outcome shares of ``exploration`` as bars: the share of interleavings beside the
    fair random scheduler's probability (when the table is exact)."""
    with style():
        return _draw_outcomes(exploration, dpi)


def _outcome_label(stats: Any, width: int) -> str:
    """The outcome (on two lines if need be, never broken inside a word such as
    ``use-after-free``) over its witness schedule."""
    outcome = stats.outcome
    mark = "✗" if outcome.anomalies else "✓"
    head = textwrap.wrap(
        f"{mark} {outcome}", width, break_on_hyphens=False, max_lines=2, placeholder=" …"
    )
    p = stats.preemptions
    count = f"({p} preemption{'s' if p != 1 else ''})"
    # Whole if it fits, so that it can be passed to --schedule as it stands.
    room = width - len(f"witness:  {count}")
    witness = textwrap.shorten(str(stats.witness), room, placeholder=" …")
    return "\n".join([*head, f"witness: {witness} {count}"])


def _percent(share: float | Fraction) -> str:
    """``52.6%``, as ``refsim explore`` prints it: never rounding a possible outcome to
    0% (``<0.1%``) or an uncertain one to 100% (``>99.9%``)."""
    share = float(share)
    if share in (0, 1):
        return f"{share:.0%}"
    if share < 0.001:
        return "<0.1%"
    if share > 0.999:
        return ">99.9%"
    return f"{share:.1%}"


def _draw_outcomes(exploration: Exploration, dpi: float) -> Figure:
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    shown, rest = _grouped(exploration.outcomes)
    exact = exploration.exhaustive and all(s.probability is not None for s in shown)
    rows = len(shown) + (1 if rest else 0)
    per_row = 1.05 if exact else 0.75
    width, left, bottom = 14.0, 6.2, 0.95
    height = 1.9 + rows * per_row + bottom - 0.1
    fig = new_figure(width, height, dpi)
    ax = fig.add_axes(
        (left / width, bottom / height, (width - left - 0.5) / width, (rows * per_row) / height),
        gid="outcomes",
    )
    labels = [_outcome_label(s, 58) for s in shown]
    shares = [float(s.share) for s in shown]
    probs = [float(s.probability) for s in shown if s.probability is not None] if exact else []
    if rest:
        total = sum((s.share for s in rest), Fraction(0))
        bad = all(s.outcome.anomalies for s in rest)
        mark = "✗ " if bad else ""
        labels.append(f"{mark}other ({len(rest)} outcomes, {_percent(total)})")
        shares.append(float(total))
        if exact:
            probs.append(float(sum(s.probability or 0 for s in rest)))
    ys = [float(rows - 1 - i) for i in range(rows)]
    bar = 0.38 if exact else 0.6
    counts = [s.count for s in shown] + ([sum(s.count for s in rest)] if rest else [])
    unit = "interleavings" if exploration.exhaustive else "runs"
    total_count = exploration.interleavings
    top = [y + bar / 2 if exact else y for y in ys]
    ax.barh(top, shares, height=bar, color=BLUE, gid="shares")
    for y, share, count in zip(top, shares, counts, strict=True):
        of = f"{_count(count)} of {_count(total_count)}"
        ax.text(share + 0.01, y, f"{_percent(share)}  ({of} {unit})", va="center",
                fontsize=FONT - 1, gid="share-label")  # fmt: skip
    handles = [Patch(color=BLUE)]
    # "share" as `refsim explore` and the docs say it.
    names = [
        "share of interleavings (each counted once)"
        if exploration.exhaustive
        else "share of the seeded random runs"
    ]
    if exact:
        low = [y - bar / 2 for y in ys]
        ax.barh(low, probs, height=bar, color=ORANGE, gid="probabilities")
        for y, p in zip(low, probs, strict=True):
            ax.text(p + 0.01, y, _percent(p), va="center", fontsize=FONT - 1,
                    gid="probability-label")  # fmt: skip
        handles.append(Patch(color=ORANGE))
        names.append("probability under the fair random scheduler (each enabled thread "
                     "equally likely)")  # fmt: skip
    ax.set_yticks(ys, labels)
    for tick, stats in zip(ax.get_yticklabels(), shown, strict=False):
        if stats.outcome.anomalies:
            tick.set_color(VERMILLION)
    if rest and all(s.outcome.anomalies for s in rest):
        ax.get_yticklabels()[-1].set_color(VERMILLION)
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, 1.32)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    measure = "share of interleavings" if exploration.exhaustive else "share of the runs"
    ax.set_xlabel(f"{measure} / probability" if exact else measure)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.grid(axis="x", color="#DDDDDD", zorder=0)
    ax.set_axisbelow(True)
    how = (
        f"exact, over all {count_text(exploration.interleavings)} interleavings"
        if exploration.exhaustive
        else f"sampled: {count_text(exploration.interleavings)} seeded random runs"
    )
    if exploration.preemption_bound is not None:
        how += f" with at most {exploration.preemption_bound} preemptions"
    fig.text(0.4 / width, 1 - 0.16 / height,
             f"{exploration.scenario}  ·  runtime {exploration.runtime}: how often each outcome "
             "happens", fontsize=FONT + 5, fontweight="bold", va="top", gid="title")  # fmt: skip
    fig.text(0.4 / width, 1 - 0.6 / height, how, fontsize=FONT, va="top", color="#333333")
    fig.legend(handles, names, loc="upper left", frameon=False, ncols=2,
               bbox_to_anchor=(0.35 / width, 1 - 0.95 / height), borderaxespad=0)  # fmt: skip
    return fig


def summarize_outcomes(fig: Figure) -> OutcomesFigure:
    """What an outcomes figure (from :func:`draw_outcomes`) shows."""
    from matplotlib.patches import Rectangle

    ax = next(a for a in fig.axes if a.get_gid() == "outcomes")

    def widths(gid: str) -> tuple[float, ...]:
        return tuple(
            float(p.get_width())
            for p in ax.patches
            if isinstance(p, Rectangle) and p.get_gid() == gid
        )

    # The outcome, on one line again, without its witness.
    texts = [t.get_text().rsplit("\nwitness:", 1)[0] for t in ax.get_yticklabels()]
    labels = tuple(text.replace("\n", " ") for text in texts)
    legend = fig.legends[0]
    return OutcomesFigure(
        outcomes=labels,
        shares=widths("shares"),
        probabilities=widths("probabilities"),
        legend=tuple(t.get_text() for t in legend.get_texts()),
        xlabel=ax.get_xlabel(),
    )

"""``refsim real``'s report on a terminal: what ran where, the table of measured figures
beside refsim's, then the findings (docs/real.md).

The table keeps its columns at 80 columns, the width of a pipe. A range names its unit
once (``5.13 to 9.31 ns``; a lost row's is in shares, ``25% to 41%``: its counts, eight
digits each with the default 50 million increments, are in the findings and the JSON);
the range column is left out when every figure was measured once; the header ``measured
(median)`` takes two lines where room is short. The labels stay whole while the other
cells wrap beside them; where that does not fit, a label breaks after its colon, its
second line indented (``lock add (atomic):`` over ``  two threads``); narrower still,
the table is a block of lines per row (:class:`~refsim.render.fit.Fit`).
"""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.table import Table
from rich.text import Text

from refsim.real.values import Report, Row, Spread, percent
from refsim.render.fit import Fit, narrow

__all__ = ["LOST_NOTE", "print_report", "report_table"]

_LOST = "lost updates possible: "

LOST_NOTE = (
    "refsim says, for a lost row: whether some interleaving of the same program loses an "
    "update, and in what share of all its interleavings (counted exactly)."
)

_GAP = 2
"""The spaces between two columns of the table."""


def _number(row: Row, value: float) -> str:
    """``value`` in ``row``'s unit, without the unit."""
    if row.unit == "ns":
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    if row.unit in ("ms", "×"):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _figure(row: Row, value: float) -> str:
    """``value`` with its unit: ``9.17 ns``, ``0.94×``, ``213,517 (27%)`` lost."""
    number = _number(row, value)
    if row.unit == "lost":
        assert row.of
        return f"{number} ({percent(value / row.of)})"
    return f"{number}×" if row.unit == "×" else f"{number} {row.unit}"


def _range(row: Row, spread: Spread) -> str:
    """From the least run to the most, the unit once: ``5.13 to 9.31 ns``; a lost row's as
    shares of the updates (``25% to 41%``); empty for one run."""
    if len(spread.runs) == 1:
        return ""
    if row.unit == "lost":
        assert row.of
        low, high = percent(spread.low / row.of), percent(spread.high / row.of)
        return low if low == high else f"{low} to {high}"
    low, high = _number(row, spread.low), _number(row, spread.high)
    if low == high:
        return _figure(row, spread.low)
    return f"{low} to {_figure(row, spread.high)}"


_SAYS = 16
"""The least width of the "refsim says" column: narrower, its sentences break every word."""
_LABEL = 24
"""The least width of labels that wrap between words: narrower, a row takes four lines."""
_INDENT = "  "
"""Before a label's second line, so that it reads as the same row's."""


def _broken(label: str) -> str:
    """``label`` on two lines after its colon (``load, add, store:`` over ``  one thread``)."""
    head, colon, tail = label.partition(": ")
    return f"{head}:\n{_INDENT}{tail}" if colon else label


def _wrapped(label: str, width: int) -> str:
    """``label`` wrapped between words to ``width``, its lines after the first indented."""
    lines = textwrap.wrap(label, width, subsequent_indent=_INDENT, break_long_words=False,
                          break_on_hyphens=False)  # fmt: skip
    return "\n".join(lines)


def _least(headers: list[str], cells: list[list[str]]) -> list[int]:
    """Each column's least width: a measured figure whole (its header breaks), "refsim
    says" at least :data:`_SAYS` wide (or as wide as its widest cell)."""
    says = min(max(len(row_cells[-1]) for row_cells in cells), _SAYS)
    return [0, max(len(row_cells[1]) for row_cells in cells), *[0] * (len(headers) - 3), says]


def _labels(headers: list[str], cells: list[list[str]], width: int) -> list[str]:
    """The labels as the table shows them at ``width``.

    The labels are what a reader scans, and the table keeps each on the lines of its row.
    In turn: whole, while the other cells wrap beside them; broken after their colon, each
    part whole; wrapped between words, unless some label is code (``counter += f()``,
    broken, would read as other code); else whole, and the table is shown as blocks of
    lines (:class:`~refsim.render.fit.Fit` does that with a table that cannot fit). A
    measured figure is never broken (its header is), nor a range."""
    no_wrap = [header in ("what", "range") for header in headers]
    least = _least(headers, cells)
    room = width - _GAP * (len(headers) - 1)
    labels = [row_cells[0] for row_cells in cells]

    def widths(shown: list[str], wrap: bool = False, floor: int = 0) -> list[int] | None:
        rows = [[label, *row_cells[1:]] for label, row_cells in zip(shown, cells, strict=True)]
        return narrow(headers, rows, room, no_wrap=[not wrap, *no_wrap[1:]],
                      least=[floor, *least[1:]])  # fmt: skip

    if widths(labels) is not None:
        return labels
    broken = [_broken(label) for label in labels]
    if widths(broken) is not None:
        return broken
    floor = min(max(len(label) for label in labels), _LABEL)
    found = widths(labels, wrap=True, floor=floor)
    if found is not None and not any("=" in label for label in labels):
        return [_wrapped(label, found[0]) for label in labels]
    return labels


def report_table(report: Report, width: int) -> Fit:
    """The rows as a table that fits ``width`` columns (see the module docstring)."""
    ranged = any(row.measured is not None and len(row.measured.runs) > 1 for row in report.rows)
    headers = ["what", "measured (median)", *(["range"] if ranged else []), "refsim says"]
    cells = []
    for row in report.rows:
        spread = row.measured
        measured = "not measured" if spread is None else _figure(row, spread.median)
        spread_cell = [] if not ranged else ["" if spread is None else _range(row, spread)]
        cells.append([row.label, measured, *spread_cell, row.model_text.removeprefix(_LOST)])
    labels = _labels(headers, cells, width)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header, least in zip(headers, _least(headers, cells), strict=True):
        right = header in ("measured (median)", "range")
        # The labels are laid out by _labels, and a range is never broken.
        table.add_column(header, justify="right" if right else "left",
                         no_wrap=header in ("what", "range"), min_width=least or None)  # fmt: skip
    for label, row_cells in zip(labels, cells, strict=True):
        table.add_row(*(Text(cell) for cell in [label, *row_cells[1:]]))
    return Fit(table)


def _settings_line(report: Report) -> str:
    s = dict(report.settings)
    runs = f"{s['repeat']:g} run{'s' if s['repeat'] != 1 else ''} of each"
    if report.experiment == "counter":
        return (
            f"{s['threads']:g} threads × {s['increments']:,.0f} increments each "
            f"({s['threads'] * s['increments']:,.0f} in all), {runs}; lost = the increments "
            "missing from the final count"
        )
    if report.experiment == "hardware":
        return (
            f"2 threads × {s['increments']:,.0f} increments of one word each, with the GIL "
            f"released, {runs}; lost = the increments missing from the final word"
        )
    return (
        f"{s['work']:g} s of CPU-bound work per unit, {runs}; speedup = the same work done one "
        "unit after another, divided by the time taken; refsim: the timed model with this "
        "machine's cores, loop iteration and process start"
    )


def print_report(console: Console, report: Report) -> None:
    """The report as people read it: what ran where, the table, then the findings."""
    head = Text()
    head.append(f"refsim real {report.experiment}", style="bold")
    head.append(f"  ·  {report.interpreter}")
    console.print(head)
    console.print(Text(_settings_line(report)))
    console.print()
    console.print(report_table(report, console.width))
    if any(row.unit == "lost" for row in report.rows):
        console.print(Text(LOST_NOTE))
    told = " ".join(report.findings)
    notes = [f"{r.label}: {r.note}." for r in report.rows if r.note and r.note not in told]
    if notes:
        console.print()
        for note in notes:
            console.print(Text(note))
    for sentence in report.findings:
        console.print()
        console.print(Text(sentence))
    for sentence in report.contradictions:
        console.print()
        console.print(Text(f"unexpected: {sentence}", style="bold red"))

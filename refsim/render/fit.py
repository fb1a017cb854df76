"""Tables that fit any width without losing a column.

rich fits a table that is too wide by squeezing its columns until words break in the
middle (``decr`` / ``ef``), and crops whatever still does not fit: at 20 columns a run's
table loses its refcounts without a word. :class:`Fit` lays a table out itself instead:
each column as wide as its widest cell, then narrowed, widest first, down to the longest
word of its header and cells (its header breaking into lines first), so that cells wrap
between words. A width where even that does not fit gets the table as blocks, a row
each, every cell under its header's name (:func:`blocks`): narrow output is longer, never
poorer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Column, Table
from rich.text import Text

__all__ = ["Fit", "blocks", "narrow"]

Cell = str | Text


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return cell if isinstance(cell, str) else ""


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def _longest_line(text: str) -> int:
    """In the terminal's cells: a wide character (日, 🎓) takes two."""
    return max((cell_len(line) for line in text.split("\n")), default=0)


def narrow(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    room: int,
    *,
    no_wrap: Sequence[bool] | None = None,
    least: Sequence[int] | None = None,
    most: Sequence[int | None] | None = None,
) -> list[int] | None:
    """Column widths for ``rows`` under ``headers`` adding up to at most ``room``: each
    column as wide as its header and widest cell, then narrowed, widest first, to its
    widest cell or header word (its header broken into lines), then to the longest word of
    either (its cells wrapped between words). ``None`` when even that is too wide.
    ``no_wrap`` columns keep their width; ``least`` gives each column a floor, ``most`` a
    width to wrap at even when there is room (to line up with another table)."""
    n = len(headers)
    fixed = no_wrap or [False] * n
    floor = least or [0] * n
    cap = most or [None] * n
    cells = [[row[i] for row in rows] for i in range(n)]
    heads = [_longest_word(h) for h in headers]
    words = [max([heads[i], *map(_longest_word, cells[i]), floor[i]]) for i in range(n)]
    unbroken = [max([heads[i], *map(_longest_line, cells[i]), floor[i]]) for i in range(n)]
    widths = [max(_longest_line(headers[i]), unbroken[i]) for i in range(n)]
    for i, limit in enumerate(cap):
        if limit is not None and not fixed[i]:
            widths[i] = max(min(widths[i], limit), words[i])
    for stage in (unbroken, words):
        limits = [widths[i] if fixed[i] else stage[i] for i in range(n)]
        while sum(widths) > room:
            slack = [w - f for w, f in zip(widths, limits, strict=True)]
            if max(slack) <= 0:
                break
            widths[max(range(n), key=lambda i: (slack[i] > 0, widths[i]))] -= 1
    return widths if sum(widths) <= room else None


def blocks(headers: Sequence[str] | None, rows: Iterable[Sequence[Cell]]) -> list[RenderableType]:
    """Rows as blocks of lines: with ``headers``, each row's cells under their header's
    name (a blank line between rows); without, each row's first cell on a line and the
    others under it, indented. Empty cells are left out."""
    out: list[RenderableType] = []
    for index, row in enumerate(rows):
        cells = [(i, c if isinstance(c, Text) else Text(c)) for i, c in enumerate(row)]
        cells = [(i, c) for i, c in cells if c.plain.strip()]
        if headers is None:
            for i, cell in cells:
                out.append(Padding(cell, (0, 0, 0, 2)) if i else cell)
            continue
        if index:
            out.append(Text())
        pairs = Table.grid(padding=(0, 2, 0, 0))
        pairs.add_column(style="bold")
        pairs.add_column()
        for i, cell in cells:
            pairs.add_row(headers[i], cell)
        out.append(Fit(pairs))
    return out


def _padding(table: Table, index: int) -> int:
    """The spaces rich puts around column ``index`` (its ``_get_padding_width``)."""
    _, right, _, left = table.padding
    if table.collapse_padding:
        left, right = 0, abs(left - right)
    if not table.pad_edge:
        left = 0 if index == 0 else left
        right = 0 if index == len(table.columns) - 1 else right
    return left + right


class Fit:
    """``table`` laid out to fit the width it is given (:func:`narrow`), or as
    :func:`blocks` where it cannot fit with its words whole.

    The table's columns get fixed widths when it is rendered, so render a ``Fit`` once."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def _rows(self) -> list[list[Cell]]:
        columns: list[Column] = self.table.columns
        cells = [list(column.cells) for column in columns]
        count = max((len(c) for c in cells), default=0)
        return [
            [
                cell if isinstance(cell, Text | str) else ""
                for cell in (c[r] if r < len(c) else "" for c in cells)
            ]
            for r in range(count)
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table
        columns: list[Column] = table.columns
        rows = self._rows()
        headers = [_plain(c.header) if table.show_header else "" for c in columns]
        extra = sum(_padding(table, i) for i in range(len(columns)))
        extra += (2 if table.box and table.show_edge else 0) + (
            len(columns) - 1 if table.box else 0
        )
        widths = narrow(
            headers,
            [[_plain(cell) for cell in row] for row in rows],
            options.max_width - extra,
            no_wrap=[c.no_wrap for c in columns],
            least=[c.min_width or 0 for c in columns],
            most=[c.max_width for c in columns],
        )
        if widths is None:
            titled = table.show_header and any(headers)
            yield from blocks(headers if titled else None, rows)
            return
        for column, width in zip(columns, widths, strict=True):
            column.width = width
            column.min_width = column.max_width = None
        yield table

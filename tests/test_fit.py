"""Tables that fit any width without losing a column (refsim.render.fit)."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from refsim.render.fit import Fit, narrow
from refsim.render.words import wrap


def render(table: Table, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, markup=False, emoji=False, highlight=False).print(Fit(table))
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def table(headers: list[str], rows: list[list[str]], *, show_header: bool = True) -> Table:
    t = Table(box=None, header_style="bold", pad_edge=False, show_header=show_header)
    for header in headers:
        t.add_column(header)
    for row in rows:
        t.add_row(*row)
    return t


words = st.text("abcdefgh-.:0123456789", min_size=1, max_size=12)
cells = st.lists(words, max_size=5).map(" ".join)


@settings(max_examples=150)
@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(words, min_size=n, max_size=n),
            st.lists(st.lists(cells, min_size=n, max_size=n), min_size=1, max_size=4),
        )
    ),
    st.integers(20, 120),
    st.booleans(),
)
def test_a_table_fits_and_keeps_every_word(
    shape: tuple[list[str], list[list[str]]], width: int, show_header: bool
) -> None:
    headers, rows = shape
    out = render(table(headers, rows, show_header=show_header), width)
    shown = re.sub(r"\s", "", out)
    words_in = {w for row in rows for cell in row for w in cell.split()}
    if show_header:  # a block of lines names only the cells that hold something
        words_in |= {h for i, h in enumerate(headers) if any(row[i].strip() for row in rows)}
    assert ([], []) == (
        [line for line in out.splitlines() if len(line) > width],
        sorted(w for w in words_in if w not in shown),
    )


def test_a_table_that_fits_is_a_table() -> None:
    out = render(table(["step", "thread"], [["1", "T1"], ["2", "T2"]]), 40)
    assert "step  thread\n1     T1\n2     T2" == out


def test_a_table_too_wide_for_its_words_becomes_blocks() -> None:
    headers = ["step", "thread", "op", "micro-step", "register"]
    out = render(table(headers, [["1", "T1", "decref obj", "LOAD", "2"]]), 20)
    assert [
        "step        1",
        "thread      T1",
        "op          decref",
        "            obj",
        "micro-step  LOAD",
        "register    2",
    ] == out.splitlines()


def test_a_grid_too_narrow_puts_each_text_under_its_label() -> None:
    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row("a long label here", "its text")
    assert ["a long label here", "  its text"] == render(grid, 20).splitlines()


@pytest.mark.parametrize(
    ("room", "expected"),
    [
        (40, [6, 12, 5]),  # everything fits
        (22, [6, 11, 5]),  # the widest column wraps first, between its words
        (17, [6, 6, 5]),  # down to its longest word
        (16, None),  # a word would break: blocks instead
    ],
)
def test_narrow_narrows_the_widest_first_and_never_breaks_a_word(
    room: int, expected: list[int] | None
) -> None:
    rows = [["T1", "decref obj X", "LOAD"], ["thread", "use", "STORE"]]
    assert expected == narrow(["th", "op", "micro"], rows, room)


@settings(max_examples=300)
@given(
    st.lists(st.text(alphabet="ab-/._:(", min_size=1, max_size=19), min_size=1, max_size=12),
    st.integers(min_value=20, max_value=60),
)
def test_plain_wrap_breaks_a_line_where_the_console_does(words: list[str], width: int) -> None:
    """``refsim validate`` wraps its lines without rich: where every word fits a line, the
    same lines as the terminal's console prints (a word longer than the line is folded by
    both, though not always alike)."""
    line = " ".join(words)
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, markup=False, emoji=False, highlight=False, soft_wrap=False
    )
    console.print(Text(line))
    printed = [row.rstrip(" ") for row in buffer.getvalue().splitlines()]
    assert printed == wrap(line, width)

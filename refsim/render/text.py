"""Terminal text that fits the terminal and cannot drive it.

Every block a command prints wraps to the console's width (``COLUMNS``, or 80 off a
terminal); labels hang, so a wrapped line starts under its text, not under its label.
Text that comes from a scenario file or a path (descriptions, file names) is untrusted:
the consoles refsim makes never read rich markup, so ``[bold]`` or ``[/x]`` prints as
written, and :func:`refsim.errors.visible` shows control characters as symbols.

The plain words (plurals, shares, counts, sentences) are :mod:`refsim.render.words`,
which imports no rich; this module lays them out and re-exports them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from refsim.render.fit import Fit
from refsim.render.words import (
    COUNT_DIGITS,
    and_words,
    count_cell,
    first_sentence,
    paragraphs,
    percent,
    plural,
    visible,
)

__all__ = [
    "COUNT_DIGITS",
    "and_words",
    "command_line",
    "commands",
    "count_cell",
    "first_sentence",
    "hanging",
    "heading",
    "paragraphs",
    "percent",
    "plural",
    "print_paragraphs",
    "visible",
]


def print_paragraphs(console: Console, text: str) -> None:
    """``text``'s paragraphs, each wrapped to the console, a blank line between them."""
    for i, paragraph in enumerate(paragraphs(text)):
        if i:
            console.print()
        console.print(Text(paragraph))


def heading(console: Console, title: str, *, first: bool = False) -> None:
    """A section's title in bold, after a blank line unless it comes first."""
    if not first:
        console.print()
    console.print(Text(title, style="bold"))


def hanging(
    rows: Sequence[tuple[str | Text, str | Text]], *, indent: int = 0, gap: int = 2
) -> RenderableType:
    """Labels and their texts in two columns: a text that wraps stays in its column; where
    a label leaves its text too little room, each text goes under its label instead."""
    grid = Table.grid(padding=(0, gap, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, text in rows:
        grid.add_row(
            label if isinstance(label, Text) else Text(label),
            text if isinstance(text, Text) else Text(text),
        )
    fit = Fit(grid)
    return Padding(fit, (0, 0, 0, indent)) if indent else fit


def commands(
    rows: Sequence[tuple[str, str]], width: int, *, indent: int = 2
) -> list[RenderableType]:
    """(what, command) pairs as lines: ``what:`` and its command side by side, aligned,
    when every pair fits on a line; otherwise each command on the line under its label,
    indented further, so that no command is broken where it could be kept whole."""
    label = max((len(what) + 1 for what, _ in rows), default=0) + 2
    pad = " " * indent
    if all(indent + label + len(command) <= width for _, command in rows):
        return [Text(f"{pad}{what + ':':<{label}}{visible(command)}") for what, command in rows]
    lines: list[RenderableType] = []
    for what, command in rows:
        lines.append(Text(f"{pad}{what}:"))
        lines.append(Padding(Text(visible(command)), (0, 0, 0, indent + 4)))
    return lines


def command_line(console: Console, label: str, command: str) -> None:
    """``label`` (bold) and a command on one line when they fit; else the command on the
    next line, indented, so that it is broken only if it is longer than a line itself."""
    command = visible(command)
    if len(label) + len(command) <= console.width:
        console.print(Text(label, style="bold") + Text(command))
        return
    console.print(Text(label.rstrip(), style="bold"))
    console.print(Padding(Text(command), (0, 0, 0, 2)))

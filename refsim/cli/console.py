"""The console every command prints through: rich, wrapped to the terminal (or 80
columns), with colour only on a terminal and scenario text printed exactly as written.

A module of its own so that a command imports rich only when it prints to a terminal:
``--json`` needs none of it.
"""

from __future__ import annotations

import io
import os
import re
from typing import TextIO, cast

from rich.console import Console

from refsim.cli.streams import can_encode

__all__ = ["DEFAULT_WIDTH", "LEAST_WIDTH", "console", "width"]

DEFAULT_WIDTH = 80
"""The width of output off a terminal (pipes, files, tests), unless ``COLUMNS`` says."""
LEAST_WIDTH = 20
"""The narrowest refsim lays its output out for: a smaller width is taken as this one (a
table then shows each row as a block of lines, every column still there)."""


def width(stream: TextIO) -> int:
    """The columns output to ``stream`` may use: ``COLUMNS`` when it is a number of 1 or
    more, else the terminal's width, else 80; at least 20."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), LEAST_WIDTH)
    if stream.isatty():
        try:
            size = os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, io.UnsupportedOperation):
            size = 0
        if size > 0:
            return max(size, LEAST_WIDTH)
    return DEFAULT_WIDTH


def console(stream: TextIO) -> Console:
    """A rich console on ``stream``: every line wrapped to :func:`width`; colour only on a
    terminal (and never with NO_COLOR); no markup, emoji or highlighting, so that text
    from a scenario file prints exactly as written (``[/x]`` included)."""
    # rich types its file as IO[str]; it only ever writes, flushes and asks isatty().
    trimmed = cast(TextIO, _Trimmed(stream))
    columns = width(stream)
    if not can_encode(getattr(stream, "encoding", None), "·×…"):
        # The ASCII stand-ins (refsim.cli.streams) of `…` and an exponent are longer than
        # what they stand for: leave them the room, so that no line outgrows the width.
        columns = max(columns - 2, LEAST_WIDTH)
    return _Console(
        file=trimmed, width=columns, markup=False, emoji=False, highlight=False,
        soft_wrap=False,
    )  # fmt: skip


class _Console(Console):
    """A rich console that leaves a closed pipe to ``refsim.cli.main``, which ends every
    command the same way (rich's own way exits with status 1)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


_TRAILING = re.compile(r"[ \t]+\n")


class _Trimmed(io.TextIOBase):
    """``stream`` without the spaces rich pads a table's last column with at the end of a
    line: copied output and golden files then survive editors that trim whitespace."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._partial = ""

    def write(self, text: str) -> int:
        # Hold back an unfinished line: its padding may end it once the rest arrives.
        lines, newline, self._partial = (self._partial + text).rpartition("\n")
        if newline:
            self._stream.write(_TRAILING.sub("\n", lines + newline))
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._stream.write(self._partial)
            self._partial = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

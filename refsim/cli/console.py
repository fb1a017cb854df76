"""The console every command prints through: rich, wrapped to the terminal (or 80
columns), with colour only on a terminal and scenario text printed exactly as written.

A module of its own so that a command imports rich only when it prints to a terminal:
``--json`` needs none of it.
"""

from __future__ import annotations

import io
import re
from typing import TextIO, cast

from rich.console import Console

from refsim.cli.streams import columns

__all__ = ["console"]


def console(stream: TextIO) -> Console:
    """A rich console on ``stream``: every line wrapped to
    :func:`~refsim.cli.streams.columns`; colour only on a terminal (and never with
    NO_COLOR); no markup, emoji or highlighting, so that text from a scenario file prints
    exactly as written (``[/x]`` included)."""
    # rich types its file as IO[str]; it only ever writes, flushes and asks isatty().
    trimmed = cast(TextIO, _Trimmed(stream))
    return _Console(
        file=trimmed, width=columns(stream), markup=False, emoji=False, highlight=False,
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

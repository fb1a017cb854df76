"""Mistakes, as exceptions: a bad scenario file or a bad schedule.

Findings about a program (anomalies) are data, never exceptions; these are for input that
refsim cannot run. Every message names the place (file, line, column, or schedule step)
and says what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "SHOWN",
    "Diagnostic",
    "RefsimError",
    "ScenarioError",
    "ScheduleError",
    "rest_line",
    "visible",
]


class RefsimError(Exception):
    """Base of the errors refsim reports to users (exit status 2)."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One mistake in a scenario file, located by line and column (both from 1). A mistake
    about the file as a whole (it cannot be read, it is too big) is placed at 1:1, so that
    every message has SCENARIOS.md's ``FILE:LINE:COL: error:`` shape."""

    file: str
    line: int
    column: int
    path: str
    """Where in the document: ``threads.T1[0]``; empty for the document itself."""
    message: str
    source_line: str | None = None
    """The offending line of the file, shown with a caret under ``column``."""
    hint: str | None = None
    """A "did you mean" or other advice, shown on its own line."""

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        lines = [f"{self.file}:{self.line}:{self.column}: error: {where}{self.message}"]
        if self.source_line is not None:
            text = visible(self.source_line.rstrip("\r\n").expandtabs(1))
            lines.append(f"    {text}")
            lines.append("    " + " " * max(self.column - 1, 0) + "^")
        if self.hint:
            lines.append(f"    {self.hint}")
        return "\n".join(lines)


def visible(text: str) -> str:
    """``text`` with each control character shown as one visible one, so that text from a
    file (an excerpt, a description, a path) can neither drive the terminal nor shift the
    caret under an excerpt: C0 as its control picture (ESC as ␛, BEL as ␇), DEL as ␡, C1
    (which has no pictures) and a byte of a path that is not UTF-8 (a lone surrogate)
    as \ufffd."""
    return "".join(
        chr(0x2400 + ord(c)) if ord(c) < 0x20 else "␡" if c == "\x7f"
        else "\ufffd" if 0x80 <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000 else c
        for c in text
    )  # fmt: skip


SHOWN = 100
"""The most mistakes of one file a report lists; the rest are summed up in a line."""

_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|[0-9][0-9,]*")


def _elide(value: re.Match[str]) -> str:
    """A quoted name or a number in a message, elided: ``'x12'`` as ``'…'``."""
    quote = value[0][0]
    return f"{quote}…{quote}" if quote in "'\"" else "…"


def rest_line(diagnostics: Sequence[Diagnostic]) -> str | None:
    """The line that sums up the mistakes past the first :data:`SHOWN` (``None`` when
    there are no more): how many, on which lines, and what they are when they are all
    the same mistake (the same message, or one that differs only in a name or number)."""
    rest = diagnostics[SHOWN:]
    if not rest:
        return None
    first, last = rest[0].line, rest[-1].line
    where = f"on line {first:,}" if first == last else f"on lines {first:,} to {last:,}"
    line = f"… and {len(rest):,} more {'error' if len(rest) == 1 else 'errors'}"
    messages = {d.message for d in rest}
    if len(messages) == 1:
        return f"{line}, each: {rest[0].message} ({where})"
    kinds = {_VALUES.sub(_elide, message) for message in messages}
    if len(kinds) == 1:
        return f"{line}, each: {kinds.pop()} ({where})"
    return f"{line} ({where})"


class ScenarioError(RefsimError):
    """A scenario file that cannot be loaded; carries every mistake found, in file order.
    Its text lists the first :data:`SHOWN` and sums up the rest (:func:`rest_line`)."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
        ordered = tuple(sorted(diagnostics, key=lambda d: (d.file, d.line, d.column)))
        self.diagnostics = ordered
        lines = [str(d) for d in ordered[:SHOWN]]
        rest = rest_line(ordered)
        super().__init__("\n".join(lines if rest is None else [*lines, rest]))


class ScheduleError(RefsimError):
    """A schedule that cannot be replayed: malformed, an unknown thread, or a thread that
    is not enabled at the step that names it."""

    def __init__(self, message: str, *, step: int | None = None) -> None:
        self.step = step
        self.message = message
        super().__init__(f"step {step}: {message}" if step is not None else message)

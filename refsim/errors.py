"""Mistakes, as exceptions: a bad scenario file or a bad schedule.

Findings about a program (anomalies) are data, never exceptions; these are for input that
refsim cannot run. Every message names the place (file, line, column, or schedule step)
and says what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Diagnostic", "RefsimError", "ScenarioError", "ScheduleError", "visible"]


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
    """``text`` with each control character shown as one visible one (ESC as ␛), so that
    text from a file (an excerpt, a description, a path) can neither drive the terminal
    nor shift the caret under an excerpt."""
    return "".join(
        chr(0x2400 + ord(c)) if ord(c) < 0x20 else "␡" if c == "\x7f"
        else "\ufffd" if 0x80 <= ord(c) < 0xA0 else c
        for c in text
    )  # fmt: skip


class ScenarioError(RefsimError):
    """A scenario file that cannot be loaded; carries every mistake found, in file order."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
        ordered = tuple(sorted(diagnostics, key=lambda d: (d.file, d.line, d.column)))
        self.diagnostics = ordered
        super().__init__("\n".join(str(d) for d in ordered))


class ScheduleError(RefsimError):
    """A schedule that cannot be replayed: malformed, an unknown thread, or a thread that
    is not enabled at the step that names it."""

    def __init__(self, message: str, *, step: int | None = None) -> None:
        self.step = step
        self.message = message
        super().__init__(f"step {step}: {message}" if step is not None else message)

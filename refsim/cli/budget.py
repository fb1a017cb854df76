"""Budgets on the command line: ``--max-seconds`` and ``--max-memory``, and the progress
line long work shows on a terminal (what a command says when a budget runs out or the
user presses Ctrl-C is :mod:`refsim.render.budget`).

Every command gets a :class:`~refsim.budget.Meter` (``args.meter``) before it starts;
the drivers spend it as they work. A budget that runs out is exit status 3 with a message
that names it, says what was found so far and what the whole would need, and names the
option that helps; Ctrl-C is one line and exit status 130.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from refsim.budget import (
    DEFAULT_MEMORY,
    DEFAULT_SECONDS,
    Budget,
    Meter,
    bytes_text,
    forget_interrupt,
    note_interrupt,
    seconds_text,
)
from refsim.render.budget import done_text

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = [
    "EXIT_INTERRUPTED",
    "PROGRESS_DELAY",
    "add_budget",
    "budget_of",
    "interruptible",
    "memory_option",
    "progress_shown",
    "seconds_option",
]

EXIT_INTERRUPTED = 130
"""Ctrl-C: 128 + SIGINT, as a shell reports a command it interrupted."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    note_interrupt()
    raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """While inside, Ctrl-C raises KeyboardInterrupt as Python's own handler does, and
    is noted too, so that a meter raises it again if it was dropped
    (:func:`~refsim.budget.note_interrupt`). A process that ignores SIGINT (a job in the
    background) keeps ignoring it; the handler before is restored afterwards."""
    try:
        before = signal.getsignal(signal.SIGINT)
        installed = before is signal.default_int_handler
        if installed:
            signal.signal(signal.SIGINT, _interrupt)
    except ValueError:  # not the main thread: signals cannot be caught here
        installed = False
    hook = sys.unraisablehook
    if installed:
        sys.unraisablehook = _quiet_interrupt(hook)
    try:
        yield
    except KeyboardInterrupt:
        forget_interrupt()
        raise
    finally:
        if installed:
            signal.signal(signal.SIGINT, before)
            sys.unraisablehook = hook


def _quiet_interrupt(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """``sys.unraisablehook`` that drops a KeyboardInterrupt (noted, it is raised again;
    its "Exception ignored" traceback would only confuse) and passes on anything else."""

    def unraisable(info: Any) -> object:
        if isinstance(info.exc_value, KeyboardInterrupt):
            return None
        return hook(info)

    return unraisable


PROGRESS_DELAY = 1.0
"""Seconds of work before a progress line appears (on a terminal only)."""

_NONE = ("none", "unlimited", "no")
_SECONDS = re.compile(r"([0-9][0-9_,]*(?:\.[0-9]+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h)?")


def seconds_option(text: str) -> float | None:
    """``--max-seconds``: a number of seconds (``30``, ``2.5``, ``90s``, ``5min``), or
    ``none`` for no time budget."""
    folded = text.strip().lower()
    if folded in _NONE:
        return None
    match = _SECONDS.fullmatch(folded)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds (30, 2.5, 90s, 5min) or none, not {text!r}"
        )
    value = float(match[1].replace("_", "").replace(",", ""))
    unit = (match[2] or "s")[0]
    value *= {"s": 1, "m": 60, "h": 3600}[unit]
    if not value > 0:
        raise argparse.ArgumentTypeError("the time budget must be more than 0 seconds (or none)")
    return value


_SIZES = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def memory_option(text: str) -> int | None:
    """``--max-memory``: a size (``1GB``, ``500MB``, ``2G``, ``1.5GiB``, bytes without a
    unit), or ``none`` for no memory budget."""
    folded = text.strip().lower()
    if folded in _NONE:
        return None
    match = re.fullmatch(r"([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([kmgt]?)(i?)(b?)", folded)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 1GB, 500MB or 2GiB (or none), not {text!r}"
        )
    number, prefix, binary, _ = match.groups()
    scale = 1024 ** "_kmgt".index(prefix) if binary and prefix else _SIZES[prefix]
    value = int(float(number.replace("_", "").replace(",", "")) * scale)
    if value < 10**6:
        raise argparse.ArgumentTypeError(
            f"{text}: that is less than refsim needs to start; give at least 1MB (or none)"
        )
    return value


def add_budget(parser: argparse.ArgumentParser, *, per: str = "") -> None:
    """``--max-seconds`` and ``--max-memory``: the budget of a command's whole work (or,
    ``per``, of each piece of it, e.g. each answer of a game)."""
    seconds = f"default {DEFAULT_SECONDS:g}; none: no limit"
    memory = f"e.g. 500MB, 4GB (default {bytes_text(DEFAULT_MEMORY)}; none: no limit)"
    if per:
        time_help = f"the most seconds {per} may take ({seconds}); past them it says so"
        memory_help = f"the most memory refsim may hold for {per}, {memory}"
    else:
        time_help = (
            f"stop the work after S seconds ({seconds}), say what was found so far, exit status 3"
        )
        memory_help = f"stop the work once refsim holds SIZE of memory, {memory}, exit status 3"
    parser.add_argument(
        "--max-seconds", type=seconds_option, default=DEFAULT_SECONDS, metavar="S",
        help=time_help,
    )  # fmt: skip
    parser.add_argument(
        "--max-memory", type=memory_option, default=DEFAULT_MEMORY, metavar="SIZE",
        help=memory_help,
    )  # fmt: skip


def budget_of(args: argparse.Namespace) -> Budget:
    """The budget a command's options give (the defaults for a command without them)."""
    return Budget(
        seconds=getattr(args, "max_seconds", DEFAULT_SECONDS),
        memory=getattr(args, "max_memory", DEFAULT_MEMORY),
    )


# -- progress -------------------------------------------------------------------------------


class _Display:
    """A meter's ``on_progress``: a spinner with the work done so far and the time, on
    ``err``, once the work has taken :data:`PROGRESS_DELAY` seconds."""

    def __init__(self, err: TextIO, what: str) -> None:
        self.err = err
        self.what = what
        self.bar: Progress | None = None
        self.task: Any = None

    def __call__(self, meter: Meter) -> None:
        if self.bar is None:
            if meter.elapsed < PROGRESS_DELAY:
                return
            # rich is imported here, once there is a line to show: every command imports
            # this module, and most end before the line would appear.
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn

            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                console=Console(file=self.err, markup=False, highlight=False, emoji=False),
                transient=True,
            )
            self.task = self.bar.add_task(self.what, total=None)
            self.bar.start()
        done = done_text(meter.done())
        line = f"{self.what}: {done}" if done else self.what
        description = f"{line} ({seconds_text(meter.elapsed)})"
        self.bar.update(self.task, description=description, refresh=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@contextlib.contextmanager
def progress_shown(meter: Meter, err: TextIO, what: str) -> Iterator[None]:
    """Show ``meter``'s progress on ``err`` while the block runs, if ``err`` is a terminal.

    The line is transient: it is gone when the block ends, however it ends."""
    if not err.isatty():
        yield
        return
    display = _Display(err, what)
    meter.on_progress = display
    try:
        yield
    finally:
        meter.on_progress = None
        display.stop()

"""Budgets: how much time and memory a command's work may take, checked while it works.

A :class:`Budget` is a value: seconds and bytes. A :class:`Meter` spends one: the drivers
(the explorer, the search, the controlled and timed engines, the loader) call
:meth:`Meter.tick` as they go, every state, every run or every few thousand micro-steps,
and it raises :class:`BudgetExceeded` the moment the time or the memory is used up. The
driver then says what it found so far (its own subclass of the exception, or a partial
result), and the command line says which budget ran out and which option raises it.

Budgets change what is *reported* (a sample instead of an exact table, "unknown"
instead of a verdict), never a number reported as exact: an exploration that finishes is
the same whatever its budget. So the wall clock is fine here, although refsim's results
never depend on it.

How memory is measured: the process's resident set size, read from ``/proc/self/statm``
(a read of a few bytes through a file descriptor kept open: under a microsecond), at
most every :data:`LOOK_EVERY` seconds. Without ``/proc`` (macOS, the BSDs) the peak
resident size from ``getrusage`` stands in (it never goes down, so a budget is never
spent later than it should be); without either (Windows) there is no memory budget.
Counting the explorer's states times a size per state would be cheaper still but blind
to everything else that grows (traces, samples, SimPy's queues); tracemalloc sees
everything and slows the hot loops several times over.

A :meth:`Meter.share` is a part of the remaining time for one piece of work: the story
gives each runtime's exact count a share, so that one count too big to finish leaves
time for a sample, a search and the rest of the story. A share counts into the same
tally and the same memory as the whole.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "DEFAULT_MEMORY",
    "DEFAULT_SECONDS",
    "LOOK_EVERY",
    "Budget",
    "BudgetExceeded",
    "Limit",
    "Meter",
    "bytes_text",
    "resident_memory",
    "seconds_text",
]

DEFAULT_SECONDS = 25.0
"""A command's time budget (``--max-seconds``): with starting and finishing (imports, freeing
what the work built), no command takes more than about 30 s."""

DEFAULT_MEMORY = 1_000_000_000
"""A command's memory budget (``--max-memory``): 1 GB, which a small laptop can spare."""

LOOK_EVERY = 0.01
"""Seconds between two readings of the memory (and between two progress reports)."""

PROGRESS_EVERY = 0.1
"""Seconds between two calls of a meter's progress callback."""


class Limit(Enum):
    """Which budget ran out, and the option that sets it."""

    TIME = "time"
    MEMORY = "memory"
    STATES = "states"
    STEPS = "steps"
    EXAMPLES = "examples"

    @property
    def option(self) -> str:
        return _OPTIONS[self]

    def __str__(self) -> str:
        return f"the {self.value.removesuffix('s')} budget ({self.option})"


_OPTIONS = {
    Limit.TIME: "--max-seconds",
    Limit.MEMORY: "--max-memory",
    Limit.STATES: "--max-states",
    Limit.STEPS: "--max-steps",
    Limit.EXAMPLES: "--max-examples",
}


@dataclass(frozen=True, slots=True)
class Budget:
    """How long a command may work and how much memory it may hold; ``None``: no limit."""

    seconds: float | None = DEFAULT_SECONDS
    """Wall-clock seconds from the start of the work."""
    memory: int | None = DEFAULT_MEMORY
    """The process's resident memory, in bytes."""

    def __post_init__(self) -> None:
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"a time budget is more than 0 seconds, not {self.seconds}")
        if self.memory is not None and self.memory < 1:
            raise ValueError(f"a memory budget is at least 1 byte, not {self.memory}")

    @classmethod
    def unlimited(cls) -> Budget:
        return cls(seconds=None, memory=None)


class BudgetExceeded(Exception):
    """A budget ran out before the work was done.

    Drivers raise subclasses that carry what they found so far (the explorer's
    :class:`~refsim.explore.ExplorationStopped`); this base says which budget and how
    much was spent.
    """

    def __init__(
        self,
        limit: Limit,
        allowed: str,
        *,
        seconds: float = 0.0,
        memory: int | None = None,
        done: tuple[tuple[str, int], ...] = (),
        whole: bool = True,
    ) -> None:
        self.limit = limit
        self.allowed = allowed
        """The budget, for people: ``30 s``, ``1 GB``, ``1,000,000 states``."""
        self.seconds = seconds
        """Seconds since the work started."""
        self.memory = memory
        """The memory measured when it stopped (bytes), if it was measured."""
        self.done = done
        """The meter's tally when it stopped: (unit, count) pairs, e.g. ("states
        explored", 340000)."""
        self.whole = whole
        """False when only a share of the time ran out (:meth:`Meter.share`), not the
        command's whole budget."""
        super().__init__(limit, allowed)

    def __str__(self) -> str:
        return f"{self.limit} of {self.allowed} ran out after {seconds_text(self.seconds)}"

    def adopt(self, other: BudgetExceeded) -> None:
        """Take ``other``'s account of the spending (a driver that wraps a meter's
        exception in its own says the same thing about time and memory)."""
        self.seconds, self.memory, self.done, self.whole = (
            other.seconds, other.memory, other.done, other.whole,
        )  # fmt: skip


# -- measuring memory -----------------------------------------------------------------------

_statm: int | None = None
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_memory() -> int | None:
    """The process's resident memory in bytes (see the module docstring), or ``None`` where
    it cannot be measured."""
    global _statm
    if _statm is None and os.path.exists("/proc/self/statm"):
        try:
            _statm = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            _statm = -1
    if _statm is not None and _statm >= 0:
        try:
            return int(os.pread(_statm, 128, 0).split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


# -- spending it ----------------------------------------------------------------------------


class _Interrupt:
    pending = False


_interrupt = _Interrupt()


def note_interrupt() -> None:
    """Note a Ctrl-C beside the KeyboardInterrupt its handler raises: an exception raised
    while the garbage collector runs a callback (Hypothesis keeps one) is printed as
    "Exception ignored" and dropped, so a meter raises it again at its next look, within
    :data:`LOOK_EVERY` seconds of metered work."""
    _interrupt.pending = True


def forget_interrupt() -> None:
    """The noted Ctrl-C has been handled (its KeyboardInterrupt was caught)."""
    _interrupt.pending = False


class Meter:
    """A budget being spent (see the module docstring). Not thread-safe; one per command.

    ``clock`` and ``memory`` are how time and memory are read (tests give fakes);
    ``on_progress`` is called with the meter now and then (at most every
    :data:`PROGRESS_EVERY` seconds) while the work goes on, for a progress display.
    """

    def __init__(
        self,
        budget: Budget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        memory: Callable[[], int | None] = resident_memory,
        on_progress: Callable[[Meter], None] | None = None,
    ) -> None:
        self.budget = Budget() if budget is None else budget
        self._clock = clock
        self._memory = memory
        self.on_progress = on_progress
        self.start = clock()
        seconds = self.budget.seconds
        self.deadline = math.inf if seconds is None else self.start + seconds
        """When this meter's time runs out (a share's comes before the whole's)."""
        self._whole = self.deadline
        self.tally: dict[str, int] = {}
        """Work done so far, by unit (``"states explored"``), over every share."""
        self._root = self
        self._next_look = self.start
        self._next_progress = self.start

    @property
    def elapsed(self) -> float:
        """Seconds since the work started (the whole's start, for a share)."""
        return self._clock() - self._root.start

    @property
    def remaining(self) -> float:
        """Seconds left to this meter (``inf`` without a time budget)."""
        return max(self.deadline - self._clock(), 0.0)

    def share(self, fraction: float) -> Meter:
        """A meter for one part of the work: ``fraction`` (more than 0) of the time that
        remains (the same memory budget, tally and progress as this one)."""
        assert fraction > 0
        child = Meter.__new__(Meter)
        child.budget = self.budget
        child._clock = self._clock
        child._memory = self._memory
        child.on_progress = None
        child.start = self.start
        now = self._clock()
        child.deadline = min(self.deadline, now + fraction * max(self.deadline - now, 0.0))
        child._whole = self._whole
        child.tally = self.tally
        child._root = self._root
        child._next_look = child._next_progress = 0.0
        return child

    def fair(self, left: int) -> Meter:
        """A share for the next of ``left`` pieces of work that split the time left: twice
        an equal part (all of it for the last), since a piece that needs less leaves the
        rest to those after it."""
        return self.share(min(1.0, 2 / (left + 1)))

    def tick(self, unit: str, count: int = 1) -> None:
        """Count ``count`` more of ``unit`` done, then :meth:`check`."""
        tally = self.tally
        tally[unit] = tally.get(unit, 0) + count
        self.check()

    def check(self) -> None:
        """Raise :class:`BudgetExceeded` if the time or the memory has run out."""
        now = self._clock()
        if now >= self.deadline:
            raise self._exceeded(Limit.TIME, now)
        root = self._root
        if now < root._next_look:
            return
        root._next_look = now + LOOK_EVERY
        if _interrupt.pending:
            # A Ctrl-C whose KeyboardInterrupt was dropped (see note_interrupt): raise it.
            _interrupt.pending = False
            raise KeyboardInterrupt
        limit = self.budget.memory
        if limit is not None:
            used = self._memory()
            if used is not None and used > limit:
                raise self._exceeded(Limit.MEMORY, now, used)
        if root.on_progress is not None and now >= root._next_progress:
            root._next_progress = now + PROGRESS_EVERY
            root.on_progress(root)

    def exceeded(self, limit: Limit, allowed: str | None = None) -> BudgetExceeded:
        """The exception for a budget a driver counts itself (states, steps, examples:
        ``allowed`` says how many), or for the time or memory found short in advance."""
        if allowed is None:
            return self._exceeded(limit, self._clock(), resident_memory())
        return BudgetExceeded(limit, allowed, seconds=self.elapsed, done=self.done())

    def done(self) -> tuple[tuple[str, int], ...]:
        """The tally as (unit, count) pairs, in the order the units first appeared."""
        return tuple(self.tally.items())

    def _exceeded(self, limit: Limit, now: float, used: int | None = None) -> BudgetExceeded:
        budget = self.budget
        if limit is Limit.TIME:
            assert budget.seconds is not None or self.deadline < self._whole
            allowed = seconds_text(budget.seconds if budget.seconds is not None else 0.0)
            whole = now >= self._whole
        else:
            assert budget.memory is not None
            allowed = bytes_text(budget.memory)
            whole = True
        return BudgetExceeded(
            limit, allowed, seconds=now - self._root.start, memory=used, done=self.done(),
            whole=whole,
        )  # fmt: skip


def seconds_text(seconds: float) -> str:
    """A duration for people: ``0.4 s``, ``12 s``, ``2 min 5 s``, ``3 h 20 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs and minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24:,} days"


def bytes_text(size: float) -> str:
    """A size for people, in decimal units: ``900 KB``, ``1.2 GB``, ``15 TB``."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            value = size / scale
            text = f"{value:.1f}" if value < 10 else f"{value:,.0f}"
            return f"{text.removesuffix('.0')} {unit}"
    return f"{int(size)} bytes"

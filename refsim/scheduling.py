"""Choosers: who runs the next micro-step.

The engine asks a :class:`Chooser` at every step, giving it the enabled threads (as indices
into the scenario's threads) and the thread that ran last. Anything with a matching
``choose`` method is a chooser: replay of a schedule and seeded random live here; PCT,
Hypothesis and exhaustive drivers plug in the same way without touching the engine.
The engine checks every answer, so a chooser that names a thread that is not enabled
produces a :class:`~refsim.errors.ScheduleError` that says why.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Sequence
from typing import Protocol

from refsim.errors import ScheduleError
from refsim.model import Schedule

__all__ = ["Chooser", "NonPreemptiveChooser", "RandomChooser", "ReplayChooser"]


class Chooser(Protocol):
    """Picks the thread that runs the next micro-step."""

    def choose(self, step: int, enabled: tuple[int, ...], last: int) -> int:
        """Return one of ``enabled`` to run micro-step number ``step`` (from 1).

        ``last`` is the thread that ran the previous micro-step (-1 before the first).
        """
        ...


class NonPreemptiveChooser:
    """Keeps running the last thread while it can; otherwise the first enabled thread.

    It never preempts, so it runs the threads one after another in file order (a thread
    blocked on a lock yields to the next).
    """

    def choose(self, step: int, enabled: tuple[int, ...], last: int) -> int:
        return last if last in enabled else enabled[0]


class RandomChooser:
    """A fair random scheduler: each enabled thread is equally likely at each step.

    One ``random.Random(seed)`` per run and nothing else random, so a seed gives the same
    schedule on any machine and any Python from 3.11 on.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._random = random.Random(seed).random

    def choose(self, step: int, enabled: tuple[int, ...], last: int) -> int:
        if len(enabled) == 1:
            return enabled[0]
        # random() rather than randrange(): one C call, and just as reproducible.
        return enabled[int(self._random() * len(enabled))]


class ReplayChooser:
    """Replays a schedule, one thread per step.

    When the schedule runs out before the run ends it continues without preemptions (see
    :class:`NonPreemptiveChooser`) and remembers where, so a short prefix such as
    ``"T1 T2"`` is enough to steer a run; the run's printed schedule is the complete one.
    """

    def __init__(self, schedule: Schedule, thread_names: Sequence[str]) -> None:
        index = {name: i for i, name in enumerate(thread_names)}
        step = 1
        for name, count in schedule.runs:
            if name not in index:
                folded = {n.casefold(): n for n in thread_names}
                close = difflib.get_close_matches(name.casefold(), list(folded), n=1)
                hint = f" (did you mean {folded[close[0]]}?)" if close else ""
                raise ScheduleError(
                    f"the schedule names {name!r}, which is not a thread of this scenario"
                    f"{hint}; its threads are {', '.join(thread_names)}",
                    step=step,
                )
            step += count
        # Runs, not one entry per step: `T1*10**9` must not allocate a list.
        self._runs = [(index[name], count) for name, count in schedule.runs]
        self._length = schedule.steps
        self._run = 0
        self._used = 0
        self._rest = NonPreemptiveChooser()
        self.completed_from: int | None = None
        """The first step chosen by the non-preemptive completion, if the schedule ran out."""

    def choose(self, step: int, enabled: tuple[int, ...], last: int) -> int:
        if self._run < len(self._runs):
            thread, count = self._runs[self._run]
            self._used += 1
            if self._used == count:
                self._run += 1
                self._used = 0
            return thread
        if self.completed_from is None:
            self.completed_from = step
        return self._rest.choose(step, enabled, last)

    def leftover(self, steps_run: int) -> int:
        """How many of the schedule's steps were never used by a run of ``steps_run`` steps."""
        return max(self._length - steps_run, 0)

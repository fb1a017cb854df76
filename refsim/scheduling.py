"""Choosers: who runs the next micro-step.

The engine asks a :class:`Chooser` at every step, giving it the enabled threads (as indices
into the scenario's threads) and the thread that ran last. Anything with a matching
``choose`` method is a chooser: replay of a schedule, seeded random and the round-robin
of a timer interrupt (quantum) live here; PCT, Hypothesis and exhaustive drivers plug in
the same way without touching the engine.
The engine checks every answer, so a chooser that names a thread that is not enabled
produces a :class:`~refsim.errors.ScheduleError` that says why.
"""

from __future__ import annotations

import difflib
import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import Protocol

from refsim.errors import ScheduleError
from refsim.model import Schedule

__all__ = [
    "Chooser",
    "NonPreemptiveChooser",
    "QuantumChooser",
    "RandomChooser",
    "ReplayChooser",
]


class Chooser(Protocol):
    """Picks the thread that runs the next micro-step."""

    def choose(self, step: int, enabled: Sequence[int], last: int) -> int:
        """Return one of ``enabled`` to run micro-step number ``step`` (from 1).

        ``last`` is the thread that ran the previous micro-step (-1 before the first).
        """
        ...


class NonPreemptiveChooser:
    """Keeps running the last thread while it can; otherwise the first enabled thread.

    It never preempts, so it runs the threads one after another in file order (a thread
    blocked on a lock yields to the next).
    """

    def choose(self, step: int, enabled: Sequence[int], last: int) -> int:
        return last if last in enabled else enabled[0]


class RandomChooser:
    """A fair random scheduler: each enabled thread is equally likely at each step.

    One ``random.Random(seed)`` per run and nothing else random, so a seed gives the same
    schedule on any machine and any Python from 3.11 on.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._random = random.Random(seed).random

    def choose(self, step: int, enabled: Sequence[int], last: int) -> int:
        count = len(enabled)  # once: of 5,000 live threads, a call of Python
        if count == 1:
            return enabled[0]
        # random() rather than randrange(): one C call, and just as reproducible.
        return enabled[int(self._random() * count)]


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

    def choose(self, step: int, enabled: Sequence[int], last: int) -> int:
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


class QuantumChooser:
    """Round-robin with a time slice, the way a timer interrupt preempts a thread.

    The threads take turns in the order they are declared; each turn runs ``quantum``
    micro-steps, fewer if the thread finishes or blocks first. A turn whose quantum is
    used up while no other thread can run goes on until one can: under ``gil`` a thread
    inside a bytecode is the only one enabled, so the switch waits for the bytecode's end,
    and a thread left alone simply carries on. With ``seed``, each turn's length is drawn
    at random from 1 to ``quantum`` (one ``random.Random(seed)``, drawn once per turn).

    A move made by someone else (the learner in ``refsim play``) starts that thread's
    turn: the next choice continues it as if its quantum had begun with that move.
    """

    def __init__(self, quantum: int, *, seed: int | None = None) -> None:
        if quantum < 1:
            raise ValueError(f"a quantum is at least 1 micro-step, not {quantum}")
        self.quantum = quantum
        self.seed = seed
        self._random = None if seed is None else random.Random(seed)
        self._current = -1
        self._used = 0
        self._length = 0

    def _start(self, thread: int) -> None:
        self._current = thread
        self._used = 1
        draw = self._random
        self._length = self.quantum if draw is None else draw.randint(1, self.quantum)

    def choose(self, step: int, enabled: Sequence[int], last: int) -> int:
        if last >= 0 and last != self._current:
            self._start(last)
        going = self._used < self._length or len(enabled) == 1
        if last == self._current and last in enabled and going:
            self._used += 1
            return last
        # The turn is over (used up, or the thread finished or blocked): the next thread
        # after it in declared order, wrapping round.
        # The enabled threads are in declared order: the first after `last` by bisection.
        after = bisect_right(enabled, last)
        chosen = enabled[after] if after < len(enabled) else enabled[0]
        self._start(chosen)
        return chosen

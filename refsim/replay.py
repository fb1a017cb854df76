"""Replaying a run's schedule through the machine, for what a trace does not keep: which
threads were blocked at each step, and on what.

A trace records the micro-steps that ran, not the threads that could not run. Reports
and figures that show waiting (``… Consumer is blocked: it waits for Q to hold an
item`` under a step of ``refsim run``, a hatched stretch in a figure's lane) replay the
schedule here; the run itself pays nothing for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from refsim.machine import Machine
from refsim.model import Scenario
from refsim.trace import RunResult

__all__ = ["Wait", "waits"]


@dataclass(frozen=True, slots=True)
class Wait:
    """A stretch of steps in which a thread was blocked on one thing."""

    thread: str
    on: str
    """What it waited for, in a few words (``lock L``, ``get Q (empty)``, ``join W1``)."""
    reason: str
    """The same in a sentence's words (``Q to hold an item``)."""
    start: int
    """The first step it could not take (a wait that began before step 1 starts at 1)."""
    end: int | None
    """The last step during which it still waited; ``None`` if it still waited at the
    end of the run."""


def waits(scenario: Scenario, result: RunResult) -> tuple[Wait, ...]:
    """Every stretch in which a thread of ``result`` was blocked on a lock or one of the
    waiting primitives, in order of start. ``scenario`` is the one the run ran (one
    process of a file with several: :meth:`~refsim.model.Scenario.process`); a schedule
    it cannot replay (a timed run of several processes) gives what it could replay."""
    machine = Machine(scenario, result.runtime)
    if not machine.may_block:
        return ()
    index = {name: t for t, name in enumerate(machine.thread_names)}
    state = machine.initial()
    open_: dict[int, tuple[str, str, int]] = {}
    found: list[Wait] = []

    def look(step: int) -> None:
        """Open and close the stretches after ``step`` steps have run."""
        now = {}
        for t, reason in machine.blocked(state):
            on = machine.waits_on(state, t)
            assert on is not None, "a blocked thread waits on something"
            now[t] = (on, reason)
        for t in list(open_):
            on, reason, start = open_[t]
            if now.get(t, ("", ""))[1] != reason:
                found.append(Wait(machine.thread_names[t], on, reason, start, step))
                del open_[t]
        for t, (on, reason) in now.items():
            if t not in open_:
                open_[t] = (on, reason, step + 1)

    look(0)
    for name in result.schedule:
        t = index.get(name)
        if t is None or t not in machine.enabled(state):
            break
        state = machine.step(state, t)[0]
        look(state.step)
    for t, (on, reason, start) in open_.items():
        found.append(Wait(machine.thread_names[t], on, reason, start, None))
    return tuple(sorted(found, key=lambda w: (w.start, index[w.thread])))

"""The engine: runs a scenario on SimPy in controlled mode (this module and
:mod:`refsim.timed`, the timed driver, are the only SimPy importers).

Controlled mode (this module's :func:`run`): a chooser decides, at every micro-step, which
enabled thread runs it; every micro-step takes one tick of simulated time. One thread
runs at a time, so the simulation is one SimPy process, the CPU, that runs the thread
whose turn it is: after each micro-step it asks the chooser who is next and either keeps
going or hands the CPU to the chosen thread (one event, scheduled as many ticks ahead as
the turn ran steps). A thread that keeps going needs no event at all: nothing else can
happen before its next step. So a run costs one SimPy event per switch between threads,
never more than one per micro-step (the bare loop the benchmark compares against), and a
replayed ``T1*1000`` costs one.

A thread that is not running holds no SimPy process and no event: it is its registers in
the machine state. (With a process per thread, a run of 5,000 threads held 5,000
generators and resumed a different one at each switch, which cost as much as the
machine's steps: issue 16.)

Semantics live in :class:`refsim.machine.Machine`; this module only decides *when* each
thread steps and records what happened. Timed mode (micro-step costs, cores, the GIL's
switch interval) is the second driver, :mod:`refsim.timed`, reusing the same machine.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

import simpy

from refsim.budget import BudgetExceeded, Meter
from refsim.errors import ScheduleError
from refsim.machine import Machine
from refsim.model import Runtime, Scenario, Schedule
from refsim.scheduling import Chooser, RandomChooser, ReplayChooser
from refsim.trace import Anomaly, RunResult, TraceEvent

__all__ = ["CHECK_EVERY", "DEFAULT_MAX_STEPS", "RAN", "run", "run_length"]

DEFAULT_MAX_STEPS = 10_000_000
"""Step budget of one controlled run (``--max-steps``): protects against ``compute 10**12``."""

CHECK_EVERY = 4096
"""Micro-steps between two looks at a run's meter (time and memory budgets)."""

RAN = "micro-steps run"
"""The unit of a run's work in a meter's tally."""

_END = -1
_BUDGET = -2


class _ControlledRun:
    """The mutable state of one controlled run; private to :func:`run`."""

    def __init__(
        self,
        machine: Machine,
        chooser: Chooser,
        max_steps: int,
        *,
        keep_trace: bool,
        trace_limit: int | None,
        on_event: Callable[[TraceEvent], object] | None,
        meter: Meter | None,
    ) -> None:
        self.machine = machine
        self.chooser = chooser
        self.max_steps = max_steps
        self.meter = meter
        self.env = simpy.Environment()
        self.state = machine.initial()
        self.trace: list[TraceEvent] | None = [] if keep_trace else None
        self.trace_limit = trace_limit
        self.record: Callable[[TraceEvent], object] | None = (
            on_event if on_event is not None else None if self.trace is None else self.trace.append
        )
        """Where each step's event goes: the trace (until it has ``trace_limit`` events), or
        ``on_event``, or nowhere."""
        self.stop_at = self._next_look(0)
        """The step at which the hot loop next looks at its budgets."""
        self.counted = 0
        """Steps already counted into the meter's tally."""
        self.limit: str | None = None
        """The budget that stopped the run (``steps``, ``time`` or ``memory``)."""
        self.anomalies: list[Anomaly] = []
        self.steps = 0
        self.runs: list[int] = []
        """The schedule so far as flat runs: thread, steps, thread, steps, one pair per turn."""
        self.preempted: list[int] = []
        self.stopped = _END
        self.error: ScheduleError | None = None

    def execute(self) -> None:
        enabled = self.machine.enabled(self.state)
        if not enabled:
            return
        if self.max_steps < 1:
            self.stopped, self.limit = _BUDGET, "steps"
            return
        first = self.chooser.choose(1, enabled, -1)
        if first not in enabled:
            self._refuse(first)
        else:
            self.env.process(self._cpu(first))
            self.env.run()
        if self.error is not None:
            raise self.error

    def _cpu(self, t: int) -> Generator[simpy.Event, Any, None]:
        """The CPU: runs thread ``t``'s turn, hands over to the chosen thread, and so on
        until no thread is enabled, a budget runs out or the chooser errs."""
        # The hot loop of every controlled run: everything it touches is a local, and a
        # step that keeps the same thread does no more than the machine step, the
        # enabled set and the chooser's answer. Whether a thread is enabled is asked of
        # the enabled set the step computed anyway (Machine.is_enabled would look the
        # thread's registers up again: with thousands of threads, a call of Python).
        env = self.env
        timeout = env.timeout
        machine = self.machine
        step = machine.step
        enabled_in = machine.enabled
        choose = self.chooser.choose
        found = self.anomalies.extend
        preempted = self.preempted
        state = self.state
        n = self.steps
        record = self.record
        stop_at = self.stop_at
        enabled: Sequence[int] | None = None
        while True:
            start = n
            while True:
                # Each micro-step takes one tick, so the clock reads n before step n + 1.
                state, event, anomalies = step(state, t, n)
                n += 1
                if record is not None:
                    record(event)
                if anomalies:
                    found(anomalies)
                enabled = enabled_in(state)
                if not enabled:
                    enabled = None  # asked once: with thousands of threads, a call of Python
                    break
                if n >= stop_at:
                    stop_at = self._look(n)
                    record = self.record
                    if stop_at < 0:
                        break
                nxt = choose(n + 1, enabled, t)
                if nxt != t or t not in enabled:
                    break
            self.state = state
            self.steps = n
            self.runs += (t, n - start)
            if enabled is None or self.stopped == _BUDGET:
                return
            if nxt not in enabled:
                self._refuse(nxt)
                return
            if t in enabled:
                preempted.append(n + 1)
            # The hand-over: the turn's steps took their ticks.
            yield timeout(n - env.now)
            t = nxt

    def _next_look(self, n: int) -> int:
        """The step at which to look at the budgets next: the step budget, the meter's
        next look, or the trace's limit, whichever comes first."""
        at = self.max_steps
        if self.meter is not None:
            at = min(at, n + CHECK_EVERY)
        if self.trace is not None and self.trace_limit is not None and self.record is not None:
            at = min(at, n + max(self.trace_limit - len(self.trace), 1))
        return at

    def _look(self, n: int) -> int:
        """After step ``n``: stop recording a full trace, and stop the run (``-1``) if a
        budget has run out; else the step of the next look."""
        trace, limit = self.trace, self.trace_limit
        if trace is not None and limit is not None and len(trace) >= limit:
            del trace[limit:]
            self.record = None
        if n >= self.max_steps:
            self.stopped, self.limit = _BUDGET, "steps"
            return -1
        if self.meter is not None:
            try:
                self.meter.tick(RAN, n - self.counted)
            except BudgetExceeded as error:
                self.stopped, self.limit = _BUDGET, error.limit.value
                return -1
            finally:
                self.counted = n
        self.stop_at = self._next_look(n)
        return self.stop_at

    def _refuse(self, chosen: int) -> None:
        """Stop the run with the error that says why ``chosen`` may not run the next step."""
        step = self.steps + 1
        machine = self.machine
        if 0 <= chosen < len(machine.programs):
            reason = machine.why_not_enabled(self.state, chosen)
            name = machine.thread_names[chosen]
            self.error = ScheduleError(f"{name} cannot run: {reason}", step=step)
        else:
            self.error = ScheduleError(f"the chooser picked thread #{chosen}", step=step)
        self.stopped = _END

    def result(self, runtime: Runtime, completed_from: int | None) -> RunResult:
        machine = self.machine
        finished = self.stopped == _END
        anomalies = list(self.anomalies)
        if finished:
            anomalies.extend(machine.conclude(self.state))
        names = machine.thread_names
        blocked: tuple[tuple[str, str], ...] = ()
        if finished and not self.machine.enabled(self.state):
            blocked = tuple(
                (names[t], on)
                for t in self.state.live  # a thread that is not live waits on nothing
                if (on := machine.waits_on(self.state, t)) is not None
            )
        return RunResult(
            scenario=machine.scenario.name,
            runtime=runtime,
            schedule=Schedule.from_runs(
                (names[t], count) for t, count in zip(self.runs[::2], self.runs[1::2], strict=True)
            ),
            anomalies=tuple(anomalies),
            final=machine.final(self.state),
            true_refs=tuple(zip(machine.object_names, self.state.true_refs, strict=True)),
            trace=None if self.trace is None else tuple(self.trace),
            steps=self.steps,
            preemptions=len(self.preempted),
            preempted=tuple(self.preempted),
            finished=finished,
            completed_from=completed_from,
            blocked=blocked,
            stopped=self.limit,
            trace_complete=self.trace is not None and len(self.trace) == self.steps,
        )


def run(
    scenario: Scenario,
    *,
    runtime: Runtime | None = None,
    schedule: Schedule | None = None,
    seed: int = 0,
    chooser: Chooser | None = None,
    keep_trace: bool = True,
    max_steps: int = DEFAULT_MAX_STEPS,
    trace_limit: int | None = None,
    on_event: Callable[[TraceEvent], object] | None = None,
    meter: Meter | None = None,
) -> RunResult:
    """Run ``scenario`` once in controlled mode and return what happened.

    The schedule comes from ``chooser`` if given, else the replay of ``schedule`` (which is
    completed without preemptions if it runs out), else a fair random scheduler seeded
    with ``seed``. ``runtime`` overrides the scenario's. With ``keep_trace=False`` no trace
    is kept (memory stays flat for big runs); with ``trace_limit=N`` only its first N
    events; with ``on_event`` each event is handed over as it happens instead (to be
    written out as the run goes) and none is kept. Raises :class:`ScheduleError` when the
    schedule names an unknown thread, a thread that is not enabled at that step, or more
    steps than the run has.

    The run stops early, unfinished (``RunResult.stopped`` says why), after ``max_steps``
    micro-steps or when the ``meter``'s time or memory runs out (looked at every
    :data:`CHECK_EVERY` micro-steps, which it counts).
    """
    machine = Machine(scenario, runtime)
    replay: ReplayChooser | None = None
    if chooser is None:
        if schedule is not None:
            chooser = replay = ReplayChooser(schedule, machine.thread_names)
        else:
            chooser = RandomChooser(seed)
    driver = _ControlledRun(
        machine, chooser, max_steps, keep_trace=keep_trace and on_event is None,
        trace_limit=trace_limit, on_event=on_event, meter=meter,
    )  # fmt: skip
    driver.execute()
    if meter is not None:
        meter.tally[RAN] = meter.tally.get(RAN, 0) + driver.steps - driver.counted
    steps = driver.steps
    if replay is not None and driver.stopped == _END and replay.leftover(steps):
        raise ScheduleError(
            f"the schedule has {steps + replay.leftover(steps)} steps but the run ends after "
            f"{steps}: every thread has finished or is blocked",
            step=steps + 1,
        )
    return driver.result(machine.runtime, None if replay is None else replay.completed_from)


def run_length(scenario: Scenario, runtime: Runtime | None = None) -> int:
    """The micro-steps a run of ``scenario`` takes when no thread blocks for good (a
    deadlock ends it sooner): every thread runs its whole program."""
    machine = Machine(scenario, runtime)
    return sum(instr.times for program in machine.programs for instr in program)

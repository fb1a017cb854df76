"""Timed mode: a scenario run in simulated time on SimPy (MODEL.md, "Timed mode").

The second driver beside :mod:`refsim.engine`'s controlled one. It drives the same
:meth:`refsim.machine.Machine.step`, so semantics cannot differ; what it adds is *when*
each thread may step:

* every micro-step takes its kind's cost (:mod:`refsim.costs`, overridden by the
  scenario's ``timing:``), spread by a seeded ``jitter``;
* a thread runs only on one of ``cores`` CPUs; a thread that could run but finds every
  core busy is *ready*; a core is kept until the thread blocks, finishes or (under
  ``gil``) drops the GIL: the model has no operating-system time slice;
* ``io D`` runs its IO micro-step on the CPU, then waits ``D`` using no core (and under
  ``gil`` without the GIL);
* a thread that is blocked (an ``acquire`` of a held lock, or any of the waiting
  primitives: ``wait E``, ``get Q`` on an empty queue, ``join T``, ...) uses no core and,
  under ``gil``, drops the GIL, as CPython's blocking calls do; it sleeps until a step
  that may unblock it (:meth:`~refsim.machine.Machine.wakes`), then queues for a core and
  the GIL again;
* under ``gil`` a thread must hold its process's GIL to run a micro-step. It drops the
  GIL at an ``io``, when it blocks, at its end, or when asked: a waiter
  that has waited ``switch_interval`` without any switch happening sets the *drop
  request*; the holder drops at its next bytecode boundary and hands the GIL straight to
  the first waiter (``GIL_HANDOFF`` later), so it cannot take it back before a waiter has
  had it (CPython's forced switching). Waiters are served first come, first served.
* processes (``processes:``) each have their own GIL and their own copies of every
  object, variable and lock: each is a :class:`~refsim.machine.Machine` of its own, and
  process *k* (from 0) starts ``k × PROCESS_START`` after the first.

Effects happen when a micro-step starts, except a ``compute`` stretch, which takes
effect when it ends (it touches nothing shared, so only the order of the trace shows it:
the stretch is listed when it ends, with the time it started). ``compute n`` is not n
events: the holder runs as many bytecodes as fit before it is asked to drop the GIL (one
SimPy event, two if a drop request cuts it), and the trace shows the stretch as one
event standing for k micro-steps.

Simultaneous events keep SimPy's first-in-first-out order and the only randomness is one
``random.Random(seed)`` for the jitter, so a run is a pure function of (scenario, seed).
The order in which micro-steps took effect is the run's schedule; replaying it in
controlled mode (one process at a time: :meth:`~refsim.model.Scenario.process`) reaches
the same final state and anomalies.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, replace
from heapq import heappush
from typing import Any, cast

import simpy

from refsim.budget import BudgetExceeded, Meter
from refsim.costs import GIL_HANDOFF, PROCESS_START, TimingSettings, settings
from refsim.machine import COMPUTE, IO, QUEUE, Instr, Machine, State
from refsim.model import Runtime, Scenario, Schedule
from refsim.perthread import replaced
from refsim.runtimes import traits
from refsim.trace import Anomaly, FinalValue, RunResult, ThreadMetrics, TimedMetrics, TraceEvent

__all__ = ["CHECK_EVERY", "SIMULATED", "Placement", "TimedRunStopped", "placement", "run_timed"]

CHECK_EVERY = 1024
"""Events (micro-steps applied, GIL timers fired) between two looks at the meter."""

SIMULATED = "micro-steps simulated"
"""The unit of a timed run's work in a meter's tally."""


class TimedRunStopped(BudgetExceeded):
    """A timed run whose time or memory budget ran out; how far it had got."""

    def __init__(self, spent: BudgetExceeded, *, steps: int, simulated_ns: int) -> None:
        super().__init__(spent.limit, spent.allowed)
        self.adopt(spent)
        self.steps = steps
        """Micro-steps applied when it stopped."""
        self.simulated_ns = simulated_ns
        """The simulated time it had reached."""


# Where a thread's time goes (indices into its accounts).
_RUNNING, _GIL_WAIT, _IO_WAIT, _READY, _LOCK_WAIT, _BLOCKED = 0, 1, 2, 3, 4, 5
_STARTING, _DONE = 6, 7
"""Not accounted: waiting for its process to start, and finished."""
_STATE_NAMES = ("running", "gil_wait", "io_wait", "ready", "lock_wait", "blocked")
"""The accounts' names in :attr:`~refsim.trace.TimedMetrics.spans`."""


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a thread lives: its process's index and its index inside that process."""

    process: int
    local: int


def placement(scenario: Scenario) -> dict[str, Placement]:
    """Each thread's process and index in it."""
    return {name: Placement(p, i) for name, (p, i) in _places(scenario).items()}


def _places(scenario: Scenario) -> dict[str, tuple[int, int]]:
    """:func:`placement` as pairs of ints (5,000 Placement values cost more to build than
    5,000 threads of 4 ops to run)."""
    return {
        name: (p, i)
        for p, (_, names) in enumerate(scenario.process_groups())
        for i, name in enumerate(names)
    }


class _Wake(simpy.Event):
    """An event a waiting thread sleeps on; given to it (now or later) by another."""

    def give_after(self, delay: int) -> None:
        # succeed() always fires at once; a GIL hand-off takes time.
        self._ok = True
        self._value = None
        self.env.schedule(self, delay=delay)


class _Runner:
    """One thread of a timed run: its generator, resumed by the events it waits on.

    What :class:`simpy.Process` does, less two events per thread that do nothing. A
    process is started by an ``Initialize`` event and, when its generator ends, is itself
    an event that SimPy schedules and pops. Here the threads are started in order before
    the simulation runs (:meth:`start`), as their ``Initialize`` events, urgent and all at
    time 0, would run them one after another before anything else; and a thread that ends
    schedules nothing (nothing ever waits for a thread's process). SimPy orders
    simultaneous events by when they were created, so leaving out events that no callback
    or value depends on leaves the order of every other event as it was (issue 16: with
    5,000 threads those were 10,000 of the heap's events).

    The threads never wait on an event that fails, so a failure is an assertion."""

    __slots__ = ("_send",)

    def __init__(self, generator: Generator[simpy.Event, Any, None]) -> None:
        self._send = generator.send

    def start(self) -> None:
        """Run the thread up to its first wait."""
        self._advance(None)

    def resume(self, event: simpy.Event) -> None:
        """A callback of the event the thread waits on: run it up to its next wait."""
        assert event._ok, "a timed run's events never fail"
        self._advance(event._value)

    def _advance(self, value: Any) -> None:
        while True:
            try:
                event = self._send(value)
            except StopIteration:
                return
            if event.callbacks is not None:
                event.callbacks.append(self.resume)
                return
            value = event._value  # already processed: go on at once, as SimPy does


class _Timers:
    """The switch-interval timers of one GIL's waiters that fire at the same instant,
    created one after another with no other event between them: one SimPy event for all.

    Every waiter has a timer, as in CPython, and with thousands of waiters queued for
    the GIL at once their timers were most of a timed run's events, each pushed into and
    popped from a heap of thousands. Timers created back to back for the same instant
    stay back to back: SimPy orders simultaneous events by when they were created (an
    event id from one counter), and no other event took an id between theirs, so nothing
    can run between their firings. One event at the first one's place in the queue,
    firing each in turn, is the same run: each timer still takes its id from SimPy's
    counter as its own event would, so every other event keeps its id, and a timer that
    does not follow the last one's id at once starts a group of its own (see
    :meth:`_TimedRun._start_timer`; the tests hold the run to the one with a SimPy event
    per timer)."""

    __slots__ = ("at", "gil", "grants", "last", "members")

    def __init__(
        self, gil: _Gil, at: float, grants: int, eid: int, member: tuple[int, int]
    ) -> None:
        self.gil = gil
        self.at = at
        """When they fire (simulated ns)."""
        self.grants = grants
        """The GIL's switch count when they were set: the same for every timer."""
        self.last = eid
        """The SimPy event id of the last timer: the next may join only with this + 1."""
        self.members: list[tuple[int, int]] | None = [member]
        """Each timer's waiter and its generation (``timer_gen``), in the order of their
        ids; ``None`` once they have fired."""


class _Gil:
    """One process's GIL."""

    __slots__ = (
        "drop_event", "drop_request", "grants", "holder", "last", "queued", "ran", "waiters"
    )  # fmt: skip

    def __init__(self) -> None:
        self.holder = -1
        """The thread holding it (or handed it and about to run), -1 when free."""
        self.last = -1
        """The thread that held it last (a grant to another thread is a switch)."""
        self.waiters: deque[int] = deque()
        self.queued: set[int] = set()
        """The threads in ``waiters``: a waiter's timer asks whether it still waits, and
        with thousands of threads queued a scan of the queue costs more than a step."""
        self.drop_request = False
        self.grants = 0
        """CPython's ``switch_number``: a waiter asks for a drop only if this has not
        changed during its whole interval."""
        self.drop_event: simpy.Event | None = None
        """Set while the holder runs a ``compute`` stretch: a drop request cuts it."""
        self.ran = False
        """Whether the holder has run a micro-step since it took the GIL: it honours a drop
        request only then, so every hand-off makes progress (a switch interval shorter
        than a hand-off would otherwise pass the GIL around forever)."""


class _TimedRun:
    """The mutable state of one timed run; private to :func:`run_timed`."""

    def __init__(
        self, scenario: Scenario, runtime: Runtime, timing: TimingSettings, seed: int,
        keep_trace: bool, meter: Meter | None = None,
    ) -> None:  # fmt: skip
        self.env = simpy.Environment()
        self.meter = meter
        self.countdown = CHECK_EVERY
        """Events left before the next look at the meter."""
        self.counted = 0
        """Micro-steps already counted into the meter's tally."""
        self.spent: BudgetExceeded | None = None
        """The budget that ran out; the run stops before its next event."""
        self.halt = self.env.event()
        self.halt.callbacks.append(simpy.core.StopSimulation.callback)
        self.timing = timing
        self.costs = {kind.value: ns for kind, ns in timing.costs.items()}
        self.random = random.Random(seed).random
        self.gil_on = traits(runtime).bytecode_atomic
        self.machines = [Machine(sub, runtime) for sub in scenario.per_process()]
        self.states: list[State] = [m.initial() for m in self.machines]
        self.names = scenario.thread_names
        where = _places(scenario)
        self.process_of = [where[name][0] for name in self.names]
        """Each thread's process."""
        self.local_of = [where[name][1] for name in self.names]
        """Each thread's index in its process."""
        self.gils = [_Gil() for _ in self.machines]
        self.wait_events: list[dict[tuple[str, int], simpy.Event]] = [{} for _ in self.machines]
        """Per process, an event per thing some thread is blocked on (Machine.wait_key)."""
        self.free_cores = timing.cores
        self.ready: deque[int] = deque()
        n = len(self.names)
        self.has_core = [False] * n
        # Each thread gets a fresh event when it starts to wait (_want_gil, _want_core);
        # until then one shared placeholder stands in (5,000 threads: not 5,000 events).
        self.wake: list[_Wake] = [_Wake(self.env)] * n
        self.timer_gen = [0] * n
        self.forming: _Timers | None = None
        """The group of timers created last, which the next timer may join."""
        self.busy_until = [0] * n
        """Per thread, when the micro-step it is running ends (for the waiters' timers)."""
        self.status = [_STARTING] * n
        self.since = [0] * n
        self.accounts = [[0] * 6 for _ in range(n)]
        self.finished_at: list[int | None] = [None] * n
        self.keep_trace = keep_trace
        self.trace: list[TraceEvent] = []
        self.counts: list[int] = []
        self.durations: list[int] = []
        self.runs: list[tuple[str, int]] = []
        self.anomalies: list[Anomaly] = []
        self.steps = 0
        self.preemptions = 0
        self.last = -1
        self.drop_requests = 0
        # Recorded with the trace, for the timed figure: [thread, state, start, end] per
        # thread (adjacent equal states merged), [process, thread, start, end] per GIL
        # holding, and (process, time) per drop request.
        self.spans: list[list[list[int]]] = [[] for _ in range(n)]
        self.holdings: list[list[int]] = []
        self.gil_since = [0] * len(self.machines)
        self.drops: list[tuple[int, int]] = []
        self.threads = [_Runner(self._thread(g)) for g in range(n)]

    # -- accounting --------------------------------------------------------------------

    def _set(self, g: int, status: int) -> None:
        now = int(self.env.now)
        old = self.status[g]
        if old < _STARTING:
            self.accounts[g][old] += now - self.since[g]
            if self.keep_trace:  # the spans are the trace's (no call at every step without)
                self._span(g, old, now)
        self.status[g] = status
        self.since[g] = now

    def _span(self, g: int, status: int, now: int) -> None:
        """Record that ``g`` was in ``status`` from ``since`` until ``now`` (for the trace)."""
        start = self.since[g]
        if now == start:
            return
        spans = self.spans[g]
        if spans and spans[-1][1] == status and spans[-1][3] == start:
            spans[-1][3] = now
        else:
            spans.append([g, status, start, now])

    def _cost(self, instr: Instr) -> int:
        ns = self.costs[instr.micro]
        jitter = self.timing.jitter
        if jitter and ns:
            ns = max(0, round(ns * (1 + jitter * (2 * self.random() - 1))))
        return ns

    # -- one thread --------------------------------------------------------------------

    def _thread(self, g: int) -> Generator[simpy.Event, Any, None]:
        env = self.env
        p, t = self.process_of[g], self.local_of[g]
        machine = self.machines[p]
        gil = self.gils[p]
        if p:
            yield env.timeout(p * PROCESS_START)
        while True:
            instr = machine.next_instr(self.states[p], t)
            if instr is None:
                break
            # A machine whose threads can never block has nothing to wait on.
            key = machine.wait_key(self.states[p], t) if machine.may_block else None
            if key is not None:
                self._drop_gil(g, gil)
                self._release_core(g)
                self._set(g, _LOCK_WAIT if key[0] == "lock" else _BLOCKED)
                yield self._wait_event(p, key)
                continue
            # A GIL or a core granted at once changed nothing another thread could see:
            # go on (a wait lets others run, so the loop looks again after it).
            if self.gil_on and gil.holder != g:
                wait = self._want_gil(g, gil)
                if wait is not None:
                    yield wait
                    continue
            if not self.has_core[g]:
                wait = self._want_core(g)
                if wait is not None:
                    yield wait
                    continue
            if self.gil_on and instr.first and gil.drop_request and gil.ran:
                # Asked to drop at this bytecode boundary: hand over, then queue again.
                self._drop_gil(g, gil)
                self._release_core(g)
                continue
            self._set(g, _RUNNING)
            if instr.code == COMPUTE:
                yield from self._compute(g, p, t, gil, instr)
                continue
            start = int(env.now)
            cost = self._cost(instr)
            wait_io = instr.delta if instr.code == IO else 0
            before = self.states[p]
            self._step(g, p, t, 1, start, cost + wait_io)
            self.busy_until[g] = start + cost
            if machine.may_block:  # else no thread ever sleeps on a key
                self._wake(p, machine.wakes(instr))
            if instr.code == QUEUE:
                # Free-threaded: an object queued for its owner wakes a blocked owner, which
                # merges it (the eval breaker's work) before it waits again.
                owner = machine.owner_of[instr.word]
                self._wake(p, machine.wait_key(before, owner))
            # A waiting thread holds no state: thousands of threads each keeping one would
            # take memory quadratic in their number.
            del before
            if cost:
                yield env.timeout(cost)
            if instr.code == IO:
                self._drop_gil(g, gil)
                self._release_core(g)
                self._set(g, _IO_WAIT)
                if wait_io:
                    yield env.timeout(wait_io)
        self._drop_gil(g, gil)
        self._release_core(g)
        self._set(g, _DONE)
        self.finished_at[g] = int(env.now)
        if machine.may_block:  # a join of this thread may be waiting
            self._wake(p, ("thread", t))

    def _compute(
        self, g: int, p: int, t: int, gil: _Gil, instr: Instr
    ) -> Generator[simpy.Event, Any, None]:
        """Run as many of the ``compute`` op's remaining bytecodes as fit before a drop
        request, in one stretch, and apply them when it ends."""
        env = self.env
        left = instr.times - self.states[p].threads[t].reps
        per = self._cost(instr)
        start = int(env.now)
        count = left
        if per:
            done = env.timeout(per * left)
            self.busy_until[g] = start + per * left
            if self.gil_on:
                gil.drop_event = cut = env.event()
                yield done | cut
                gil.drop_event = None
                if not done.processed and int(env.now) < start + per * left:
                    # The drop request came mid-bytecode: finish that one, then stop.
                    elapsed = int(env.now) - start
                    count = min(left, max(1, -(-elapsed // per)))
                    end = self.busy_until[g] = start + per * count
                    if end > env.now:
                        yield env.timeout(end - int(env.now))
            else:
                yield done
        self._step(g, p, t, count, start, int(env.now) - start)

    # -- applying micro-steps ----------------------------------------------------------

    def _look(self) -> None:
        """Count one event; every CHECK_EVERY, look at the meter. When a budget has run out
        the run halts before its next event (an exception raised inside a SimPy process
        would let the other processes' events at that instant run first)."""
        self.countdown -= 1
        if not self.countdown and self.meter is not None:
            self.countdown = CHECK_EVERY
            steps, self.counted = self.steps - self.counted, self.steps
            try:
                self.meter.tick(SIMULATED, steps)
            except BudgetExceeded as error:
                if self.spent is None:
                    self.spent = error
                    self.halt.succeed()

    def _step(self, g: int, p: int, t: int, count: int, time: int, duration: int) -> None:
        """Apply ``count`` micro-steps of thread ``g`` (more than one only for a compute
        stretch) through the machine, and record them."""
        self._look()
        last = self.last
        if last >= 0 and last != g and self.status[last] != _DONE:
            # A preemption exactly as controlled mode counts it: the thread that ran the
            # previous micro-step could have run this one (not if it has ended since).
            lp, lt = self.process_of[last], self.local_of[last]
            if lt in self.machines[lp].enabled(self.states[lp]):
                self.preemptions += 1
        self.last = g
        state = self.states[p]
        if count > 1:
            # A compute bytecode only counts its repetitions; the machine runs the last.
            ts = state.threads[t]
            skipped = ts._replace(reps=ts.reps + count - 1)
            state = state._replace(
                threads=replaced(state.threads, t, skipped), step=state.step + count - 1
            )
        self.states[p], event, anomalies = self.machines[p].step(state, t, time)
        self.gils[p].ran = True
        self.steps += count
        name = self.names[g]
        if self.runs and self.runs[-1][0] == name:
            self.runs[-1] = (name, self.runs[-1][1] + count)
        else:
            self.runs.append((name, count))
        if len(self.machines) > 1:
            # Each process counts its own steps; the run counts them all.
            event = event._replace(step=self.steps)
            anomalies = tuple(a._replace(step=self.steps) for a in anomalies)
        if self.keep_trace:
            self.trace.append(event)
            self.counts.append(count)
            self.durations.append(duration)
        self.anomalies.extend(anomalies)

    def _wait_event(self, p: int, key: tuple[str, int]) -> simpy.Event:
        events = self.wait_events[p]
        if key not in events:
            events[key] = self.env.event()
        return events[key]

    def _wake(self, p: int, key: tuple[str, int] | None) -> None:
        """Wake every thread of process ``p`` blocked on ``key``: each checks again."""
        if key is not None:
            event = self.wait_events[p].pop(key, None)
            if event is not None:
                event.succeed()

    # -- the GIL -----------------------------------------------------------------------

    def _want_gil(self, g: int, gil: _Gil) -> simpy.Event | None:
        """Take the GIL if it is free (``None``), else queue and return what to wait on."""
        if gil.holder < 0:
            self._grant(gil, g)
            return None
        gil.waiters.append(g)
        gil.queued.add(g)
        self._set(g, _GIL_WAIT)
        wake = self.wake[g] = _Wake(self.env)
        self.timer_gen[g] += 1
        self._start_timer(gil, g)
        return wake

    def _grant(self, gil: _Gil, g: int) -> None:
        if gil.last != g and gil.last >= 0:
            gil.grants += 1
        gil.last = gil.holder = g
        gil.drop_request = False
        gil.ran = False
        self.gil_since[self.process_of[g]] = int(self.env.now)

    def _drop_gil(self, g: int, gil: _Gil) -> None:
        """``g`` lets go of the GIL (if it holds it): straight to the first waiter."""
        if not self.gil_on or gil.holder != g:
            return
        gil.holder = -1
        self._holding(g, int(self.env.now))
        if gil.waiters:
            nxt = gil.waiters.popleft()
            gil.queued.discard(nxt)
            self._grant(gil, nxt)
            self.wake[nxt].give_after(GIL_HANDOFF)

    pool_timers = True
    """Whether timers that fire together share one SimPy event (:class:`_Timers`); the
    tests turn it off to hold the run to one with an event per timer."""

    def _start_timer(self, gil: _Gil, g: int, ticks: int = 1) -> None:
        env = self.env
        when = self.timing.switch_interval * ticks
        if not self.pool_timers:
            # What the timer checks when it fires rides on it as its value: no closure.
            timer = env.timeout(when, (gil, g, self.timer_gen[g], gil.grants))
            timer.callbacks.append(self._timer_fired)
            return
        # The id a Timeout of its own would take, from SimPy's counter (simpy.core:
        # Environment.schedule), so that every later event's id is as it would be.
        self._add_timer(gil, g, env.now + when, next(env._eid))

    def _add_timer(self, gil: _Gil, g: int, at: float, eid: int) -> None:
        """Waiter ``g``'s timer, firing at ``at`` with the SimPy event id ``eid``: into the
        group created last if it follows that group's last timer, else a group of its own."""
        member = (g, self.timer_gen[g])
        group = self.forming
        if (
            group is not None
            and group.last == eid - 1
            and group.at == at
            and group.gil is gil
            and group.grants == gil.grants
            and group.members is not None
        ):
            group.members.append(member)
            group.last = eid
            return
        env = self.env
        group = self.forming = _Timers(gil, at, gil.grants, eid, member)
        event = simpy.Event(env)
        event._ok = True
        event._value = group
        event.callbacks.append(self._timers_fired)
        # Where a Timeout created now would go: the first timer's place in the queue.
        heappush(env._queue, (at, simpy.events.NORMAL, eid, event))

    def _timers_fired(self, timer: simpy.Event) -> None:
        """A group of timers (:class:`_Timers`, the event's value) fires: each in turn, as
        :meth:`_fire` would fire it alone."""
        group = cast(_Timers, timer.value)
        members = group.members
        assert members is not None, "a group of timers fires once"
        group.members = None
        gil, grants = group.gil, group.grants
        timer_gen, queued, look, eids = self.timer_gen, gil.queued, self._look, self.env._eid
        later: _Timers | None = None
        for g, generation in members:
            look()
            if timer_gen[g] != generation or gil.holder == g or g not in queued:
                continue  # it got the GIL (or is waiting again, on a newer timer)
            if later is None:
                # The first waiter still waiting asks for the drop, if any does: the ones
                # after it find the GIL as it left it (nothing else runs between them),
                # so they ask nothing and wait as many ticks, into the same group.
                self._start_timer(gil, g, self._ask(gil, g, grants))
                later = self.forming
                assert later is not None
                continue
            eid = next(eids)
            if later.last == eid - 1:
                later.members.append((g, generation))  # type: ignore[union-attr]
                later.last = eid
            else:  # an event took an id between them (the halt of a budget)
                self._add_timer(gil, g, later.at, eid)
                later = self.forming

    def _timer_fired(self, timer: Any) -> None:
        """A waiter's timer (a ``Timeout`` whose value says whose) has fired."""
        gil: _Gil
        gil, g, generation, grants = timer.value
        self._look()
        if self.timer_gen[g] != generation or gil.holder == g or g not in gil.queued:
            return  # it got the GIL (or is waiting again, on a newer timer)
        self._start_timer(gil, g, self._ask(gil, g, grants))

    def _ask(self, gil: _Gil, g: int, grants: int) -> int:
        """Waiter ``g``'s timer, set when the GIL's switch count was ``grants``, has fired
        while ``g`` waits: ask the holder to drop the GIL if no switch has happened since;
        return in how many intervals the timer fires next."""
        if gil.grants == grants and gil.holder >= 0 and not gil.drop_request:
            gil.drop_request = True
            self.drop_requests += 1
            if self.keep_trace:
                self.drops.append((self.process_of[g], int(self.env.now)))
            if gil.drop_event is not None and not gil.drop_event.triggered:
                gil.drop_event.succeed()
        if gil.drop_request and gil.grants == grants and gil.holder >= 0:
            # Asked already, and the holder is inside one micro-step until busy_until: every
            # tick before then would find nothing changed. Skip to the first one after it
            # (a micro-step costing 1,000 s is one event, not 200,000 ticks).
            ahead = self.busy_until[gil.holder] - int(self.env.now)
            return max(1, -(-ahead // self.timing.switch_interval))
        return 1

    def _holding(self, g: int, now: int) -> None:
        """Record that ``g`` held its process's GIL until ``now``."""
        p = self.process_of[g]
        start = self.gil_since[p]
        if not self.keep_trace or now == start:
            return
        last = self.holdings[-1] if self.holdings else None
        if last is not None and last[0] == p and last[1] == g and last[3] == start:
            last[3] = now
        else:
            self.holdings.append([p, g, start, now])

    # -- cores -------------------------------------------------------------------------

    def _want_core(self, g: int) -> simpy.Event | None:
        if self.free_cores:
            self.free_cores -= 1
            self.has_core[g] = True
            return None
        self.ready.append(g)
        self._set(g, _READY)
        wake = self.wake[g] = _Wake(self.env)
        return wake

    def _release_core(self, g: int) -> None:
        if not self.has_core[g]:
            return
        self.has_core[g] = False
        if self.ready:
            nxt = self.ready.popleft()
            self.has_core[nxt] = True
            self.wake[nxt].give_after(0)
        else:
            self.free_cores += 1

    # -- the result --------------------------------------------------------------------

    def result(self, scenario: Scenario, runtime: Runtime) -> RunResult:
        for thread in self.threads:
            thread.start()
        del self.threads  # each is held by the event it waits on, and freed when done
        self.env.run()
        if self.meter is not None:
            tally = self.meter.tally
            tally[SIMULATED] = tally.get(SIMULATED, 0) + self.steps - self.counted
        if self.spent is not None:
            raise TimedRunStopped(self.spent, steps=self.steps, simulated_ns=int(self.env.now))
        makespan = max(self.since, default=0)
        anomalies = list(self.anomalies)
        final: list[tuple[str, FinalValue]] = []
        true_refs: list[tuple[str, int]] = []
        groups = scenario.process_groups()
        blocked: list[tuple[str, str]] = []
        for (process, _), machine, state in zip(groups, self.machines, self.states, strict=True):
            prefix = f"{process}." if len(groups) > 1 else ""
            anomalies.extend(machine.conclude(state))
            blocked += [
                (machine.thread_names[t], on)
                for t in state.live  # a thread that is not live waits on nothing
                if (on := machine.waits_on(state, t)) is not None
            ]
            final += [(prefix + name, value) for name, value in machine.final(state)]
            true_refs += [
                (prefix + name, refs)
                for name, refs in zip(machine.object_names, state.true_refs, strict=True)
            ]
        threads = []
        for g, name in enumerate(self.names):
            if self.status[g] < _STARTING:  # blocked for good: waiting until the end
                self._close(g, makespan)
            p, t = self.process_of[g], self.local_of[g]
            nxt = self.machines[p].next_instr(self.states[p], t)
            ops = len(scenario.threads[g].ops) if nxt is None else nxt.op_index
            acc = self.accounts[g]
            threads.append(
                (
                    name,
                    ThreadMetrics(
                        running_ns=acc[_RUNNING],
                        gil_wait_ns=acc[_GIL_WAIT],
                        io_wait_ns=acc[_IO_WAIT],
                        ready_ns=acc[_READY],
                        lock_wait_ns=acc[_LOCK_WAIT],
                        blocked_ns=acc[_BLOCKED],
                        ops=ops,
                        finished_ns=self.finished_at[g],
                    ),
                )
            )
        metrics = TimedMetrics(
            makespan_ns=makespan,
            cores=self.timing.cores,
            threads=tuple(threads),
            switches=sum(gil.grants for gil in self.gils),
            drop_requests=self.drop_requests,
            counts=tuple(self.counts),
            durations=tuple(self.durations),
            spans=tuple(
                (self.names[g], _STATE_NAMES[status], start, end)
                for spans in self.spans
                for g, status, start, end in spans
            ),
            gil_holdings=tuple(
                (p, self.names[g], start, end) for p, g, start, end in self.holdings
            ),
            drop_request_times=tuple(self.drops),
        )
        return RunResult(
            scenario=scenario.name,
            runtime=runtime,
            schedule=Schedule(tuple(self.runs)),
            anomalies=tuple(anomalies),
            final=tuple(final),
            true_refs=tuple(true_refs),
            trace=tuple(self.trace) if self.keep_trace else None,
            steps=self.steps,
            preemptions=self.preemptions,
            finished=True,
            metrics=metrics,
            blocked=tuple(blocked),
        )

    def _close(self, g: int, until: int) -> None:
        self.accounts[g][self.status[g]] += until - self.since[g]
        if self.keep_trace:
            self._span(g, self.status[g], until)
        self.since[g] = until


def run_timed(
    scenario: Scenario,
    *,
    runtime: Runtime | None = None,
    seed: int = 0,
    keep_trace: bool = True,
    cores: int | None = None,
    switch_interval: int | None = None,
    meter: Meter | None = None,
) -> RunResult:
    """Run ``scenario`` once in timed mode; the result's ``metrics`` say where time went.

    ``runtime`` overrides the scenario's; ``cores`` and ``switch_interval`` override its
    ``timing:``; ``seed`` drives the jitter only (a run without jitter is the same for
    every seed). With ``keep_trace=False`` no trace is kept. The ``meter`` (time and
    memory budgets) is looked at every :data:`CHECK_EVERY` events; running out raises
    :class:`TimedRunStopped`.
    """
    runtime = scenario.runtime if runtime is None else runtime
    timing = settings(scenario.timing)
    if cores is not None:
        timing = replace(timing, cores=cores)
    if switch_interval is not None:
        timing = replace(timing, switch_interval=switch_interval)
    if meter is not None:
        try:
            meter.check()  # a budget already spent: not even the setup
        except BudgetExceeded as error:
            raise TimedRunStopped(error, steps=0, simulated_ns=0) from None
    driver = _TimedRun(scenario, runtime, timing, seed, keep_trace, meter)
    return driver.result(scenario, runtime)

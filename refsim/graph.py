"""The reachable state graph of a scenario: what a page walks (``refsim html``).

A page lets a learner be the scheduler without knowing refsim's semantics: refsim
computes, here, every state a run can reach under one runtime and, from each state, per
thread, either the transition (the state it leads to, the trace event, the anomalies it
records) or why that thread cannot run; the page only follows the links. Each state
also carries how many interleavings continue from it to each outcome, exactly, which is
the page's hint (the same numbers as ``refsim play``'s ``?``).

**States are the machine's whole states**, not the explorer's canonical keys
(:mod:`refsim.explore`): a page prints each step's trace event and anomaly sentence as
``refsim run`` prints them, and those depend on what the explorer forgets (the step
number, who stored last, who freed what). So two histories that the explorer merges may
be two states here, and the graph is larger than the explorer's memo; every state is
still reached by steps of the one :meth:`~refsim.machine.Machine.step`, so the page and
``refsim run`` cannot disagree.

**The budget.** A page carries its graph, so the graph must stay small: at most
:data:`MAX_STATES` states (20,000: a page of a few megabytes at most). A scenario past
it gets :func:`along` instead: only the states on the given schedules (each outcome's
witness), without counts, which a page can step through but not play.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from refsim.budget import Limit
from refsim.explore import ExplorationStopped
from refsim.machine import Machine, State
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule
from refsim.play import Board, Boards
from refsim.trace import Anomaly, Outcome, TraceEvent

__all__ = [
    "MAX_STATES",
    "MAX_WITNESS_STEPS",
    "Graph",
    "Node",
    "Transition",
    "acyclic",
    "along",
    "build",
]

MAX_STATES = 20_000
"""The most states a page's graph may hold (past it a page steps through witnesses only)."""

MAX_WITNESS_STEPS = 2_000
"""The longest schedule :func:`along` keeps: a longer witness is left out of the page."""

_KINDS = tuple(AnomalyKind)
"""In the order of the machine's bit set of recorded kinds (State.kinds)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One thread's next micro-step from a state."""

    child: int
    """The index of the state it leads to."""
    event: TraceEvent
    anomalies: tuple[Anomaly, ...]


@dataclass(frozen=True, slots=True)
class Node:
    """One reachable state."""

    board: Board
    """What a learner sees there: each thread's next micro-step or why it cannot run,
    registers, objects, variables, locks and the waiting primitives."""
    moves: tuple[Transition | None, ...]
    """Per thread (declared order), its transition; ``None`` when it cannot run (the
    board's move says why) or, in a partial graph, when the graph leaves it out."""
    outcome: int | None = None
    """At a state where no thread can run: the index of its outcome in
    :attr:`Graph.outcomes`; else ``None``."""
    concluded: tuple[Anomaly, ...] = ()
    """At such a state: what is judged at the end (leaks, a deadlock)."""
    table: tuple[tuple[int, int], ...] | None = None
    """The interleavings that continue from here, as (outcome index, count), most first;
    ``None`` in a partial graph."""

    @property
    def interleavings(self) -> int | None:
        return None if self.table is None else sum(count for _, count in self.table)


@dataclass(frozen=True, slots=True)
class Graph:
    """The states a page walks; state 0 is the start."""

    scenario: Scenario
    runtime: Runtime
    nodes: tuple[Node, ...]
    outcomes: tuple[Outcome, ...]
    complete: bool
    """True: every reachable state, with counts. False: only the states on
    :attr:`schedules` (:func:`along`)."""
    schedules: tuple[Schedule, ...] = ()
    """A partial graph's schedules (those it could keep)."""

    def walk(self, schedule: Schedule) -> tuple[int, ...]:
        """The states ``schedule`` passes through, from the start (KeyError when it leaves
        the graph or names a thread that cannot run)."""
        names = self.scenario.thread_names
        path = [0]
        for thread in schedule:
            move = self.nodes[path[-1]].moves[names.index(thread)]
            if move is None:
                raise KeyError(f"{thread} has no move at step {len(path)}")
            path.append(move.child)
        return tuple(path)


@contextmanager
def acyclic() -> Iterator[None]:
    """A block that builds many long-lived objects and no reference cycles (a graph, its
    page's data), with Python's cyclic garbage collector paused.

    Each collection walks every container still alive, and a graph of 20,000 states keeps
    hundreds of thousands of them, so the collections a build sets off cost more than the
    build (a third of a page's time, measured): all to find no cycle. The collector runs
    again after the block as before, and it is left off if it was off."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Builder:
    """Numbers states in the order they are first reached and records their moves."""

    def __init__(self, scenario: Scenario, runtime: Runtime | None) -> None:
        self.machine = Machine(scenario, runtime)
        self.states: list[State] = []
        self.ids: dict[State, int] = {}
        self.moves: list[list[Transition | None]] = []
        self.outcomes: dict[Outcome, int] = {}
        self._ends: dict[int, tuple[int | None, tuple[Anomaly, ...]]] = {}

    def add(self, state: State) -> int:
        found = self.ids.get(state)
        if found is None:
            found = self.ids[state] = len(self.states)
            self.states.append(state)
            self.moves.append([None] * len(self.machine.thread_names))
        return found

    def follow(self, node: int, thread: int) -> int:
        """Step ``thread`` from state ``node`` (once) and return the child's index."""
        move = self.moves[node][thread]
        if move is None:
            state = self.states[node]
            # The time of a controlled step is its logical tick, as the engine counts it.
            child, event, anomalies = self.machine.step(state, thread, state.step)
            move = self.moves[node][thread] = Transition(self.add(child), event, anomalies)
        return move.child

    def end(self, index: int) -> tuple[int | None, tuple[Anomaly, ...]]:
        """The outcome index and the concluded anomalies of state ``index`` if no thread
        can leave it, else ``(None, ())``."""
        found = self._ends.get(index)
        if found is None:
            found = self._ends[index] = self._end(self.states[index])
        return found

    def _end(self, state: State) -> tuple[int | None, tuple[Anomaly, ...]]:
        machine = self.machine
        if machine.enabled(state):
            return None, ()
        concluded = machine.conclude(state)
        bits = state.kinds
        kinds = {kind for i, kind in enumerate(_KINDS) if bits >> i & 1}
        kinds |= {a.kind for a in concluded}
        outcome = Outcome(tuple(k for k in _KINDS if k in kinds), machine.final(state))
        return self.outcomes.setdefault(outcome, len(self.outcomes)), concluded

    def nodes(self, tables: Sequence[tuple[tuple[int, int], ...] | None]) -> tuple[Node, ...]:
        boards = Boards(self.machine)
        found = []
        for index, state in enumerate(self.states):
            outcome, concluded = self.end(index)
            board = boards(state)
            found.append(Node(board, tuple(self.moves[index]), outcome, concluded, tables[index]))
        return tuple(found)

    def graph(
        self, nodes: tuple[Node, ...], complete: bool, schedules: tuple[Schedule, ...]
    ) -> Graph:
        machine = self.machine
        outcomes = tuple(sorted(self.outcomes, key=self.outcomes.__getitem__))
        return Graph(machine.scenario, machine.runtime, nodes, outcomes, complete, schedules)


def build(
    scenario: Scenario, runtime: Runtime | None = None, *, max_states: int = MAX_STATES
) -> Graph:
    """Every state ``scenario`` can reach under ``runtime`` (default: the scenario's), with
    every move and, per state, the count of interleavings from it to each outcome.

    Raises :class:`~refsim.explore.ExplorationStopped` past ``max_states`` states."""
    with acyclic():
        return _build(_Builder(scenario, runtime), max_states)


def _build(builder: _Builder, max_states: int) -> Graph:
    machine = builder.machine
    scenario = machine.scenario
    builder.add(machine.initial())
    # Breadth first: every path to a state has the same length (its step number), so
    # this order is by depth, and its reverse visits children before their parents.
    index = 0
    while index < len(builder.states):
        for t in machine.enabled(builder.states[index]):
            builder.follow(index, t)
            if len(builder.states) > max_states:
                raise ExplorationStopped(
                    Limit.STATES, f"{max_states:,} states", scenario=scenario.name,
                    runtime=machine.runtime, states=len(builder.states), counting=False,
                )  # fmt: skip
        index += 1
    tables: list[tuple[tuple[int, int], ...] | None] = [None] * len(builder.states)
    counts: list[dict[int, int]] = [{} for _ in builder.states]
    for index in reversed(range(len(builder.states))):
        outcome, _ = builder.end(index)
        here = counts[index]
        if outcome is not None:
            here[outcome] = 1
        for move in builder.moves[index]:
            if move is not None:
                for oid, count in counts[move.child].items():
                    here[oid] = here.get(oid, 0) + count
        tables[index] = tuple(sorted(here.items(), key=lambda item: (-item[1], item[0])))
    return builder.graph(builder.nodes(tables), True, ())


def along(
    scenario: Scenario,
    runtime: Runtime | None = None,
    schedules: Sequence[Schedule] = (),
    *,
    max_steps: int = MAX_WITNESS_STEPS,
) -> Graph:
    """Only the states on ``schedules`` (complete runs, such as each outcome's witness),
    without counts: what a page can step through when :func:`build` is over budget.

    A schedule longer than ``max_steps`` micro-steps is left out, and so is one that does
    not replay (:attr:`Graph.schedules` lists those kept)."""
    builder = _Builder(scenario, runtime)
    machine = builder.machine
    names = machine.thread_names
    builder.add(machine.initial())
    kept = []
    for schedule in schedules:
        if schedule.steps > max_steps or any(name not in names for name, _ in schedule.runs):
            continue
        # Check first that it replays, so that a schedule that does not leaves no states.
        state = machine.initial()
        path = []
        for name in schedule:
            t = names.index(name)
            if t not in machine.enabled(state):
                break
            state = machine.step(state, t)[0]
            path.append(t)
        else:
            node = 0
            for t in path:
                node = builder.follow(node, t)
            kept.append(schedule)
    nodes = builder.nodes([None] * len(builder.states))
    return builder.graph(nodes, False, tuple(kept))

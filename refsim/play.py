"""``refsim play``: the learner is the scheduler. A session, as a pure value.

A :class:`Session` is a run in progress: the states so far (the first is the initial
state) and the steps that led from each to the next. It drives the same pure
:meth:`refsim.machine.Machine.step` as every other driver, so a session's trace is the
trace ``refsim run --schedule`` prints for its schedule. Nothing here prints or reads:
the terminal game (``refsim/cli/play.py``) and any other front end ask a session for

* the board: each thread's register and next micro-step, or why it cannot run (in the
  machine's own words, :meth:`~refsim.machine.Machine.why_not_enabled`), each object's
  refcount beside its true refs, each variable and lock;
* a new session one step further (:meth:`Session.step`) or one step back
  (:meth:`Session.undo`): sessions are immutable, so undo is exact;
* the odds from here (:meth:`Session.odds`): for each thread that may run, the outcomes
  of every interleaving that starts with its move, counted exactly by the explorer from
  the state that move leads to;
* at the end, how the learner's outcome compares with every interleaving
  (:func:`ending`).

:func:`read_command` reads one line of the game's little language.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum

from refsim.budget import Meter
from refsim.errors import RefsimError
from refsim.explore import ExplorationStopped, explore
from refsim.machine import (
    ARITH,
    BINARY_OP,
    S_DEC,
    S_INC,
    STORE,
    STORE_GLOBAL,
    Machine,
    State,
)
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule, ScheduleSyntaxError
from refsim.scheduling import QuantumChooser
from refsim.trace import Anomaly, Exploration, Outcome, OutcomeStats, RunResult, TraceEvent

__all__ = [
    "Action",
    "Autopilot",
    "Board",
    "Boards",
    "Command",
    "Ending",
    "Move",
    "Odds",
    "PlayError",
    "Session",
    "Taken",
    "ending",
    "goal_reachable",
    "read_command",
]

_READS_REGISTER = (ARITH, BINARY_OP, STORE, STORE_GLOBAL, S_INC, S_DEC)
_KINDS = tuple(AnomalyKind)
"""In the order of the machine's bit set of recorded kinds (State.kinds)."""


class PlayError(RefsimError):
    """A move the session refuses: an unknown thread, or one that cannot run now."""


@dataclass(frozen=True, slots=True)
class Move:
    """What one thread would do next, or why it cannot."""

    thread: str
    op: str | None
    """The op its next micro-step belongs to (``decref obj``); ``None`` once finished."""
    micro: str | None
    """The next micro-step's kind (``LOAD``)."""
    reason: str | None
    """Why it cannot run now, in the machine's words; ``None`` when it may."""
    subject: str | None = None
    """The object, variable, lock or other primitive the next micro-step touches."""

    @property
    def enabled(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class Board:
    """Everything a learner sees between two moves."""

    moves: tuple[Move, ...]
    """One per thread, in declared order."""
    registers: tuple[tuple[str, int | None], ...]
    """Per thread, its register while its next micro-step reads it (a value it loaded
    and has not stored back), else ``None``."""
    objects: tuple[tuple[str, int | None, int, bool], ...]
    """Per object: name, refcount (under free-threaded local + shared; ``None`` under a
    tracing collector, which counts nothing), true refs, freed."""
    variables: tuple[tuple[str, int], ...]
    locks: tuple[tuple[str, str | None], ...]
    """Per lock, the thread holding it, or ``None``."""
    counters: tuple[tuple[str, str], ...] = ()
    """Per event, semaphore and queue, its state in words (``set``, ``count 2``, ``1 of
    2 items``); per condition, its waiters (``waiters: T1, T2``)."""


@dataclass(frozen=True, slots=True)
class Taken:
    """One step the learner (or an autopilot) took."""

    event: TraceEvent
    anomalies: tuple[Anomaly, ...]
    preempted: bool
    """True when it switched away from a thread that could have gone on."""


@dataclass(frozen=True, slots=True)
class Odds:
    """The interleavings that start with one thread's move, from the current state."""

    thread: str
    table: Exploration | None
    """Counted from the state the move leads to; ``None`` when a budget ran out first."""
    stopped: str | None = None
    """When ``table`` is ``None``: the budget that ran out (``states``, ``time``,
    ``memory``)."""


@dataclass(frozen=True, slots=True)
class Session:
    """A run in progress: a state, and the session it came from by one step (so a long
    run costs one step per step, and undo is going back one link). Build one with
    :meth:`start`."""

    machine: Machine
    state: State
    parent: Session | None = None
    """The session one step back; ``None`` at the start."""
    taken: Taken | None = None
    """The step that led here from ``parent``."""
    steps: int = 0
    """Micro-steps run so far."""

    @classmethod
    def start(cls, scenario: Scenario, runtime: Runtime | None = None) -> Session:
        machine = Machine(scenario, runtime)
        return cls(machine, machine.initial())

    @property
    def scenario(self) -> Scenario:
        return self.machine.scenario

    @property
    def runtime(self) -> Runtime:
        return self.machine.runtime

    @property
    def finished(self) -> bool:
        """True when no thread may run: every thread finished, or a deadlock."""
        return not self.machine.enabled(self.state)

    @property
    def last(self) -> int:
        """The index of the thread that ran last, or -1 before the first step."""
        if self.taken is None:
            return -1
        return self.machine.thread_names.index(self.taken.event.thread)

    @property
    def recorded(self) -> frozenset[AnomalyKind]:
        """The anomaly kinds recorded so far (not yet those judged at the end)."""
        bits = self.state.kinds
        return frozenset(kind for i, kind in enumerate(_KINDS) if bits >> i & 1)

    def history(self) -> tuple[Session, ...]:
        """Every session from the start to this one, in order."""
        chain = []
        node: Session | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return tuple(reversed(chain))

    def trail(self) -> tuple[Taken, ...]:
        """Every step taken, in order."""
        return tuple(s.taken for s in self.history() if s.taken is not None)

    def enabled(self) -> tuple[str, ...]:
        names = self.machine.thread_names
        return tuple(names[t] for t in self.machine.enabled(self.state))

    def moves(self) -> tuple[Move, ...]:
        machine, state = self.machine, self.state
        enabled = machine.enabled(state)
        moves = []
        for t, name in enumerate(machine.thread_names):
            instr = machine.next_instr(state, t)
            reason = None if t in enabled else machine.why_not_enabled(state, t)
            if instr is None:
                moves.append(Move(name, None, None, reason))
            else:
                moves.append(Move(name, instr.op, instr.micro, reason, instr.subject))
        return tuple(moves)

    def board(self) -> Board:
        machine, state = self.machine, self.state
        registers = []
        for t, name in enumerate(machine.thread_names):
            instr = machine.next_instr(state, t)
            live = instr is not None and instr.code in _READS_REGISTER
            registers.append((name, state.threads[t].reg if live else None))
        n = machine.n_objects
        objects = tuple(
            (
                name,
                machine.count(state, w) if machine.counted else None,
                state.true_refs[w],
                state.freed[w],
            )
            for w, name in enumerate(machine.object_names)
        )
        variables = tuple(
            (name, state.values[n + i]) for i, name in enumerate(machine.variable_names)
        )
        locks = tuple(
            (name, None if holder < 0 else machine.thread_names[holder])
            for name, holder in zip(machine.lock_names, state.holders, strict=True)
        )
        return Board(self.moves(), tuple(registers), objects, variables, locks, _counters(self))

    def index(self, thread: str) -> int:
        """The index of thread ``thread``, or a PlayError that names the threads."""
        names = self.machine.thread_names
        if thread in names:
            return names.index(thread)
        close = difflib.get_close_matches(thread, names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise PlayError(
            f"{thread} is not a thread of this scenario{hint}; its threads are {', '.join(names)}"
        )

    def step(self, thread: str) -> Session:
        """This session one micro-step further, run by ``thread`` (PlayError if it cannot)."""
        t = self.index(thread)
        machine, state = self.machine, self.state
        enabled = machine.enabled(state)
        if t not in enabled:
            raise PlayError(f"{thread} cannot run: {machine.why_not_enabled(state, t)}")
        last = self.last
        child, event, anomalies = machine.step(state, t, self.steps)
        taken = Taken(event, anomalies, last in enabled and t != last)
        return Session(machine, child, self, taken, self.steps + 1)

    def undo(self) -> Session:
        """This session one step back (PlayError before the first step)."""
        if self.parent is None:
            raise PlayError("nothing to undo: no step has run yet")
        return self.parent

    @property
    def schedule(self) -> Schedule:
        return Schedule.from_steps(taken.event.thread for taken in self.trail())

    def concluded(self) -> tuple[Anomaly, ...]:
        """What is judged once no thread can run (leaks, a deadlock); empty before then."""
        return self.machine.conclude(self.state) if self.finished else ()

    def result(self) -> RunResult:
        """The run so far, as ``refsim run`` would report it (finished or not)."""
        machine, state = self.machine, self.state
        trail = self.trail()
        anomalies = tuple(a for taken in trail for a in taken.anomalies)
        preempted = tuple(i + 1 for i, taken in enumerate(trail) if taken.preempted)
        return RunResult(
            scenario=self.scenario.name,
            runtime=self.runtime,
            schedule=Schedule.from_steps(taken.event.thread for taken in trail),
            anomalies=anomalies + self.concluded(),
            final=machine.final(state),
            true_refs=tuple(zip(machine.object_names, state.true_refs, strict=True)),
            trace=tuple(taken.event for taken in trail),
            steps=self.steps,
            preemptions=len(preempted),
            finished=self.finished,
            preempted=preempted,
        )

    def odds(self, *, max_states: int, meter: Meter | None = None) -> tuple[Odds, ...]:
        """For each thread that may run now, in declared order, the outcomes of the
        interleavings that start with its move (their counts add up to the explorer's
        count from the current state); each move's count gets a fair share of the
        ``meter``'s time."""
        machine, state = self.machine, self.state
        odds = []
        enabled = machine.enabled(state)
        for n, t in enumerate(enabled):
            child = machine.step(state, t)[0]
            share = None if meter is None else meter.fair(len(enabled) - n)
            try:
                table = explore(
                    self.scenario, runtime=self.runtime, start=child, max_states=max_states,
                    meter=share,
                )  # fmt: skip
            except ExplorationStopped as error:
                odds.append(Odds(machine.thread_names[t], None, error.limit.value))
                continue
            odds.append(Odds(machine.thread_names[t], table))
        return tuple(odds)


class Boards:
    """The boards of many states of one machine, each distinct board built once and
    shared (``boards(state)`` is ``Session(machine, state).board()``).

    A page's state graph holds thousands of states but a learner sees far fewer boards:
    the states differ in what a board does not show (the step number, the stores each word
    has seen, the anomalies so far, which program counter a repeated op is at). A board
    is looked up by :meth:`key`, everything it is built from, which is cheaper than
    building it; equal keys make equal boards (the tests hold every bundled scenario's
    states to that)."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self._found: dict[tuple[object, ...], Board] = {}
        self._threads = range(len(machine.thread_names))
        self._ends = tuple(len(program) for program in machine.programs)

    def key(self, state: State) -> tuple[object, ...]:
        """What :meth:`Session.board` reads of ``state``: each thread's next micro-step
        (but where in its program it is), its register where that reads it and whether
        its program is done (a join waits for that), and every word, lock and primitive,
        and who may run."""
        machine = self.machine
        threads: list[tuple[object, int | None, bool]] = []
        for t in self._threads:
            instr = machine.next_instr(state, t)
            now = state.threads[t]
            if instr is None:
                threads.append((None, None, now.pc >= self._ends[t]))
                continue
            reg = now.reg if instr.code in _READS_REGISTER else None
            # Not its op's index: a repeated op shows the same wherever the thread is.
            code, micro, word, delta, first, times, _, op, subject = instr
            shown = (code, micro, word, delta, first, times, op, subject)
            threads.append((shown, reg, now.pc >= self._ends[t]))
        return (
            tuple(threads), state.values, state.freed, state.true_refs, state.holders,
            state.live, state.inside, state.sync, state.waiters, state.brc,
        )  # fmt: skip

    def __call__(self, state: State) -> Board:
        key = self.key(state)
        board = self._found.get(key)
        if board is None:
            board = self._found[key] = Session(self.machine, state).board()
        return board


def _counters(session: Session) -> tuple[tuple[str, str], ...]:
    """The waiting primitives' state in words, for :attr:`Board.counters`."""
    machine, state = session.machine, session.state
    if not machine.sync_names and not machine.condition_names:
        return ()
    scenario = machine.scenario
    kinds = (
        ["event"] * len(scenario.events)
        + ["semaphore"] * len(scenario.semaphores)
        + ["queue"] * len(scenario.queues)
    )
    found = []
    for w, (name, kind) in enumerate(zip(machine.sync_names, kinds, strict=True)):
        value = state.sync[w]
        if kind == "event":
            words = "set" if value else "clear"
        elif kind == "semaphore":
            words = f"count {value}"
        else:
            size = machine.capacity[w]
            words = f"{value} of {size} item{'s' if size != 1 else ''}"
        found.append((f"{kind} {name}", words))
    for c, name in enumerate(machine.condition_names):
        waiting = [machine.thread_names[t] for t in state.waiters[c]]
        found.append((f"condition {name}", "waiters: " + (", ".join(waiting) or "none")))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Ending:
    """How a finished session's outcome compares with every interleaving."""

    outcome: Outcome
    stats: OutcomeStats | None
    """The outcome's row in the table of every interleaving from the start (its count,
    share and fewest-preemption witness); ``None`` when the table needs more states than
    the budget allows."""
    interleavings: int | None
    preemptions: int
    """Preemptions the session used."""


def ending(session: Session, *, max_states: int, meter: Meter | None = None) -> Ending:
    """The finished ``session``'s outcome among every interleaving of its scenario."""
    assert session.finished, "ending() is for a finished session"
    result = session.result()
    try:
        table = explore(
            session.scenario, runtime=session.runtime, max_states=max_states, meter=meter
        )
    except ExplorationStopped:
        return Ending(result.outcome, None, None, result.preemptions)
    stats = next(s for s in table.outcomes if s.outcome == result.outcome)
    return Ending(result.outcome, stats, table.interleavings, result.preemptions)


def goal_reachable(
    scenario: Scenario,
    runtime: Runtime,
    goal: AnomalyKind,
    *,
    max_states: int,
    meter: Meter | None = None,
) -> bool | None:
    """Whether some interleaving records ``goal``; ``None`` past the budget."""
    try:
        return goal in explore(scenario, runtime=runtime, max_states=max_states, meter=meter).kinds
    except ExplorationStopped:
        return None


class Autopilot:
    """A round-robin autopilot (:class:`~refsim.scheduling.QuantumChooser`, ``quantum``
    micro-steps a turn) that follows a session, the learner's moves and undos included:
    its choice is the one the chooser makes after seeing every step of the session's
    history, the learner's moves starting that thread's turn."""

    def __init__(self, quantum: int, *, seed: int | None = None) -> None:
        self.quantum = quantum
        self.seed = seed
        self._chooser = QuantumChooser(quantum, seed=seed)
        self._at: Session | None = None
        """The session the chooser last chose at (it has seen each step up to there)."""
        self._pick = -1

    def _ask(self, session: Session) -> int:
        machine = session.machine
        enabled = machine.enabled(session.state)
        assert enabled, "the run is over"
        return self._chooser.choose(session.steps + 1, enabled, session.last)

    def move(self, session: Session) -> str:
        """The thread the autopilot runs next in ``session``."""
        if session is not self._at:
            if self._at is None or session.parent is not self._at:
                # Undone, or moved more than once since: see the whole history again.
                self._chooser = QuantumChooser(self.quantum, seed=self.seed)
                for earlier in session.history()[:-1]:
                    self._ask(earlier)
            self._pick = self._ask(session)
            self._at = session
        return session.machine.thread_names[self._pick]


# -- the game's commands ------------------------------------------------------------------


class Action(Enum):
    """What one line of input asks for."""

    STEP = "step"
    """Run the named threads' next micro-steps, one per name (``T1``, ``T2*3``)."""
    UNDO = "undo"
    HINT = "hint"
    QUIT = "quit"
    AUTOPILOT = "autopilot"
    """Let the autopilot (``--quantum N``) move until the run ends."""
    NEXT = "next"
    """An empty line: let the autopilot make one move."""
    HELP = "help"


_WORDS = {
    "u": Action.UNDO,
    "undo": Action.UNDO,
    "?": Action.HINT,
    "hint": Action.HINT,
    "q": Action.QUIT,
    "quit": Action.QUIT,
    "exit": Action.QUIT,
    "a": Action.AUTOPILOT,
    "auto": Action.AUTOPILOT,
    "": Action.NEXT,
    "h": Action.HELP,
    "help": Action.HELP,
}


@dataclass(frozen=True, slots=True)
class Command:
    """One line of input, read."""

    action: Action
    schedule: Schedule | None = None
    """For STEP: the threads to run, one micro-step per name."""


def read_command(line: str, threads: tuple[str, ...]) -> Command:
    """Read one line: a thread's name (or a schedule such as ``T2*3``) runs micro-steps;
    ``u``, ``?``, ``q``, ``a`` and ``help`` (or ``undo``, ``hint``, ``quit``, ``auto``)
    are the other commands; an empty line asks the autopilot for one move. A thread's
    name wins over a command word, and a name typed in the wrong case is accepted when
    it names one thread. Raises PlayError for a line that is neither."""
    text = line.strip()
    if text in threads:
        return Command(Action.STEP, Schedule.parse(text))
    action = _WORDS.get(text.lower())
    if action is not None:
        return Command(action)
    try:
        schedule = Schedule.parse(text)
    except ScheduleSyntaxError:
        raise PlayError(
            f"{text!r} is neither a thread nor a command: type a thread's name "
            f"({', '.join(threads)}), u to undo, ? for a hint, q to quit"
        ) from None
    # A name in the wrong case stands for the one thread it matches, if only one does.
    by_case: dict[str, list[str]] = {}
    for name in threads:
        by_case.setdefault(name.casefold(), []).append(name)
    runs = []
    for name, count in schedule.runs:
        matches = by_case.get(name.casefold(), [])
        runs.append((matches[0] if name not in threads and len(matches) == 1 else name, count))
    return Command(Action.STEP, Schedule.from_runs(runs))

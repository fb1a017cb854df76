"""The machine: one pure transition, ``state + thread -> state' + trace event + anomalies``.

This is the only place where micro-steps have effects (MODEL.md, "Effects of
micro-steps"). The SimPy engine, the explorer and the search all drive
:meth:`Machine.step`, so they cannot disagree about semantics.

A :class:`Machine` is built once per (scenario, runtime): it lowers every thread's ops to
a flat tuple of :class:`Instr` and keeps the name tables. States are immutable tuples, so
a driver may keep, compare or hash them (the explorer memoises on them).

Speed matters here: this runs once per micro-step. States are ``NamedTuple``s of tuples;
a step rebuilds only the parts it changes, and the instructions carry every label a
trace event needs, precomputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from refsim.lowering import lower
from refsim.model import AnomalyKind, MicroKind, Op, OpKind, Runtime, Scenario
from refsim.perthread import Chunked, LiveSet, added, pack_live, pack_threads, removed, replaced
from refsim.runtimes import traits
from refsim.trace import Anomaly, FinalValue, TraceEvent

__all__ = ["Instr", "Machine", "State", "ThreadState"]

# Instruction codes: small ints compare faster than enum members on the hot path.
LOAD, ARITH, STORE, DEALLOC, RMW, READ = 0, 1, 2, 3, 4, 5
LOAD_GLOBAL, BINARY_OP, STORE_GLOBAL, COMPUTE, IO, ACQUIRE, RELEASE = 6, 7, 8, 9, 10, 11, 12
# The other primitives of `threading` and `queue` (MODEL.md, "Threads that wait").
SEM_ACQUIRE, SEM_RELEASE, SET, CLEAR, WAIT, PUT, GET = 13, 14, 15, 16, 17, 18, 19
JOIN, CWAIT, REACQUIRE, NOTIFY, NOTIFY_ALL = 20, 21, 22, 23, 24

# Free-threaded CPython's biased counting (MODEL.md, "Free-threaded CPython"): the
# owner's LOAD_LOCAL and STORE_LOCAL, one code per place in an incref or a decref, so each
# knows where to jump; then the shared-count steps, the merge, immortal and deferred.
L_INC, L_DEC, S_INC, S_DEC, MERGE_ZERO, ADD_SHARED = 25, 26, 27, 28, 29, 30
DS_OWNER, DS_GUEST, QUEUE, IMMORTAL, DEFERRED = 31, 32, 33, 34, 35
MERGE_QUEUED = 36
QUEUED, MERGED = 1, 2
"""Free-threaded object flags (CPython's ``_Py_REF_QUEUED`` and ``_Py_REF_MERGED``)."""
"""Not in any program: the owner merging an object another thread queued for it."""
# Tracing collectors: a pointer taken or dropped, no count.
TAKE, DROP = 37, 38

WAITS = frozenset({SEM_ACQUIRE, WAIT, PUT, GET, JOIN, REACQUIRE})
"""Codes besides ACQUIRE whose micro-step may not be enabled (the thread is blocked)."""

_CODES = {
    MicroKind.LOAD: LOAD,
    MicroKind.ADD: ARITH,
    MicroKind.SUB: ARITH,
    MicroKind.STORE: STORE,
    MicroKind.DEALLOC: DEALLOC,
    MicroKind.RMW: RMW,
    MicroKind.READ: READ,
    MicroKind.LOAD_GLOBAL: LOAD_GLOBAL,
    MicroKind.BINARY_OP: BINARY_OP,
    MicroKind.STORE_GLOBAL: STORE_GLOBAL,
    MicroKind.COMPUTE: COMPUTE,
    MicroKind.IO: IO,
    MicroKind.ACQUIRE: ACQUIRE,
    MicroKind.RELEASE: RELEASE,
    MicroKind.SET: SET,
    MicroKind.CLEAR: CLEAR,
    MicroKind.WAIT: WAIT,
    MicroKind.PUT: PUT,
    MicroKind.GET: GET,
    MicroKind.JOIN: JOIN,
    MicroKind.CWAIT: CWAIT,
    MicroKind.REACQUIRE: REACQUIRE,
    MicroKind.NOTIFY: NOTIFY,
    MicroKind.NOTIFY_ALL: NOTIFY_ALL,
}
_BIASED_CODES = {
    (MicroKind.LOAD_LOCAL, 1): L_INC,
    (MicroKind.LOAD_LOCAL, -1): L_DEC,
    (MicroKind.STORE_LOCAL, 1): S_INC,
    (MicroKind.STORE_LOCAL, -1): S_DEC,
    (MicroKind.MERGE, 0): MERGE_ZERO,
    (MicroKind.ADD_SHARED, 1): ADD_SHARED,
    (MicroKind.QUEUE, 0): QUEUE,
    (MicroKind.IMMORTAL, 1): IMMORTAL,
    (MicroKind.IMMORTAL, -1): IMMORTAL,
    (MicroKind.DEFERRED, 1): DEFERRED,
    (MicroKind.DEFERRED, -1): DEFERRED,
    (MicroKind.TAKE, 1): TAKE,
    (MicroKind.DROP, -1): DROP,
}
"""Codes of the micro-steps of free-threaded and tracing refcount ops, by kind and delta
(DECREF_SHARED's code depends on whose program it is in: see ``Machine._lower``)."""
_SEMAPHORE_CODES = {ACQUIRE: SEM_ACQUIRE, RELEASE: SEM_RELEASE}
"""``acquire S`` and ``release S`` of a semaphore: the lock's micro-steps, other effects."""
_TABLES = {
    ACQUIRE: "locks", RELEASE: "locks", SEM_ACQUIRE: "sync", SEM_RELEASE: "sync", SET: "sync",
    CLEAR: "sync", WAIT: "sync", PUT: "sync", GET: "sync", JOIN: "threads", CWAIT: "conditions",
    REACQUIRE: "conditions", NOTIFY: "conditions", NOTIFY_ALL: "conditions",
}  # fmt: skip
"""Which table an instruction's ``word`` indexes (the words, for every other code)."""

_BIT = {kind: 1 << i for i, kind in enumerate(AnomalyKind)}
_TOUCHES = {
    L_INC: "loaded the local count of",
    L_DEC: "loaded the local count of",
    S_INC: "stored into the local count of",
    S_DEC: "stored into the local count of",
    MERGE_ZERO: "merged the counts of",
    ADD_SHARED: "updated the shared count of",
    DS_OWNER: "updated the shared count of",
    DS_GUEST: "updated the shared count of",
    QUEUE: "queued",
    MERGE_QUEUED: "merged the counts of",
}
"""What each biased-counting micro-step does to the object, for a use-after-free message."""
_UAF = AnomalyKind.USE_AFTER_FREE
_new = tuple.__new__


class Instr(NamedTuple):
    """One compiled micro-step of one thread's program."""

    code: int
    micro: str
    """The micro-step kind's name (``LOAD``), as trace events show it."""
    word: int
    """Index of what it touches, or -1: the word (objects first, then variables), the lock,
    the synchronisation counter (events, then semaphores, then queues), the thread it
    joins, or the condition."""
    delta: int
    """+1/-1 for refcount ops, the signed n of ``V += n``; the duration of IO."""
    first: bool
    """True when this micro-step starts a bytecode."""
    times: int
    """How many times this (one-micro-step) bytecode repeats: ``compute n``."""
    op_index: int
    op: str
    """The op's text, for trace events and messages (``decref obj``)."""
    subject: str | None


class ThreadState(NamedTuple):
    pc: int
    """Index of the next instruction; ``len(program)`` once the thread has finished."""
    reg: int
    loaded: int
    """Version of the word this thread last loaded and has not stored yet; -1 if none."""
    reps: int
    """Repetitions of the current ``compute`` instruction already done."""


_START = ThreadState(0, 0, -1, 0)
"""A thread's registers before its first micro-step."""


class State(NamedTuple):
    """Everything a run's future depends on. ``step``,
    ``last_store``, ``freed_by``, ``live`` and ``inside`` only feed messages or are derived
    from the rest (the explorer leaves them out of its memo key)."""

    threads: tuple[ThreadState, ...] | Chunked[ThreadState]
    """Per thread, its registers: a tuple, or past :data:`~refsim.perthread.CHUNK` threads
    a :class:`~refsim.perthread.Chunked` one (a step then copies one leaf, not them all)."""
    values: tuple[int, ...]
    """The words: each object's refcount, then each variable's value."""
    versions: tuple[int, ...]
    """How many stores each word has seen."""
    freed: tuple[bool, ...]
    true_refs: tuple[int, ...]
    holders: tuple[int, ...]
    """Per lock, the index of the thread holding it, or -1."""
    kinds: int
    """Bit set of the anomaly kinds recorded so far."""
    step: int
    last_store: tuple[tuple[int, int, str], ...]
    """Per word, the latest store as (thread, value, op); (-1, 0, "") before any."""
    freed_by: tuple[tuple[int, int], ...]
    """Per object, (thread, step) of the DEALLOC that freed it; (-1, 0) if live."""
    live: tuple[int, ...] | LiveSet
    """The threads that have not finished, in order (derived from the program counters;
    kept so that finding the enabled threads costs no loop in the common case): a tuple,
    or past :data:`~refsim.perthread.CHUNK` threads a :class:`~refsim.perthread.LiveSet`."""
    inside: int
    """The thread that ran last if it stopped inside a bytecode, else -1 (derived too).
    Under ``gil`` only this thread can be inside a bytecode."""
    sync: tuple[int, ...] = ()
    """Each event (1 set, 0 clear), then each semaphore's count, then each queue's items."""
    waiters: tuple[tuple[int, ...], ...] = ()
    """Per condition, the threads waiting to be notified, first come first."""
    brc: tuple[Any, ...] = ()
    """Free-threaded only (else empty): ``(shared, flags, pending, merging)``: per object
    its shared count and its flags (0, QUEUED or MERGED), per thread the objects queued
    for it to merge and the object whose merge it must free next (-1 if none). The
    object's ``values`` word is then its local count."""


def _check(scenario: Scenario) -> None:
    """Reject a hand-built scenario the loader would have refused (ValueError).

    The loader reports these with file locations; this catches scenarios built in code.
    """
    declared: dict[str, str] = {}
    for kind, names in (
        ("object", [n for n, _ in scenario.objects]),
        ("variable", [n for n, _ in scenario.variables]),
        ("lock", list(scenario.locks)),
        ("event", list(scenario.events)),
        ("semaphore", [n for n, _ in scenario.semaphores]),
        ("queue", [n for n, _ in scenario.queues]),
        ("condition", [n for n, _ in scenario.conditions]),
        ("thread", list(scenario.thread_names)),
    ):
        for name in names:
            if name in declared:
                raise ValueError(f"{name!r} is declared twice (as {declared[name]} and {kind})")
            declared[name] = kind
    for name, lock in scenario.conditions:
        if declared.get(lock) != "lock":
            raise ValueError(f"condition {name!r} is over {lock!r}, which is not a declared lock")
    for name, size in scenario.queues:
        if size < 1:
            raise ValueError(f"queue {name!r} has maxsize {size}: it must be at least 1")
    for name, count in scenario.semaphores:
        if count < 0:
            raise ValueError(f"semaphore {name!r} starts at {count}: it must be at least 0")
    checked: set[int] = set()
    for thread in scenario.threads:
        if id(thread.ops) in checked:
            continue  # a copy made by `count: n`: the same ops tuple
        checked.add(id(thread.ops))
        for op in thread.ops:
            wanted = op.kind.subject_kind
            if wanted is not None and declared.get(op.subject or "") != wanted:
                raise ValueError(f"{thread.name}: `{op}` needs a declared {wanted} {op.subject!r}")


class Machine:
    """The compiled program of one scenario under one runtime, and its transition."""

    def __init__(self, scenario: Scenario, runtime: Runtime | None = None) -> None:
        self.scenario = scenario
        self.runtime = scenario.runtime if runtime is None else runtime
        self._initial: State | None = None
        """:meth:`initial`'s state, once built."""
        self.gil = traits(self.runtime).bytecode_atomic
        self.counting = traits(self.runtime).counting
        """``plain``, ``atomic``, ``biased`` (free-threaded) or ``tracing`` (runtimes.py)."""
        self.counted = self.counting != "tracing"
        """Whether objects have a count at all (not under a tracing collector)."""
        self.thread_names = scenario.thread_names
        self.object_names = tuple(name for name, _ in scenario.objects)
        self.variable_names = tuple(name for name, _ in scenario.variables)
        self.word_names = self.object_names + self.variable_names
        self.lock_names = scenario.locks
        self.n_objects = len(self.object_names)
        _check(scenario)
        self.sync_names = (
            scenario.events
            + tuple(name for name, _ in scenario.semaphores)
            + tuple(name for name, _ in scenario.queues)
        )
        """The synchronisation counters' names: events, semaphores, queues."""
        n_events, n_semaphores = len(scenario.events), len(scenario.semaphores)
        self.capacity = (0,) * (n_events + n_semaphores) + tuple(n for _, n in scenario.queues)
        """Per counter, a queue's maxsize (0 for events and semaphores)."""
        self.condition_names = tuple(name for name, _ in scenario.conditions)
        locks = {name: i for i, name in enumerate(self.lock_names)}
        self.condition_lock = tuple(locks[lock] for _, lock in scenario.conditions)
        """Per condition, the index of its lock."""
        words = {name: i for i, name in enumerate(self.word_names)}
        biased = self.counting == "biased"
        threads = {name: i for i, name in enumerate(self.thread_names)}
        self.owner_of = tuple(
            threads.get(dict(scenario.owners).get(name, ""), -1) if biased else -1
            for name in self.object_names
        )
        """Free-threaded: per object, the index of its owner thread, or -1."""
        self._objects = {name: w for w, name in enumerate(self.object_names)}
        self.immortal = frozenset(scenario.immortal) if biased else frozenset()
        self.deferred = frozenset(scenario.deferred) if biased else frozenset()
        tables = {
            "locks": locks,
            "sync": {name: i for i, name in enumerate(self.sync_names)},
            "threads": {name: i for i, name in enumerate(self.thread_names)},
            "conditions": {name: i for i, name in enumerate(self.condition_names)},
        }
        # Compile each distinct program once. Copies made by `count: n` share one ops
        # tuple, found by identity (hashing a long program again for every copy costs
        # more than compiling it); equal programs written out twice are found by value.
        # Under free-threaded an object's owner runs other micro-steps than the rest, so
        # a thread that owns objects is compiled on its own.
        by_id: dict[int, tuple[Instr, ...]] = {}
        by_value: dict[tuple[Op, ...], tuple[Instr, ...]] = {}
        lowered: dict[Op, list[tuple[int, str, int, int, bool, int, str | None]]] = {}
        programs = []
        self.owners = frozenset(o for o in self.owner_of if o >= 0)
        """Free-threaded: the threads that own some object (never interchangeable)."""
        for index, t in enumerate(scenario.threads):
            if index in self.owners:
                owned = frozenset(o for o, owner in enumerate(self.owner_of) if owner == index)
                programs.append(self._compile(t.ops, words, tables, {}, owned))
                continue
            if id(t.ops) not in by_id:
                program = by_value.get(t.ops)
                if program is None:
                    program = by_value[t.ops] = self._compile(t.ops, words, tables, lowered)
                by_id[id(t.ops)] = program
            programs.append(by_id[id(t.ops)])
        self.programs = tuple(programs)
        self.has_locks = bool(self.lock_names)
        self.may_block = any(
            instr.code == ACQUIRE or instr.code in WAITS
            for program in {id(program): program for program in programs}.values()
            for instr in program
        )
        """Whether any thread can ever be blocked (else every live thread is enabled)."""
        if biased:
            # One machine step for every driver: the biased variants replace the methods
            # on this instance, so the other runtimes pay nothing for them.
            self.step = self._step_biased  # type: ignore[method-assign]
            self.enabled = self._enabled_biased  # type: ignore[method-assign]
            assert not self.gil, "is_enabled's GIL check would be skipped"
            self.is_enabled = self._is_enabled_biased  # type: ignore[method-assign]
            n = len(self.thread_names)
            self._no_pending = pack_threads(((),) * n, n)
            self._no_merging = pack_threads((-1,) * n, n)
            """The per-thread merge queues and merges at the start. A state that still holds
            these very objects has nothing queued for any thread: no lookup (with thousands
            of threads each lookup is a call of Python)."""

    def _compile(
        self,
        ops: tuple[Op, ...],
        words: dict[str, int],
        tables: dict[str, dict[str, int]],
        lowered: dict[Op, list[tuple[int, str, int, int, bool, int, str | None]]],
        owned: frozenset[int] = frozenset(),
    ) -> tuple[Instr, ...]:
        program: list[Instr] = []
        for index, op in enumerate(ops):
            steps = lowered.get(op)
            if steps is None:
                steps = lowered[op] = self._lower(op, words, tables, owned)
            text = str(op)
            for code, micro, word, amount, first, times, subject in steps:
                program.append(
                    _new(Instr, (code, micro, word, amount, first, times, index, text, subject))
                )
        return tuple(program)

    def _lower(
        self,
        op: Op,
        words: dict[str, int],
        tables: dict[str, dict[str, int]],
        owned: frozenset[int] = frozenset(),
    ) -> list[tuple[int, str, int, int, bool, int, str | None]]:
        """``op``'s micro-steps as Instr fields, without the op's index and text."""
        steps = []
        semaphore = op.kind in (OpKind.SEMAPHORE_ACQUIRE, OpKind.SEMAPHORE_RELEASE)
        subject = op.subject or ""
        owner = words.get(subject, -1) in owned
        bytecodes = lower(
            op,
            self.runtime,
            owner=owner,
            immortal=subject in self.immortal,
            deferred=subject in self.deferred,
        )
        for bytecode in bytecodes:
            for position, micro in enumerate(bytecode.steps):
                code = _BIASED_CODES.get((micro.kind, micro.amount))
                if micro.kind is MicroKind.DECREF_SHARED:
                    code = DS_OWNER if owner else DS_GUEST
                elif code is None:
                    code = _CODES[micro.kind]
                if semaphore:
                    code = _SEMAPHORE_CODES[code]
                table = tables[_TABLES[code]] if code in _TABLES else words
                word = -1 if micro.subject is None else table[micro.subject]
                steps.append(
                    (code, micro.kind.value, word, micro.amount, position == 0, bytecode.times,
                     micro.subject)
                )  # fmt: skip
        return steps

    # -- states ---------------------------------------------------------------------

    def initial(self) -> State:
        """The state before any micro-step has run."""
        # One value, built once: a search starts thousands of runs from it, and with
        # thousands of threads building it is a loop over them.
        if self._initial is None:
            self._initial = self._start()
        return self._initial

    def _start(self) -> State:
        s = self.scenario
        values = tuple(v for _, v in s.objects) + tuple(v for _, v in s.variables)
        brc: tuple[Any, ...] = ()
        if self.counting == "biased":
            brc = self._initial_brc(values)
            locals_ = tuple(v - shared for v, shared in zip(values, brc[0], strict=False))
            values = locals_ + values[self.n_objects :]
        return State(
            # One value for every thread: 5,000 equal registers need not be 5,000 objects.
            threads=pack_threads((_START,) * len(s.threads), len(s.threads)),
            values=values,
            versions=(0,) * len(values),
            freed=(False,) * self.n_objects,
            true_refs=tuple(v for _, v in s.objects),
            holders=(-1,) * len(s.locks),
            kinds=0,
            step=0,
            last_store=((-1, 0, ""),) * len(values),
            freed_by=((-1, 0),) * self.n_objects,
            live=pack_live(
                (t for t, program in enumerate(self.programs) if program), len(s.threads)
            ),
            inside=-1,
            sync=((0,) * len(s.events) + tuple(n for _, n in s.semaphores) + (0,) * len(s.queues)),
            waiters=((),) * len(s.conditions),
            brc=brc,
        )

    def _initial_brc(self, values: tuple[int, ...]) -> tuple[Any, ...]:
        """Free-threaded counts at the start: an owned object's whole count is its owner's
        local count; any other object starts merged, its count all shared (MODEL.md)."""
        shared = tuple(
            0 if owner >= 0 or name in self.immortal else values[w]
            for w, (name, owner) in enumerate(zip(self.object_names, self.owner_of, strict=True))
        )
        flags = tuple(0 if owner >= 0 else MERGED for owner in self.owner_of)
        return (shared, flags, self._no_pending, self._no_merging)

    def settle(self, state: State) -> State:
        """``state`` with its derived fields, ``live`` and ``inside``, recomputed from the
        rest (for a driver that builds a state from a compact form of its own). Under
        ``gil`` at most one thread is inside a bytecode; elsewhere ``inside`` is unused."""
        n = len(self.programs)
        live = pack_live((t for t in range(n) if not self.finished(state, t)), n)
        inside = -1
        for t in live:
            pc = state.threads[t].pc
            program = self.programs[t]
            if pc < len(program) and not program[pc].first:
                inside = t
                break
        return state._replace(live=live, inside=inside)

    def finished(self, state: State, thread: int) -> bool:
        """Whether ``thread`` has nothing left to run: its program is done and (free-
        threaded) no object waits for it to merge."""
        if state.threads[thread].pc < len(self.programs[thread]):
            return False
        brc = state.brc
        if not brc or self._none_queued(brc):
            return True
        return not brc[2][thread] and brc[3][thread] < 0

    def _none_queued(self, brc: tuple[Any, ...]) -> bool:
        """True when free-threaded's counts ``brc`` still hold the merge queues the machine
        started with: nothing is queued for any thread (no lookup per thread)."""
        return brc[2] is self._no_pending and brc[3] is self._no_merging

    def next_instr(self, state: State, thread: int) -> Instr | None:
        """The instruction ``thread`` runs next, or ``None`` if it has finished. Under
        free-threaded this may be a merge of an object another thread queued for it, or
        the DEALLOC that follows one: steps of no op of its program."""
        pc = state.threads[thread].pc
        program = self.programs[thread]
        if state.brc:
            interrupt = self._interrupt(state, thread)
            if interrupt is not None:
                return interrupt
        return program[pc] if pc < len(program) else None

    # -- free-threaded CPython: biased reference counting ---------------------------

    def _at_boundary(self, state: State, thread: int) -> bool:
        """Whether ``thread`` is between two bytecodes (or done with its program): where
        CPython's eval loop handles the merges queued for it."""
        pc = state.threads[thread].pc
        program = self.programs[thread]
        return pc >= len(program) or program[pc].first

    def _interrupt(self, state: State, thread: int) -> Instr | None:
        """The queued merge (or its DEALLOC) ``thread`` must run now, if any."""
        if self._none_queued(state.brc):
            return None
        _, _, pending, merging = state.brc
        if merging[thread] >= 0:
            w, micro, code, first = merging[thread], "DEALLOC", DEALLOC, False
        elif pending[thread] and self._at_boundary(state, thread):
            w, micro, code, first = pending[thread][0], "MERGE", MERGE_QUEUED, True
        else:
            return None
        name = self.object_names[w]
        pc = state.threads[thread].pc
        program = self.programs[thread]
        index = (
            program[pc].op_index if pc < len(program) else len(self.scenario.threads[thread].ops)
        )
        op = f"(merge queued {name})"
        return _new(Instr, (code, micro, w, 0, first, 1, index, op, name))

    def _enabled_biased(self, state: State) -> Sequence[int]:
        """:meth:`enabled` under free-threaded: a thread with a queued merge to run may
        always run it; otherwise as :meth:`enabled` (there is no GIL)."""
        if not self.may_block:
            return state.live  # a live thread runs its merge or a step that cannot wait
        programs = self.programs
        threads = state.threads
        _, _, pending, merging = state.brc
        unblocked = self._unblocked
        return tuple(
            t
            for t in state.live
            if merging[t] >= 0
            or (pending[t] and self._at_boundary(state, t))
            or unblocked(state, t, programs[t][threads[t].pc])
        )

    def _is_enabled_biased(self, state: State, thread: int) -> bool:
        """:meth:`is_enabled` under free-threaded: whether ``thread`` is among
        :meth:`_enabled_biased`'s threads, asking only about it."""
        if thread not in state.live:
            return False
        if not self.may_block:
            return True  # as _enabled_biased: every live thread
        _, _, pending, merging = state.brc
        if merging[thread] >= 0 or (pending[thread] and self._at_boundary(state, thread)):
            return True
        return self._unblocked(state, thread, self.programs[thread][state.threads[thread].pc])

    def _step_biased(
        self, state: State, thread: int, time: int = 0
    ) -> tuple[State, TraceEvent, tuple[Anomaly, ...]]:
        """:meth:`step` under free-threaded (bound in its place by ``__init__``)."""
        interrupt = self._interrupt(state, thread)
        if interrupt is not None:
            new, event, anomalies = self._brc_step(state, thread, interrupt, time)
        else:
            pc = state.threads[thread].pc
            instr = self.programs[thread][pc]
            if L_INC <= instr.code <= DEFERRED:
                new, event, anomalies = self._brc_step(state, thread, instr, time)
            else:
                new, event, anomalies = Machine.step(self, state, thread, time)
        # A thread stays live while merges are queued for it, after its last op too. Before
        # its program's end it is live (it was enabled, and neither step removes it then).
        if new.threads[thread].pc >= len(self.programs[thread]):
            live = new.live
            if thread in live:
                if self.finished(new, thread):
                    new = new._replace(live=removed(live, thread))
            elif not self.finished(new, thread):
                new = new._replace(live=added(live, thread))
        w = self._objects.get(event.subject or "")
        if w is not None:
            local, shared = new.values[w], new.brc[0][w]
            event = event._replace(value=local + shared, counts=(local, shared))
        return new, event, anomalies

    def _brc_step(
        self, state: State, t: int, instr: Instr, time: int
    ) -> tuple[State, TraceEvent, tuple[Anomaly, ...]]:
        """One micro-step of biased counting (see :func:`refsim.lowering.lower`), or a
        queued merge: MODEL.md's "Free-threaded CPython", docs/model.md has CPython's code."""
        (threads, values, versions, freed, true_refs, holders, kinds, stepno, last_store,
         freed_by, live, _inside, sync, waiters, brc) = state  # fmt: skip
        # Per object, lists to update in place; per thread (pending, merging), replaced
        # items: copying them whole at each step would cost a loop over thousands of threads.
        shared, flags, pending, merging = list(brc[0]), list(brc[1]), brc[2], brc[3]
        values_, versions_, true_ = list(values), list(versions), list(true_refs)
        pc, reg, loaded, reps = threads[t]
        code, w, delta = instr.code, instr.word, instr.delta
        stepno += 1
        anomalies: tuple[Anomaly, ...] = ()
        register: int | None = None
        if freed[w] and code not in (IMMORTAL, DEFERRED, DEALLOC):
            anomalies = (self._after_free(_UAF, state, t, w, _TOUCHES[code], stepno),)
        if code == DEALLOC:  # the DEALLOC after a queued merge that brought the count to 0
            merging = replaced(merging, t, -1)
            if freed[w]:
                anomalies = (self._double_free(state, t, w, stepno),)
            else:
                if true_refs[w] > 0:
                    anomalies = (self._premature_free(state, t, w, stepno),)
                freed = freed[:w] + (True,) + freed[w + 1 :]
                freed_by = freed_by[:w] + ((t, stepno),) + freed_by[w + 1 :]
        elif code == MERGE_QUEUED:
            pending = replaced(pending, t, pending[t][1:])
            count = self._explicit_merge(w, values_, versions_, shared, flags)
            if count == 0:
                merging = replaced(merging, t, w)
        else:
            pc += 1
            if code in (L_INC, L_DEC):
                if flags[w] == MERGED:  # no longer owned: the shared path
                    pc += 2 if code == L_INC else 3
                else:
                    register = reg = values[w]
                    loaded = versions[w]
            elif code in (S_INC, S_DEC):
                if versions[w] != loaded:  # never: only the owner writes its local count
                    anomalies += (self._lost_update(state, t, w, reg, loaded, delta, stepno),)
                values_[w] = register = reg
                versions_[w] += 1
                loaded = -1
                true_[w] += delta
                if code == S_INC:
                    pc += 1  # not ADD_SHARED
                elif reg != 0:
                    pc += 3  # no merge: not MERGE, DECREF_SHARED, DEALLOC
            elif code == MERGE_ZERO:
                flags[w] = MERGED
                pc += 1 if shared[w] == 0 else 2  # DEALLOC, or done
            elif code == ADD_SHARED:
                shared[w] += 1
                true_[w] += 1
            elif code in (DS_OWNER, DS_GUEST):
                true_[w] -= 1
                if code == DS_GUEST and flags[w] == 0 and shared[w] == 0:
                    flags[w] = QUEUED  # no decrement: the queue holds the reference
                else:
                    shared[w] -= 1
                    zero = flags[w] == MERGED and shared[w] == 0
                    if code == DS_OWNER:
                        pc += 0 if zero else 1
                    else:
                        pc += 1 if zero else 2
            elif code == QUEUE:
                owner = self.owner_of[w]
                if flags[w] == MERGED:
                    # The owner merged meanwhile: a plain shared decref (brc.c: Py_DECREF).
                    shared[w] -= 1
                    zero = shared[w] == 0
                elif owner not in live:
                    # The owner has exited: merge here, dropping the queue's reference.
                    zero = self._explicit_merge(w, values_, versions_, shared, flags) == 0
                else:
                    pending = replaced(pending, owner, (*pending[owner], w))
                    zero = False
                pc += 0 if zero else 1
            else:
                assert code in (IMMORTAL, DEFERRED), code
                true_[w] += delta
        new_brc = (tuple(shared), tuple(flags), pending, merging)
        for anomaly in anomalies:
            kinds |= _BIT[anomaly.kind]
        threads = replaced(threads, t, _new(ThreadState, (pc, reg, loaded, reps)))
        new = _new(
            State,
            (threads, tuple(values_), tuple(versions_), freed, tuple(true_), holders,
             kinds, stepno, last_store, freed_by, live, -1, sync, waiters, new_brc),
        )  # fmt: skip
        event = _new(
            TraceEvent,
            (stepno, time, self.thread_names[t], instr.op, instr.micro, instr.subject, register,
             None, true_[w], instr.op_index, instr.first, None),
        )  # fmt: skip
        return new, event, anomalies

    @staticmethod
    def _explicit_merge(
        w: int, values: list[int], versions: list[int], shared: list[int], flags: list[int]
    ) -> int:
        """``_Py_ExplicitMergeRefcount(ob, -1)``: local + shared - 1 becomes the shared
        count, the local count 0, the object merged; returns the count."""
        count = values[w] + shared[w] - 1
        values[w] = 0
        versions[w] += 1
        shared[w] = count
        flags[w] = MERGED
        return count

    def enabled(self, state: State) -> Sequence[int]:
        """The threads that may run the next micro-step (MODEL.md, "Runtimes" and
        "Threads that wait for each other").

        An unfinished thread is enabled unless it is blocked: its next micro-step is an
        ``acquire`` of a held lock or of a semaphore at 0, a ``wait`` on a clear event, a
        ``put`` into a full queue or a ``get`` from an empty one, a ``join`` of a thread that
        has not finished, or the second bytecode of ``wait C`` before a notify (or while
        C's lock is held). Under ``gil`` a thread inside a bytecode is the only one enabled.
        """
        if self.gil and state.inside >= 0:
            return (state.inside,)
        if not self.may_block:
            return state.live
        programs = self.programs
        threads = state.threads
        unblocked = self._unblocked
        return tuple(t for t in state.live if unblocked(state, t, programs[t][threads[t].pc]))

    def is_enabled(self, state: State, thread: int) -> bool:
        """Whether ``thread`` is among :meth:`enabled`'s threads, without building them:
        in constant time, where a membership test of the enabled tuple costs a scan of
        every thread (a run of 5,000 threads asks at every switch)."""
        if self.gil and state.inside >= 0:
            return thread == state.inside
        if state.brc:
            return self._is_enabled_biased(state, thread)
        pc = state.threads[thread].pc
        program = self.programs[thread]
        if pc >= len(program):
            return False
        if not self.may_block:
            return True
        return self._unblocked(state, thread, program[pc])

    def _unblocked(self, state: State, t: int, instr: Instr) -> bool:
        """Whether ``t``'s next micro-step ``instr`` can run now as far as locks and the
        waiting primitives go (the GIL aside)."""
        if instr.code == ACQUIRE:
            return state.holders[instr.word] < 0
        return instr.code not in WAITS or self._ready(state, t, instr)

    def _ready(self, state: State, t: int, instr: Instr) -> bool:
        """Whether ``t``'s next micro-step ``instr``, one that may wait, can run now."""
        code, w = instr.code, instr.word
        if code in (SEM_ACQUIRE, GET):
            return state.sync[w] > 0
        if code == WAIT:
            return state.sync[w] != 0
        if code == PUT:
            return state.sync[w] < self.capacity[w]
        if code == JOIN:
            return state.threads[w].pc >= len(self.programs[w])
        assert code == REACQUIRE, code
        return t not in state.waiters[w] and state.holders[self.condition_lock[w]] < 0

    def waiting_for(self, state: State, thread: int) -> str | None:
        """What blocks ``thread``, in words (``"Q to hold an item"``), or ``None`` if its
        next micro-step could run as far as locks and the other primitives go (it may still
        have to wait for the GIL, or have finished)."""
        instr = self.next_instr(state, thread)
        if instr is None:
            return None
        if self._unblocked(state, thread, instr):
            return None
        code, w, name = instr.code, instr.word, instr.subject
        if code == ACQUIRE:
            return f"lock {name}, which {self._who(state, state.holders[w], thread)} holds"
        if code == SEM_ACQUIRE:
            return f"semaphore {name} to be released (its count is 0)"
        if code == WAIT:
            return f"event {name} to be set"
        if code == PUT:
            return f"room in {name} (it holds {state.sync[w]} of {self.capacity[w]} items)"
        if code == GET:
            return f"{name} to hold an item"
        if code == JOIN:
            return f"{name} to finish"
        if thread in state.waiters[w]:
            return f"a notify on {name}"
        lock = self.condition_lock[w]
        who = self._who(state, state.holders[lock], thread)
        return f"lock {self.lock_names[lock]}, which {who} holds, to return from wait {name}"

    def waits_on(self, state: State, thread: int) -> str | None:
        """What blocks ``thread``, in a few words for a figure's lane (``lock L``, ``get Q
        (empty)``, ``join W1``, ``notify on C``), or ``None`` when it is not blocked."""
        key = self.wait_key(state, thread)
        if key is None:
            return None
        instr = self.next_instr(state, thread)
        assert instr is not None
        code, name = instr.code, instr.subject
        if code == ACQUIRE:
            return f"lock {name}"
        if code == REACQUIRE:
            if key[0] == "condition":
                return f"notify on {name}"
            return f"lock {self.lock_names[self.condition_lock[instr.word]]} (wait {name})"
        if code == SEM_ACQUIRE:
            return f"semaphore {name}"
        if code == WAIT:
            return f"event {name}"
        if code == PUT:
            return f"put {name} (full)"
        if code == GET:
            return f"get {name} (empty)"
        return f"join {name}"

    def _who(self, state: State, holder: int, thread: int) -> str:
        """A lock holder's name, marked if it has finished (it never will release)."""
        done = " (finished)" if holder != thread and self.finished(state, holder) else ""
        return self.thread_names[holder] + done

    def wait_key(self, state: State, thread: int) -> tuple[str, int] | None:
        """What ``thread`` waits on, as a key a driver can sleep on until
        :meth:`wakes` names it, or ``None`` when it is not blocked."""
        instr = self.next_instr(state, thread)
        if instr is None:
            return None
        if self._unblocked(state, thread, instr):
            return None
        code, w = instr.code, instr.word
        if code == ACQUIRE:
            return ("lock", w)
        if code == JOIN:
            return ("thread", w)
        if code == REACQUIRE:
            if thread in state.waiters[w]:
                return ("condition", w)
            return ("lock", self.condition_lock[w])
        return ("sync", w)

    def wakes(self, instr: Instr) -> tuple[str, int] | None:
        """The key (:meth:`wait_key`) of the waiters that ``instr``, just run, may have
        unblocked, or ``None``. A thread's end wakes ``("thread", t)``: see the driver."""
        code = instr.code
        if code == RELEASE:
            return ("lock", instr.word)
        if code == CWAIT:
            return ("lock", self.condition_lock[instr.word])
        if code in (SEM_RELEASE, SET, PUT, GET):
            return ("sync", instr.word)
        if code in (NOTIFY, NOTIFY_ALL):
            return ("condition", instr.word)
        return None

    def blocked(self, state: State) -> tuple[tuple[int, str], ...]:
        """The unfinished threads that are blocked, each with what it waits for."""
        found = []
        for t in state.live:
            reason = self.waiting_for(state, t)
            if reason is not None:
                found.append((t, reason))
        return tuple(found)

    def why_not_enabled(self, state: State, thread: int) -> str:
        """A plain reason why ``thread`` may not run the next micro-step."""
        name = self.thread_names[thread]
        instr = self.next_instr(state, thread)
        if instr is None:
            return "it has finished"
        reason = self.waiting_for(state, thread)
        if reason is not None:
            return f"it is waiting for {reason}"
        if self.gil:
            for t in range(len(self.programs)):
                other = self.next_instr(state, t)
                if other is not None and not other.first:
                    return (
                        f"{self.thread_names[t]} is inside a bytecode ({other.op}) and holds "
                        f"the GIL until it ends"
                    )
        raise AssertionError(f"{name} is enabled")

    # -- the transition -------------------------------------------------------------

    def step(
        self, state: State, thread: int, time: int = 0
    ) -> tuple[State, TraceEvent, tuple[Anomaly, ...]]:
        """Run ``thread``'s next micro-step. ``thread`` must be enabled.

        ``time`` is only copied into the trace event; it has no effect on the state.
        """
        t = thread
        (threads, values, versions, freed, true_refs, holders, kinds, stepno, last_store,
         freed_by, live, inside, sync, waiters, brc) = state  # fmt: skip
        pc, reg, loaded, reps = threads[t]
        program = self.programs[t]
        instr = program[pc]
        code, micro, w, delta, first, times, op_index, op, subject = instr
        stepno += 1
        anomalies: tuple[Anomaly, ...] = ()
        register: int | None = None
        value: int | None = None
        shown_true: int | None = None
        wrote = False
        pc += 1

        if code == LOAD:
            if freed[w]:
                anomalies = (self._after_free(_UAF, state, t, w, "loaded the refcount of", stepno),)
            register = value = reg = values[w]
            loaded = versions[w]
            shown_true = true_refs[w]
        elif code in (ARITH, BINARY_OP):
            register = reg = reg + delta
            value = values[w]
            if w < self.n_objects:
                shown_true = true_refs[w]
        elif code in (STORE, STORE_GLOBAL):
            if versions[w] != loaded:
                anomalies = (self._lost_update(state, t, w, reg, loaded, delta, stepno),)
            if code == STORE:
                if freed[w]:
                    uaf = self._after_free(_UAF, state, t, w, "stored into the refcount of", stepno)
                    anomalies += (uaf,)
                shown_true = true_refs[w] + delta
                if delta < 0 and reg != 0:
                    pc += 1  # the DEALLOC runs only when the stored value is 0
            loaded = -1
            register = value = reg
            wrote = True
        elif code == RMW:
            if freed[w]:
                anomalies = (
                    self._after_free(_UAF, state, t, w, "updated the refcount of", stepno),
                )
            register = value = reg = values[w] + delta
            shown_true = true_refs[w] + delta
            if delta < 0 and reg != 0:
                pc += 1
            wrote = True
        elif code == DEALLOC:
            if freed[w]:
                anomalies = (self._double_free(state, t, w, stepno),)
            else:
                if true_refs[w] > 0:
                    anomalies = (self._premature_free(state, t, w, stepno),)
                freed = freed[:w] + (True,) + freed[w + 1 :]
                freed_by = freed_by[:w] + ((t, stepno),) + freed_by[w + 1 :]
            value = values[w]
            shown_true = true_refs[w]
        elif code == READ:
            if freed[w]:
                anomalies = (self._after_free(_UAF, state, t, w, "used", stepno),)
            value = values[w] if self.counted else None  # a tracing collector counts nothing
            shown_true = true_refs[w]
        elif code == LOAD_GLOBAL:
            register = value = reg = values[w]
            loaded = versions[w]
        elif code == COMPUTE:
            reps += 1
            if reps < times:
                pc -= 1
            else:
                reps = 0
        elif code == ACQUIRE:
            holders = holders[:w] + (t,) + holders[w + 1 :]
        elif code == RELEASE:
            holders = holders[:w] + (-1,) + holders[w + 1 :]
        elif RELEASE < code <= NOTIFY_ALL:
            sync, waiters, holders, value = self._wait_step(code, t, w, sync, waiters, holders)
        elif code >= TAKE:
            # A tracing collector's TAKE or DROP: a reference, no count to write.
            new_list = list(true_refs)
            new_list[w] = shown_true = true_refs[w] + delta
            true_refs = tuple(new_list)
        # IO has no effect in controlled mode: it is one micro-step like any other.

        if wrote:
            # STORE, STORE_GLOBAL and RMW write the register to the word. Replacing one
            # item through a list costs half what slicing and joining does.
            new_list = list(values)
            new_list[w] = reg
            values = tuple(new_list)
            new_list = list(versions)
            new_list[w] += 1
            versions = tuple(new_list)
            stores = list(last_store)
            stores[w] = (t, reg, op)
            last_store = tuple(stores)
            if shown_true is not None:
                new_list = list(true_refs)
                new_list[w] = shown_true
                true_refs = tuple(new_list)

        if anomalies:
            for anomaly in anomalies:
                kinds |= _BIT[anomaly.kind]
        inside = -1
        if pc >= len(program):
            live = removed(live, t)
        elif not program[pc].first:
            inside = t
        # tuple.__new__ skips NamedTuple's Python-level __new__: a third of a step's cost.
        if type(threads) is Chunked:
            # Past CHUNK threads: copy one leaf of a shallow tree, not every thread.
            threads = threads.replace(t, _new(ThreadState, (pc, reg, loaded, reps)))
        else:
            thread_list = list(threads)
            thread_list[t] = _new(ThreadState, (pc, reg, loaded, reps))
            threads = tuple(thread_list)
        new = _new(
            State,
            (threads, values, versions, freed, true_refs, holders, kinds, stepno,
             last_store, freed_by, live, inside, sync, waiters, brc),
        )  # fmt: skip
        event = _new(
            TraceEvent,
            (stepno, time, self.thread_names[t], op, micro, subject, register, value,
             shown_true, op_index, first, None),
        )  # fmt: skip
        return new, event, anomalies

    def _wait_step(
        self,
        code: int,
        t: int,
        w: int,
        sync: tuple[int, ...],
        waiters: tuple[tuple[int, ...], ...],
        holders: tuple[int, ...],
    ) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...], tuple[int, ...], int | None]:
        """The effect of a micro-step of the waiting primitives (MODEL.md's table): the new
        counters, condition waiters and lock holders, and the value the trace shows (the
        counter after the step, or the condition's number of waiters; ``None`` for JOIN)."""
        if code <= GET:
            count = sync[w]
            if code in (SEM_ACQUIRE, GET):
                count -= 1
            elif code in (SEM_RELEASE, PUT):
                count += 1
            elif code == SET:
                count = 1
            elif code == CLEAR:
                count = 0
            # WAIT only waits: its effect is none.
            if count != sync[w]:
                sync = sync[:w] + (count,) + sync[w + 1 :]
            return sync, waiters, holders, count
        if code == JOIN:
            return sync, waiters, holders, None
        queue = waiters[w]
        lock = self.condition_lock[w]
        if code == CWAIT:
            queue += (t,)
            holders = holders[:lock] + (-1,) + holders[lock + 1 :]
        elif code == REACQUIRE:
            holders = holders[:lock] + (t,) + holders[lock + 1 :]
        elif code == NOTIFY:
            queue = queue[1:]
        else:
            assert code == NOTIFY_ALL, code
            queue = ()
        waiters = waiters[:w] + (queue,) + waiters[w + 1 :]
        return sync, waiters, holders, len(queue)

    # -- the end of a run -----------------------------------------------------------

    def conclude(self, state: State) -> tuple[Anomaly, ...]:
        """What is judged once no thread is enabled: leaks if all finished, else deadlock."""
        # A thread that is not live has finished: only the live ones can be left blocked
        # (5,000 finished threads are not 5,000 questions).
        blocked = [t for t in state.live if not self.finished(state, t)]
        if blocked:
            return (self._deadlock(state, blocked),)
        leaks = []
        if self.counting == "tracing":
            return ()  # the collector frees whatever nothing refers to
        for w, name in enumerate(self.object_names):
            if name in self.immortal or name in self.deferred:
                continue  # never freed / freed by the collector: neither leaks
            if not state.freed[w] and state.true_refs[w] == 0:
                leaks.append(
                    Anomaly(
                        AnomalyKind.LEAK,
                        name,
                        None,
                        (),
                        f"{name} is never freed: its refcount is {self.count(state, w)} but "
                        f"no reference to it remains (true refs 0): a leak",
                    )
                )
        return tuple(leaks)

    def count(self, state: State, w: int) -> int:
        """Object ``w``'s refcount: its word, or under free-threaded local + shared."""
        return state.values[w] + state.brc[0][w] if state.brc else state.values[w]

    def final(self, state: State) -> tuple[tuple[str, FinalValue], ...]:
        """Each object's refcount (or ``"freed"``), then each variable's value.

        Under a tracing collector (``pypy``, ``jython``) there is no count: an object is
        ``"freed"`` once every thread has finished and nothing refers to it (the
        collector's work), else the number of references left (its true refs). Under
        free-threaded a deferred object is freed the same way, by the collector."""
        done = not state.live
        objects: list[tuple[str, FinalValue]] = []
        for w, name in enumerate(self.object_names):
            collected = self.counting == "tracing" or name in self.deferred
            if state.freed[w] or (collected and done and state.true_refs[w] == 0):
                objects.append((name, "freed"))
            elif self.counting == "tracing":
                objects.append((name, state.true_refs[w]))
            else:
                objects.append((name, self.count(state, w)))
        variables: list[tuple[str, FinalValue]] = [
            (name, state.values[self.n_objects + i]) for i, name in enumerate(self.variable_names)
        ]
        return tuple(objects + variables)

    # -- messages -------------------------------------------------------------------

    def _lost_update(
        self, state: State, t: int, w: int, reg: int, loaded: int, delta: int, step: int
    ) -> Anomaly:
        me = self.thread_names[t]
        missed = state.versions[w] - loaded
        last_thread, last_value, last_op = state.last_store[w]
        last = self.thread_names[last_thread]
        if missed == 1:
            what = self._update_name(last_op, w)
            message = (
                f"{me} stored {reg} over {last}'s store of {last_value}: {last}'s {what} is lost"
            )
        else:
            # Not "N updates are lost": some of those stores may have lost updates
            # themselves, or cancel out (an incref and a decref); the count says how far off
            # the word really is.
            message = (
                f"{me} stored {reg} over the {missed} stores made since it loaded "
                f"(the last, {last}'s, of {last_value}): their updates are lost"
            )
            if w < self.n_objects:
                truth = state.true_refs[w] + delta
                message += (
                    f", but they cancel out: the refcount, {reg}, is still right"
                    if truth == reg
                    else f", and the refcount is now {reg} where {truth} references exist"
                )
        return _new(
            Anomaly, (AnomalyKind.LOST_UPDATE, self.word_names[w], step, (me, last), message)
        )

    def _update_name(self, op: str, w: int) -> str:
        return op.split()[0] if w < self.n_objects else op

    def _double_free(self, state: State, t: int, w: int, step: int) -> Anomaly:
        return self._after_free(AnomalyKind.DOUBLE_FREE, state, t, w, "freed", step)

    def _after_free(
        self, kind: AnomalyKind, state: State, t: int, w: int, did: str, step: int
    ) -> Anomaly:
        """``T2 used obj after T1 freed it at step 13: a use-after-free``."""
        me = self.thread_names[t]
        name = self.object_names[w]
        by, when = state.freed_by[w]
        freer = "freeing" if by == t else f"{self.thread_names[by]} freed"
        label = "a double free" if kind is AnomalyKind.DOUBLE_FREE else "a use-after-free"
        message = f"{me} {did} {name} after {freer} it at step {when}: {label}"
        return _new(Anomaly, (kind, name, step, (me, self.thread_names[by]), message))

    def _premature_free(self, state: State, t: int, w: int, step: int) -> Anomaly:
        me = self.thread_names[t]
        name = self.object_names[w]
        alive = state.true_refs[w]
        refs = "reference to it still exists" if alive == 1 else "references to it still exist"
        message = f"{me} freed {name} while {alive} {refs} (true refs {alive}): a premature free"
        return _new(Anomaly, (AnomalyKind.PREMATURE_FREE, name, step, (me,), message))

    def _deadlock(self, state: State, blocked: list[int]) -> Anomaly:
        parts = []
        for t in blocked:
            instr = self.next_instr(state, t)
            assert instr is not None
            if instr.code != ACQUIRE:
                reason = self.waiting_for(state, t)
                assert reason is not None, "a thread left over at the end is blocked"
                parts.append(f"{self.thread_names[t]} waits for {reason}")
                continue
            holder = state.holders[instr.word]
            done = ", which has finished" if self.finished(state, holder) else ""
            owner = "itself" if holder == t else self.thread_names[holder]
            parts.append(
                f"{self.thread_names[t]} waits for {instr.subject} (held by {owner}{done})"
            )
        names = tuple(self.thread_names[t] for t in blocked)
        return Anomaly(AnomalyKind.DEADLOCK, None, None, names, "deadlock: " + ", ".join(parts))

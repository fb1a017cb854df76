"""Hypothesis strategies for refsim's own values: schedules and small scenarios.

Every strategy for a refsim type lives in this one file (ARCHITECTURE.md), so property
tests share one idea of what a "small random program" is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from math import factorial

from hypothesis import strategies as st

from refsim.machine import Machine
from refsim.model import Op, OpKind, Runtime, Scenario, Schedule, ThreadSpec

# -- schedules ----------------------------------------------------------------------------

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
"""Names as scenario files allow them (`[A-Za-z_][A-Za-z0-9_]*`), kept short."""


def schedules(
    names: st.SearchStrategy[str] | None = None, *, max_runs: int = 8, max_count: int = 50
) -> st.SearchStrategy[Schedule]:
    """Any schedule over ``names`` (default: arbitrary identifiers), built from runs."""
    name = identifiers if names is None else names
    run = st.tuples(name, st.integers(1, max_count))
    return st.lists(run, max_size=max_runs).map(Schedule.from_runs)


# -- scenarios ----------------------------------------------------------------------------

THREAD_NAMES = ("T1", "T2", "T3", "T4")
OBJECT_NAMES = ("obj", "other")
VARIABLE_NAME = "counter"
LOCK_NAMES = ("L", "M")
DURATIONS = (1, 30, 2_000, 5_000_000)

seeds = st.integers(0, 2**32 - 1)

_PickOp = Callable[[st.DrawFn], Op]


def _program(
    draw: st.DrawFn,
    pick: _PickOp,
    locks: Sequence[str],
    budget: int,
    conditions: Sequence[tuple[str, str]] = (),
) -> list[Op]:
    """A thread's ops, at most ``budget`` of them and at least one.

    Locks only appear in balanced ``acquire L ... release L`` blocks; a block may nest one
    block of a *different* lock, so opposite nesting orders in two threads can deadlock.
    Inside a block of a condition's lock, the thread may ``wait``, ``notify`` or
    ``notify_all`` on the condition (Python requires the lock held).
    """
    return _items(draw, pick, locks, budget, held=(), at_least_one=True, conditions=conditions)


def _items(
    draw: st.DrawFn,
    pick: _PickOp,
    locks: Sequence[str],
    budget: int,
    held: tuple[str, ...],
    at_least_one: bool,
    conditions: Sequence[tuple[str, str]] = (),
) -> list[Op]:
    ops: list[Op] = []
    n_items = draw(st.integers(1 if at_least_one else 0, budget))
    usable = [c for c, lock in conditions if lock in held]
    for _ in range(n_items):
        room = budget - len(ops)
        if room <= 0:
            break
        free = [lock for lock in locks if lock not in held]
        if room >= 2 and free and draw(st.booleans()):
            lock = draw(st.sampled_from(free))
            inner = _items(
                draw, pick, locks, room - 2, held + (lock,), False, conditions
            )  # fmt: skip
            ops += [Op(OpKind.ACQUIRE, lock), *inner, Op(OpKind.RELEASE, lock)]
        elif usable and draw(st.booleans()):
            kind = draw(st.sampled_from(_CONDITION_OPS))
            ops.append(Op(kind, draw(st.sampled_from(usable))))
        else:
            ops.append(pick(draw))
    return ops


_CONDITION_OPS = (OpKind.CONDITION_WAIT, OpKind.NOTIFY, OpKind.NOTIFY_ALL)


class _Waits:
    """The waiting primitives of one drawn scenario (MODEL.md, "Threads that wait"): at
    most one event E, semaphore S, queue Q and condition C (over the first lock)."""

    def __init__(self, draw: st.DrawFn, locks: Sequence[str], enabled: bool) -> None:
        on = enabled and draw(st.booleans())
        self.events = ("E",) if on and draw(st.booleans()) else ()
        self.semaphores = (("S", draw(st.integers(0, 2))),) if on and draw(st.booleans()) else ()
        self.queues = (("Q", draw(st.integers(1, 2))),) if on and draw(st.booleans()) else ()
        self.conditions = (("C", locks[0]),) if on and locks and draw(st.booleans()) else ()
        self.join = on and draw(st.booleans())
        self.kinds: list[tuple[OpKind, str]] = []
        if self.events:
            self.kinds += [(OpKind.SET, "E"), (OpKind.CLEAR, "E"), (OpKind.WAIT, "E")]
        if self.semaphores:
            self.kinds += [(OpKind.SEMAPHORE_ACQUIRE, "S"), (OpKind.SEMAPHORE_RELEASE, "S")]
        if self.queues:
            self.kinds += [(OpKind.PUT, "Q"), (OpKind.GET, "Q")]

    def pick(self, draw: st.DrawFn, me: str, threads: Sequence[str]) -> Op | None:
        """A waiting op for thread ``me``, or ``None`` (then the caller picks another op)."""
        others = [t for t in threads if t != me] if self.join else []
        choices = len(self.kinds) + (1 if others else 0)
        if not choices or draw(st.integers(0, 2)):
            return None
        i = draw(st.integers(0, choices - 1))
        if i == len(self.kinds):
            return Op(OpKind.JOIN, draw(st.sampled_from(others)))
        kind, subject = self.kinds[i]
        return Op(kind, subject)

    def declare(self, scenario: Scenario) -> Scenario:
        return replace(
            scenario,
            events=self.events,
            semaphores=self.semaphores,
            queues=self.queues,
            conditions=self.conditions,
        )


def _other_op(draw: st.DrawFn, variables: Sequence[str]) -> Op:
    """An op that touches no object: ``V += n``, ``V -= n``, ``compute n`` or ``io D``."""
    choices = ["compute", "io"] + (["add", "sub"] if variables else [])
    kind = draw(st.sampled_from(choices))
    if kind == "compute":
        return Op(OpKind.COMPUTE, None, draw(st.integers(1, 3)))
    if kind == "io":
        return Op(OpKind.IO, None, draw(st.sampled_from(DURATIONS)))
    subject = draw(st.sampled_from(variables))
    return Op(OpKind.ADD if kind == "add" else OpKind.SUB, subject, draw(st.integers(1, 3)))


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    runtimes: Sequence[Runtime] = tuple(Runtime),
    variables: bool = True,
    locks: bool = True,
    waits: bool = True,
    max_threads: int = 4,
    max_ops: int = 5,
) -> Scenario:
    """A small random scenario: 1-4 threads of 1-5 ops over 1-2 objects (initial refcount
    0-3), 0-1 variables (unless ``variables=False``: then only refcount ops, ``compute``,
    ``io`` and locks), optionally locks in balanced acquire/release blocks, and (unless
    ``waits=False``) sometimes the waiting primitives: an event, a semaphore, a queue, a
    condition over a lock, and joins.

    Nothing here keeps the refcounts honest: threads may decref references they never
    took, so every anomaly is reachable. See :func:`well_formed_scenarios` for programs
    that only drop references they own.
    """
    objects = tuple(
        (name, draw(st.integers(1, 3)))
        for name in OBJECT_NAMES[: draw(st.integers(1, len(OBJECT_NAMES)))]
    )
    object_names = [name for name, _ in objects]
    var_names = [VARIABLE_NAME] if variables and draw(st.booleans()) else []
    lock_names = list(LOCK_NAMES[: draw(st.integers(0, len(LOCK_NAMES)))]) if locks else []

    n_threads = draw(st.integers(1, max_threads))
    names = THREAD_NAMES[:n_threads]
    prims = _Waits(draw, lock_names, waits)

    def picker(me: str) -> _PickOp:
        def pick(d: st.DrawFn) -> Op:
            waiting = prims.pick(d, me, names)
            if waiting is not None:
                return waiting
            kind = d(st.sampled_from(("incref", "decref", "use", "other")))
            if kind == "other":
                return _other_op(d, var_names)
            return Op(OpKind(kind), d(st.sampled_from(object_names)))

        return pick

    threads = tuple(
        ThreadSpec(name, tuple(_program(draw, picker(name), lock_names, max_ops, prims.conditions)))
        for name in names
    )
    return _object_traits(
        draw,
        prims.declare(
            Scenario(
                name="random",
                threads=threads,
                objects=objects,
                variables=tuple((name, draw(st.integers(-2, 5))) for name in var_names),
                locks=tuple(lock_names),
                runtime=draw(st.sampled_from(tuple(runtimes))),
            )
        ),
    )


def _object_traits(draw: st.DrawFn, scenario: Scenario) -> Scenario:
    """``scenario`` with, now and then, objects owned by a thread, immortal or deferred
    (what free-threaded CPython's biased counting cares about; other runtimes ignore it)."""
    owners, immortal, deferred = [], [], []
    for name, _ in scenario.objects:
        trait = draw(st.sampled_from(("none", "none", "owner", "owner", "immortal", "deferred")))
        if trait == "owner":
            owners.append((name, draw(st.sampled_from(scenario.thread_names))))
        elif trait == "immortal":
            immortal.append(name)
        elif trait == "deferred":
            deferred.append(name)
    return replace(
        scenario, owners=tuple(owners), immortal=tuple(immortal), deferred=tuple(deferred)
    )


@st.composite
def well_formed_scenarios(
    draw: st.DrawFn,
    *,
    runtimes: Sequence[Runtime] = tuple(Runtime),
    max_threads: int = 4,
    max_ops: int = 5,
    borrowed: bool = True,
    variables: bool = True,
) -> Scenario:
    """A small random scenario in which every thread only drops references it owns.

    With ``borrowed=False`` a thread also increfs and uses only objects it holds a
    reference to: no borrowed reference at all (what free-threaded CPython's guarantees
    are about).

    Well-formed means: each object's initial references are handed out to the threads
    (each thread owns some of them, in total at most the initial refcount), and a thread
    may ``decref X`` only while it holds a reference to X, one it was given or one its
    own earlier ``incref X`` took. Then, were every update atomic, no count could go
    below zero: ``true_refs`` never goes negative, whatever the schedule.
    """
    objects = tuple(
        (name, draw(st.integers(1, 3)))
        for name in OBJECT_NAMES[: draw(st.integers(1, len(OBJECT_NAMES)))]
    )
    var_names = [VARIABLE_NAME] if variables and draw(st.booleans()) else []
    lock_names = list(LOCK_NAMES[: draw(st.integers(0, len(LOCK_NAMES)))])
    n_threads = draw(st.integers(1, max_threads))

    unowned = dict(objects)
    threads = []
    for i in range(n_threads):
        held: dict[str, int] = {}
        for name, _ in objects:
            held[name] = draw(st.integers(0, unowned[name]))
            unowned[name] -= held[name]

        def pick(d: st.DrawFn, held: dict[str, int] = held) -> Op:
            droppable = [name for name, n in held.items() if n > 0]
            kinds = ["other"] + (["decref"] if droppable else [])
            kinds += ["incref", "use"] if borrowed or droppable else []
            kind = d(st.sampled_from(kinds))
            if kind == "other":
                return _other_op(d, var_names)
            if kind == "decref":
                name = d(st.sampled_from(droppable))
                held[name] -= 1
            else:
                name = d(st.sampled_from(list(held) if borrowed else droppable))
                if kind == "incref":
                    held[name] += 1
            return Op(OpKind(kind), name)

        ops = tuple(_program(draw, pick, lock_names, max_ops))
        threads.append(ThreadSpec(THREAD_NAMES[i], ops))
    return _object_traits(
        draw,
        Scenario(
            name="well_formed",
            threads=tuple(threads),
            objects=objects,
            variables=tuple((name, 0) for name in var_names),
            locks=tuple(lock_names),
            runtime=draw(st.sampled_from(tuple(runtimes))),
        ),
    )


# -- scenarios small enough to enumerate ----------------------------------------------------


def micro_steps(scenario: Scenario) -> list[int]:
    """Each thread's micro-steps under the scenario's runtime, DEALLOCs included."""
    return [sum(i.times for i in p) for p in Machine(scenario).programs]


def interleaving_bound(scenario: Scenario) -> int:
    """An upper bound on the scenario's interleavings under its runtime: the multinomial
    of the threads' micro-step counts (locks, the GIL and skipped DEALLOCs only remove
    interleavings)."""
    lengths = micro_steps(scenario)
    bound = factorial(sum(lengths))
    for length in lengths:
        bound //= factorial(length)
    return bound


@st.composite
def enumerable_scenarios(
    draw: st.DrawFn,
    *,
    max_interleavings: int = 10_000,
    runtimes: Sequence[Runtime] = tuple(Runtime),
    max_threads: int = 3,
    max_ops: int = 3,
) -> Scenario:
    """A scenario from :func:`scenarios` (or, half the time, :func:`well_formed_scenarios`)
    with at most ``max_interleavings`` interleavings, so that brute force can run every
    one: while the bound is too big, the thread with the most micro-steps loses its last op.

    Half the time the first thread is copied with a new name, so that threads with the
    same program (interchangeable threads) are common.
    """
    base = scenarios if draw(st.booleans()) else well_formed_scenarios
    scenario = draw(base(runtimes=runtimes, max_threads=max_threads, max_ops=max_ops))
    threads = list(scenario.threads)
    if len(threads) < len(THREAD_NAMES) and draw(st.booleans()):
        threads.append(ThreadSpec(THREAD_NAMES[len(threads)], threads[0].ops))
    while True:
        scenario = replace(scenario, threads=tuple(threads))
        if interleaving_bound(scenario) <= max_interleavings:
            return scenario
        lengths = micro_steps(scenario)
        longest = lengths.index(max(lengths))
        ops = threads[longest].ops
        threads[longest] = ThreadSpec(threads[longest].name, ops[:-1])


@st.composite
def prefixes(draw: st.DrawFn, scenario: Scenario) -> list[int]:
    """The first picks (thread indices) of some interleaving of ``scenario`` under its
    runtime: a random walk over the enabled threads, of any length up to a whole run."""
    machine = Machine(scenario)
    length = draw(st.integers(0, sum(micro_steps(scenario))))
    state = machine.initial()
    picks: list[int] = []
    while len(picks) < length and (enabled := machine.enabled(state)):
        thread = draw(st.sampled_from(enabled))
        picks.append(thread)
        state = machine.step(state, thread)[0]
    return picks


# -- untrusted text ---------------------------------------------------------------------------

CONTROLS = tuple(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)))
"""Every C0 and C1 control character, and DEL."""

untrusted_text = st.text(
    st.one_of(
        st.sampled_from(CONTROLS),
        st.sampled_from("[]/\\:*'\"` \u202e\u2028"),  # markup, quoting, bidi, separators
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=16,
)
"""Text as a hostile file may hold it: control characters (C0, DEL, C1), rich markup,
quotes, a bidirectional override, and anything else but lone surrogates."""


def yaml_quoted(text: str) -> str:
    """``text`` as a double-quoted YAML string, every character not plainly printable as an
    escape (YAML's escapes are how a file writes a control character)."""
    out = []
    for char in text:
        code = ord(char)
        if char.isprintable() and char not in '"\\':
            out.append(char)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


path_parts = (
    st.binary(min_size=1, max_size=12)
    .filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))
    .map(os.fsdecode)
)
"""A folder or file name as a file system takes it: any bytes but ``/`` and NUL, so not
always UTF-8 (such bytes come back as lone surrogates, as Python reads ``argv``)."""

"""The program a scenario describes: runtimes, ops, threads, micro-steps and schedules.

These are plain values (frozen, slotted dataclasses, enums and tuples). They are built by
the loader (``refsim.loader``) or by hand, and read by every other layer. Parsing lives in
named constructors such as :meth:`Schedule.parse`; ``__init__`` only stores its fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum

__all__ = [
    "BLOCKING_OPS",
    "AnomalyKind",
    "MicroKind",
    "Op",
    "OpKind",
    "Runtime",
    "Scenario",
    "Schedule",
    "ScheduleSyntaxError",
    "ThreadSpec",
    "Timing",
    "count_text",
    "digits",
    "format_duration",
    "format_ns",
]


class Runtime(Enum):
    """How the interpreter runs threads; MODEL.md "Runtimes" defines each."""

    UNSAFE = "unsafe"
    """Free-threaded with non-atomic refcounts: what removing the GIL naively gives."""
    GIL = "gil"
    """One global interpreter lock: a bytecode, once started, runs to its end."""
    ATOMIC = "atomic"
    """No GIL, but refcount updates are atomic read-modify-writes."""
    FREE_THREADED = "free-threaded"
    """CPython's free-threaded build (PEP 703): no GIL, biased reference counting, immortal
    and deferred objects."""
    PYPY = "pypy"
    """A GIL, and a tracing garbage collector instead of reference counts."""
    JYTHON = "jython"
    """No GIL, and a tracing garbage collector (IronPython behaves the same)."""

    def __str__(self) -> str:
        return self.value


class AnomalyKind(Enum):
    """The six things that can go wrong. Their order here is their sorted (alphabetical) order."""

    DEADLOCK = "deadlock"
    DOUBLE_FREE = "double-free"
    LEAK = "leak"
    LOST_UPDATE = "lost-update"
    PREMATURE_FREE = "premature-free"
    USE_AFTER_FREE = "use-after-free"

    def __str__(self) -> str:
        return self.value


class OpKind(Enum):
    """What a line of a thread's program does.

    One verb can name two kinds of primitive (``acquire S`` of a semaphore, ``wait C`` on
    a condition): the parser reads the verb's first kind and the loader, which knows what
    the name was declared as, picks the kind that fits (:meth:`for_subject`). So a
    ``Scenario`` always holds the precise kind, and the machine never has to look a name up
    to know what an op does.
    """

    INCREF = "incref"
    DECREF = "decref"
    USE = "use"
    ADD = "+="
    SUB = "-="
    COMPUTE = "compute"
    IO = "io"
    ACQUIRE = "acquire"
    RELEASE = "release"
    SEMAPHORE_ACQUIRE = "acquire semaphore"
    SEMAPHORE_RELEASE = "release semaphore"
    SET = "set"
    CLEAR = "clear"
    WAIT = "wait"
    """``wait E``: wait until event E is set."""
    PUT = "put"
    GET = "get"
    JOIN = "join"
    CONDITION_WAIT = "wait condition"
    """``wait C``: release C's lock, wait to be notified, take the lock back."""
    NOTIFY = "notify"
    NOTIFY_ALL = "notify_all"

    @property
    def verb(self) -> str:
        """The word the op is written with (``acquire`` for a semaphore too)."""
        return _VERBS.get(self, self.value)

    @property
    def subject_kind(self) -> str | None:
        """What the op names: ``"object"``, ``"variable"``, ``"lock"``, ``"semaphore"``,
        ``"event"``, ``"queue"``, ``"condition"`` or ``"thread"``; ``None`` for
        ``compute`` and ``io``."""
        return _SUBJECT_KINDS.get(self)

    def for_subject(self, kind: str) -> OpKind | None:
        """The op kind written with this verb that takes a ``kind`` (``ACQUIRE`` with a
        ``"semaphore"`` is ``SEMAPHORE_ACQUIRE``), or ``None`` if the verb takes none."""
        for candidate in _BY_VERB[self.verb]:
            if candidate.subject_kind == kind:
                return candidate
        return None

    @property
    def subject_kinds(self) -> tuple[str, ...]:
        """Every kind of name this op's verb can take (``acquire``: lock or semaphore)."""
        return tuple(k.subject_kind for k in _BY_VERB[self.verb] if k.subject_kind is not None)


_VERBS = {
    OpKind.SEMAPHORE_ACQUIRE: "acquire",
    OpKind.SEMAPHORE_RELEASE: "release",
    OpKind.CONDITION_WAIT: "wait",
}

_SUBJECT_KINDS = {
    OpKind.INCREF: "object",
    OpKind.DECREF: "object",
    OpKind.USE: "object",
    OpKind.ADD: "variable",
    OpKind.SUB: "variable",
    OpKind.ACQUIRE: "lock",
    OpKind.RELEASE: "lock",
    OpKind.SEMAPHORE_ACQUIRE: "semaphore",
    OpKind.SEMAPHORE_RELEASE: "semaphore",
    OpKind.SET: "event",
    OpKind.CLEAR: "event",
    OpKind.WAIT: "event",
    OpKind.PUT: "queue",
    OpKind.GET: "queue",
    OpKind.JOIN: "thread",
    OpKind.CONDITION_WAIT: "condition",
    OpKind.NOTIFY: "condition",
    OpKind.NOTIFY_ALL: "condition",
}

_BY_VERB: dict[str, tuple[OpKind, ...]] = {}
for _kind in OpKind:
    _BY_VERB[_kind.verb] = (*_BY_VERB.get(_kind.verb, ()), _kind)

BLOCKING_OPS = frozenset(
    {
        OpKind.ACQUIRE,
        OpKind.SEMAPHORE_ACQUIRE,
        OpKind.WAIT,
        OpKind.PUT,
        OpKind.GET,
        OpKind.JOIN,
        OpKind.CONDITION_WAIT,
    }
)
"""Ops that may find their thread unable to go on (MODEL.md, "Threads that wait")."""


class MicroKind(Enum):
    """The unit of atomicity: nothing interleaves inside one micro-step."""

    LOAD = "LOAD"
    ADD = "ADD"
    SUB = "SUB"
    STORE = "STORE"
    DEALLOC = "DEALLOC"
    RMW = "RMW"
    READ = "READ"
    LOAD_GLOBAL = "LOAD_GLOBAL"
    BINARY_OP = "BINARY_OP"
    STORE_GLOBAL = "STORE_GLOBAL"
    COMPUTE = "COMPUTE"
    IO = "IO"
    ACQUIRE = "ACQUIRE"
    RELEASE = "RELEASE"
    SET = "SET"
    CLEAR = "CLEAR"
    WAIT = "WAIT"
    PUT = "PUT"
    GET = "GET"
    JOIN = "JOIN"
    CWAIT = "CWAIT"
    """The first bytecode of ``wait C``: release C's lock and join C's waiters."""
    REACQUIRE = "REACQUIRE"
    """The second bytecode of ``wait C``: once notified, take C's lock back."""
    NOTIFY = "NOTIFY"
    NOTIFY_ALL = "NOTIFY_ALL"
    LOAD_LOCAL = "LOAD_LOCAL"
    """Free-threaded: the owner loads the object's local count (``ob_ref_local``)."""
    STORE_LOCAL = "STORE_LOCAL"
    """Free-threaded: the owner stores the local count back (no other thread writes it)."""
    ADD_SHARED = "ADD_SHARED"
    """Free-threaded: an atomic add of 1 to the shared count (``ob_ref_shared``)."""
    DECREF_SHARED = "DECREF_SHARED"
    """Free-threaded: ``_Py_DecRefShared``'s compare-and-swap: subtract 1 from the shared
    count, or, finding it at 0 (not queued, not merged), mark the object queued."""
    QUEUE = "QUEUE"
    """Free-threaded: ``_Py_brc_queue_object``: hand the object to its owner to merge."""
    MERGE = "MERGE"
    """Free-threaded: merge the local and shared counts into the shared one; the object
    loses its owner (``_Py_MergeZeroLocalRefcount``, ``_Py_ExplicitMergeRefcount``)."""
    IMMORTAL = "IMMORTAL"
    """Free-threaded: the load of the local count that finds an immortal object; nothing
    is written."""
    DEFERRED = "DEFERRED"
    """Free-threaded: a stack reference to a deferred object: no count is written."""
    TAKE = "TAKE"
    """Tracing collectors: a pointer is copied (a reference taken); no count exists."""
    DROP = "DROP"
    """Tracing collectors: a pointer is dropped; the collector frees what is unreachable."""

    def __str__(self) -> str:
        return self.value


_UNITS = (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000), ("ns", 1))


def format_duration(ns: int) -> str:
    """``5000000`` -> ``"5ms"``: the largest unit that divides the duration exactly."""
    for unit, size in _UNITS:
        if ns and ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def format_ns(ns: int) -> str:
    """A duration for people: ``0``, ``850ns``, ``12.3µs``, ``5.01ms``, ``1.23s``."""
    if ns == 0:
        return "0"
    for size, unit in ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")):
        if ns >= size:
            value = ns / size
            digits = 0 if value >= 100 else 1 if value >= 10 else 2
            text = f"{value:.{digits}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return text + unit
    return f"{ns}ns"


PROSE_DIGITS = 40
"""Counts longer than this are written ``5.72 × 10^79`` in sentences (``--json`` has them
exact)."""


def digits(n: int) -> int:
    """How many decimal digits ``n`` has, without ``str(n)`` (which Python refuses past
    4,300 digits, and 1,600 threads have 1,600! interleavings)."""
    n = abs(n)
    d = max(1, int((n.bit_length() - 1) * 0.30102999566398120) + 1)
    while n >= 10**d:
        d += 1
    while d > 1 and n < 10 ** (d - 1):
        d -= 1
    return d


def count_text(n: int, most: int = PROSE_DIGITS) -> str:
    """``1,234`` exactly, or ``5.72 × 10^79`` once it has more than ``most`` digits."""
    d = digits(n)
    if d <= most:
        return f"{n:,}"
    return f"{n / 10 ** (d - 1):.2f} × 10^{d - 1}"


@dataclass(frozen=True, slots=True)
class Op:
    """One line of a thread's program, e.g. ``decref obj`` or ``counter += 1``.

    ``subject`` names the object, variable or lock the op touches (``None`` for
    ``compute`` and ``io``); ``amount`` is the ``n`` of ``V += n`` and ``compute n``, or the
    duration of ``io`` in nanoseconds.
    """

    kind: OpKind
    subject: str | None = None
    amount: int = 0

    def __str__(self) -> str:
        kind = self.kind
        if kind in (OpKind.ADD, OpKind.SUB):
            return f"{self.subject} {kind.value} {self.amount}"
        if kind is OpKind.COMPUTE:
            return f"compute {self.amount}"
        if kind is OpKind.IO:
            return f"io {format_duration(self.amount)}"
        return f"{kind.verb} {self.subject}"


@dataclass(frozen=True, slots=True)
class ThreadSpec:
    """A thread: its name and the ops it runs, in order (``repeat`` blocks already expanded)."""

    name: str
    ops: tuple[Op, ...]


@dataclass(frozen=True, slots=True)
class Timing:
    """The ``timing:`` section, as written; the timed engine supplies defaults for what is absent.

    Durations are in nanoseconds; ``costs`` maps micro-step kinds to durations.
    """

    cores: int | None = None
    costs: tuple[tuple[MicroKind, int], ...] = ()
    jitter: float = 0.0
    switch_interval: int | None = None

    def cost(self, kind: MicroKind) -> int | None:
        """The cost the file gives for ``kind``, or ``None``."""
        for k, ns in self.costs:
            if k is kind:
                return ns
        return None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole scenario file: the program, the runtime to run it under and its claims.

    Mappings are tuples of ``(name, value)`` pairs in the order the file gives them, so a
    scenario is hashable and iteration order never depends on hashing.
    """

    name: str
    threads: tuple[ThreadSpec, ...]
    objects: tuple[tuple[str, int], ...] = ()
    variables: tuple[tuple[str, int], ...] = ()
    locks: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    """``threading.Event``s, clear at the start."""
    semaphores: tuple[tuple[str, int], ...] = ()
    """``threading.Semaphore``s and their initial counts."""
    queues: tuple[tuple[str, int], ...] = ()
    """``queue.Queue``s and their ``maxsize``; empty at the start."""
    conditions: tuple[tuple[str, str], ...] = ()
    """``threading.Condition``s and the lock each is over."""
    owners: tuple[tuple[str, str], ...] = ()
    """Objects that name the thread that created them (``owner: T1``): free-threaded
    CPython's biased counting gives that thread the object's local count."""
    immortal: tuple[str, ...] = ()
    """Immortal objects (PEP 683: ``None``, small ints): under ``free-threaded`` their
    count is never written and they are never freed."""
    deferred: tuple[str, ...] = ()
    """Objects with deferred reference counting (functions, code objects, modules): under
    ``free-threaded`` stack references write no count; the collector frees them."""
    runtime: Runtime = Runtime.UNSAFE
    description: str = ""
    timing: Timing | None = None
    expect: tuple[tuple[Runtime, tuple[AnomalyKind, ...]], ...] = ()
    processes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Threads grouped into processes, as ``(process, thread names)`` pairs; empty: one
    process holding every thread. Only timed mode runs processes apart."""
    source: str | None = field(default=None, compare=False)
    """The path the scenario was loaded from, for messages and replay commands."""
    part_of: str | None = None
    """The process this scenario is, when :meth:`process` took it out of a file with
    several (replay commands then say ``--process``)."""

    @property
    def thread_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.threads)

    def expected(self, runtime: Runtime) -> frozenset[AnomalyKind] | None:
        """The anomaly kinds the file claims for ``runtime``, or ``None`` without a claim."""
        for r, kinds in self.expect:
            if r is runtime:
                return frozenset(kinds)
        return None

    @property
    def waits(self) -> bool:
        """Whether its threads wait for each other beyond locks: it declares an event, a
        semaphore, a queue or a condition, or some thread joins another."""
        declared = self.events or self.semaphores or self.queues or self.conditions
        return bool(declared) or any(
            op.kind is OpKind.JOIN for thread in self.threads for op in thread.ops
        )

    def process_groups(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The processes and their threads; one process named ``main`` by default."""
        return self.processes or (("main", self.thread_names),)

    def process(self, name: str) -> Scenario:
        """Process ``name`` alone: its threads, with copies of every object, variable and
        lock of their own (processes share no memory). Controlled runs, exploration and
        checks take a scenario one process at a time. Raises ``KeyError`` for an unknown
        process."""
        groups = dict(self.process_groups())
        return self._part(name, groups[name], {t.name: t for t in self.threads}, len(groups) > 1)

    def _part(
        self, name: str, names: tuple[str, ...], specs: dict[str, ThreadSpec], split: bool
    ) -> Scenario:
        threads = tuple(specs[n] for n in names)
        # The copy of an object owned by a thread of another process has no owner here.
        mine = set(names)
        owners = tuple((o, t) for o, t in self.owners if t in mine)
        part_of = name if split else None
        return replace(self, threads=threads, processes=(), part_of=part_of, owners=owners)

    def per_process(self) -> tuple[Scenario, ...]:
        """:meth:`process` for every process, in file order (in time linear in the threads:
        a file may put each of 10,000 threads in a process of its own)."""
        groups = self.process_groups()
        specs = {t.name: t for t in self.threads}
        return tuple(self._part(name, names, specs, len(groups) > 1) for name, names in groups)

    def with_runtime(self, runtime: Runtime) -> Scenario:
        """The same scenario run under ``runtime`` (what ``--runtime`` does)."""
        return replace(self, runtime=runtime)


class ScheduleSyntaxError(ValueError):
    """A schedule's text could not be read; ``column`` (1-based) points at the problem."""

    def __init__(self, text: str, column: int, message: str) -> None:
        super().__init__(f"column {column}: {message}")
        self.text = text
        self.column = column
        self.message = message


_RUN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\s*(\*)\s*([0-9]*))?")
_SEP = re.compile(r"[\s,]*")


@dataclass(frozen=True, slots=True)
class Schedule:
    """The threads picked, one per micro-step, stored as runs: ``T1*3 T2*4 T1``.

    Adjacent runs of the same thread are always merged, so two schedules are equal exactly
    when they pick the same threads in the same order.
    """

    runs: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        for i, (name, count) in enumerate(self.runs):
            if count < 1:
                raise ValueError(f"run {name}*{count}: a count must be at least 1")
            if i and self.runs[i - 1][0] == name:
                raise ValueError(f"runs {i} and {i + 1} are both {name}: use Schedule.from_runs")

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Read ``"T1*3 T2 T1*2"`` (runs separated by spaces or commas)."""
        runs: list[tuple[str, int]] = []
        pos = _SEP.match(text, 0).end()  # type: ignore[union-attr]
        while pos < len(text):
            m = _RUN.match(text, pos)
            if m is None:
                raise ScheduleSyntaxError(
                    text,
                    pos + 1,
                    f"expected a thread name (optionally `NAME*COUNT`), found {text[pos:]!r}",
                )
            if m.group(2) is not None and not m.group(3):
                rest = text[m.end() :]
                found = repr(rest) if rest else "the end of the schedule"
                raise ScheduleSyntaxError(
                    text, m.end() + 1, f"expected a count after `*`, found {found}"
                )
            end = m.end()
            if end < len(text) and not (text[end].isspace() or text[end] == ","):
                raise ScheduleSyntaxError(
                    text, end + 1, f"expected a space between runs, found {text[end]!r}"
                )
            count = 1 if m.group(3) is None else int(m.group(3))
            if count < 1:
                raise ScheduleSyntaxError(
                    text, m.start(3) + 1, f"a run count must be at least 1, not {count}"
                )
            runs.append((m.group(1), count))
            pos = _SEP.match(text, end).end()  # type: ignore[union-attr]
        return cls.from_runs(runs)

    @classmethod
    def from_runs(cls, runs: Iterable[tuple[str, int]]) -> Schedule:
        merged: list[tuple[str, int]] = []
        for name, count in runs:
            if merged and merged[-1][0] == name:
                merged[-1] = (name, merged[-1][1] + count)
            else:
                merged.append((name, count))
        return cls(tuple(merged))

    @classmethod
    def from_steps(cls, threads: Iterable[str]) -> Schedule:
        """One thread name per micro-step."""
        return cls.from_runs((name, 1) for name in threads)

    def __iter__(self) -> Iterator[str]:
        for name, count in self.runs:
            for _ in range(count):
                yield name

    def __len__(self) -> int:
        return self.steps

    @property
    def steps(self) -> int:
        """How many micro-steps it picks (``len()`` too, up to ``sys.maxsize``)."""
        return sum(count for _, count in self.runs)

    def __str__(self) -> str:
        return " ".join(name if count == 1 else f"{name}*{count}" for name, count in self.runs)

    @property
    def switches(self) -> int:
        """How many times the schedule changes thread (preemptions are a subset of these)."""
        return max(len(self.runs) - 1, 0)

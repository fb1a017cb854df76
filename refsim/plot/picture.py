"""What a run's figure shows, as plain values: :func:`describe_run` turns a
:class:`~refsim.trace.RunResult` into a :class:`RunPicture` (boxes and their labels, race
windows, preemptions, who holds the GIL and each lock, each word's values over the run,
the anomalies). Standard library only: the Chrome trace export is built from it too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from refsim.machine import Machine
from refsim.model import AnomalyKind, Runtime, Scenario
from refsim.replay import waits
from refsim.trace import RunResult, TraceEvent

__all__ = [
    "Blocked",
    "Holding",
    "Mark",
    "RunPicture",
    "Series",
    "Step",
    "Window",
    "describe_run",
    "natural_order",
    "short_label",
    "step_label",
    "waiting_at_end",
]


@dataclass(frozen=True, slots=True)
class Step:
    """One micro-step's box: where it goes and what it says."""

    step: int
    thread: str
    micro: str
    label: str
    """``LOAD 2``, ``SUB → 1``, ``STORE 1``, ``DEALLOC``... (:func:`step_label`)."""
    bytecode_start: bool


@dataclass(frozen=True, slots=True)
class Window:
    """A race window: one thread's LOAD of a word until its STORE (inclusive steps)."""

    thread: str
    subject: str
    start: int
    end: int
    overlaps: bool
    """True when another thread's window on the same word overlaps this one: a race."""


@dataclass(frozen=True, slots=True)
class Holding:
    """A stretch of steps (inclusive) during which ``holder`` holds the GIL or a lock."""

    lane: str
    """``GIL`` or ``lock NAME``."""
    holder: str
    start: int
    end: int
    to_end: bool = False
    """Never released: still held when every thread had finished or blocked for good (a
    lock left held, a deadlock), so the figure draws it through the ``end`` column."""


@dataclass(frozen=True, slots=True)
class Blocked:
    """A stretch of steps (inclusive) in which a thread could not run the next micro-step:
    it was blocked. Step ``steps + 1`` is the ``end`` column, after the last step."""

    thread: str
    on: str | None
    """What it waits for (``lock L``), when the run says; ``None`` when it does not."""
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Series:
    """A word over the run: ``(step, value)`` change points, the first at step 0."""

    name: str
    is_object: bool
    values: tuple[tuple[int, int], ...]
    true_refs: tuple[tuple[int, int], ...]
    """Objects only (empty for variables)."""
    freed_at: int | None
    """The step of the DEALLOC that freed the object, if any."""
    intended: tuple[tuple[int, int], ...] = ()
    """Variables only (empty for objects): the value if every update had been applied,
    what :attr:`true_refs` is for an object; where it parts from :attr:`values`, an
    update was lost."""
    local: tuple[tuple[int, int], ...] = ()
    """Free-threaded objects (empty otherwise): the owner's local count over the run;
    :attr:`values` is then local + shared."""
    shared: tuple[tuple[int, int], ...] = ()
    """Free-threaded objects: the shared count over the run."""


@dataclass(frozen=True, slots=True)
class Mark:
    """An anomaly to mark: at its step (``None``: judged at the end) in its subject's panel."""

    kind: AnomalyKind
    subject: str | None
    step: int | None
    threads: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class RunPicture:
    """Everything a run's figure shows, computed from the run result alone."""

    scenario: str
    runtime: Runtime
    schedule: str
    steps: int
    finished: bool
    threads: tuple[str, ...]
    boxes: tuple[Step, ...]
    windows: tuple[Window, ...]
    preemptions: tuple[tuple[int, str, str], ...]
    """(step, the thread preempted, the thread that ran instead)."""
    holder_lanes: tuple[str, ...]
    holdings: tuple[Holding, ...]
    series: tuple[Series, ...]
    marks: tuple[Mark, ...]
    blocked: tuple[Blocked, ...] = ()
    """The stretches in which a thread was blocked, by thread then step."""


_READS = ("LOAD", "LOAD_GLOBAL")
_WRITES = ("STORE", "STORE_GLOBAL")


def step_label(event: TraceEvent) -> str:
    """What a micro-step did, in a few characters: ``LOAD 2``, ``SUB → 1``, ``STORE 1``."""
    micro, reg = event.micro, event.register
    if micro in ("ADD", "SUB", "BINARY_OP", "RMW"):
        return f"{micro} → {reg}"
    if micro in _READS or micro in _WRITES:
        return f"{micro} {reg}"
    if micro in _NAMED and event.subject is not None:
        return f"{micro} {event.subject}"
    return micro


_NAMED = frozenset(
    ("ACQUIRE", "RELEASE", "SET", "CLEAR", "WAIT", "PUT", "GET", "JOIN", "CWAIT", "REACQUIRE",
     "NOTIFY", "NOTIFY_ALL")
)  # fmt: skip
"""Micro-steps of the synchronisation primitives: the box names the primitive."""


_SHORT = {
    AnomalyKind.LOST_UPDATE: "lost update",
    AnomalyKind.USE_AFTER_FREE: "use after free",
    AnomalyKind.DOUBLE_FREE: "double free",
    AnomalyKind.PREMATURE_FREE: "premature free",
    AnomalyKind.LEAK: "leak",
    AnomalyKind.DEADLOCK: "deadlock",
}


def short_label(kind: AnomalyKind) -> str:
    """The label of an anomaly's marker: ``lost update``."""
    return _SHORT[kind]


def natural_order(names: Sequence[str]) -> tuple[str, ...]:
    """Thread names in the order a reader expects: ``T2`` before ``T10``."""

    def key(name: str) -> list[tuple[int, int | str]]:
        return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", name) if p]

    return tuple(sorted(set(names), key=key))


def describe_run(
    result: RunResult,
    *,
    threads: Sequence[str] | None = None,
    scenario: Scenario | None = None,
) -> RunPicture:
    """What the figure of ``result`` shows. ``threads`` gives the lanes' order (the
    scenario's ``thread_names``; by default the threads that appear, in natural order).
    With the ``scenario`` the run ran, the blocked stretches are exact and say what each
    thread waited for (the schedule is replayed: :func:`refsim.replay.waits`); without
    it, they are read from the trace, for locks only.

    Raises ``ValueError`` for a run without a trace, or one whose driver did not record
    where its preemptions happened.
    """
    if result.trace is None:
        raise ValueError("the run kept no trace (keep_trace=False): there is nothing to draw")
    if threads is None and scenario is not None:
        threads = scenario.thread_names
    trace = result.trace
    if len(result.preempted) != result.preemptions:
        raise ValueError(
            f"the run does not record where its {result.preemptions} preemptions happened "
            "(RunResult.preempted); run it with refsim.engine.run"
        )
    seen = [e.thread for e in trace] + [t for a in result.anomalies for t in a.threads]
    lanes = tuple(threads) if threads is not None else natural_order(seen)
    missing = sorted(set(seen) - set(lanes))
    if missing:
        raise ValueError(f"threads {missing} ran but are not in threads={list(lanes)}")
    boxes = tuple(Step(e.step, e.thread, e.micro, step_label(e), e.bytecode_start) for e in trace)
    preemptions = tuple((s, trace[s - 2].thread, trace[s - 1].thread) for s in result.preempted)
    holder_lanes, holdings = _holdings(result, trace)
    if scenario is not None:
        end = len(trace) + 1
        blocked = [
            Blocked(w.thread, w.on, w.start, end if w.end is None else min(w.end, end))
            for w in waits(scenario, result)
        ]
    else:
        blocked = _lock_waits(trace, holdings) + _blocked_at_end(result, len(trace))
    return RunPicture(
        scenario=result.scenario,
        runtime=result.runtime,
        schedule=str(result.schedule),
        steps=len(trace),
        finished=result.finished,
        threads=lanes,
        boxes=boxes,
        windows=_windows(trace),
        preemptions=preemptions,
        holder_lanes=holder_lanes,
        holdings=holdings,
        series=_split(_series(result, trace, _start(result, scenario)), result, trace, scenario),
        marks=tuple(
            Mark(a.kind, a.subject, a.step, a.threads, a.message) for a in result.anomalies
        ),
        blocked=tuple(sorted(blocked, key=lambda b: (lanes.index(b.thread), b.start))),
    )


def _windows(trace: Sequence[TraceEvent]) -> tuple[Window, ...]:
    """Each thread's LOAD ... STORE of one word; a window still open at the end runs to it."""
    open_: dict[str, tuple[str, int]] = {}
    spans: list[tuple[str, str, int, int]] = []
    for e in trace:
        if e.micro in _READS and e.subject is not None:
            open_[e.thread] = (e.subject, e.step)
        elif e.micro in _WRITES and e.thread in open_:
            subject, start = open_.pop(e.thread)
            spans.append((e.thread, subject, start, e.step))
    end = len(trace)
    spans += [(t, subject, start, end) for t, (subject, start) in open_.items()]
    spans.sort(key=lambda s: (s[2], s[3], s[0]))
    windows = []
    for thread, subject, start, stop in spans:
        overlaps = any(
            t != thread and w == subject and s <= stop and start <= e for t, w, s, e in spans
        )
        windows.append(Window(thread, subject, start, stop, overlaps))
    return tuple(windows)


def _holdings(
    result: RunResult, trace: Sequence[TraceEvent]
) -> tuple[tuple[str, ...], tuple[Holding, ...]]:
    """Who holds the GIL (under ``gil``: in controlled mode, the thread that runs) and each
    user lock (from its ACQUIRE to its RELEASE)."""
    lanes: list[str] = []
    holdings: list[Holding] = []
    if result.runtime is Runtime.GIL:
        lanes.append("GIL")
        step = 1
        for thread, count in result.schedule.runs:
            end = min(step + count - 1, len(trace))
            if step <= end:
                holdings.append(Holding("GIL", thread, step, end))
            step += count
    held: dict[str, tuple[str, int]] = {}
    locks: list[str] = []
    for e in trace:
        if e.micro == "ACQUIRE" and e.subject is not None:
            if e.subject not in locks:
                locks.append(e.subject)
            held[e.subject] = (e.thread, e.step)
        elif e.micro == "RELEASE" and e.subject in held:
            thread, start = held.pop(e.subject)
            holdings.append(Holding(f"lock {e.subject}", thread, start, e.step))
    for lock, (thread, start) in held.items():
        # Still held when the run ended: for good, unless a step budget cut the run.
        holdings.append(Holding(f"lock {lock}", thread, start, len(trace), result.finished))
    lanes += [f"lock {lock}" for lock in sorted(locks)]
    return tuple(lanes), tuple(sorted(holdings, key=lambda h: (h.lane, h.start)))


def _split(
    series: tuple[Series, ...],
    result: RunResult,
    trace: Sequence[TraceEvent],
    scenario: Scenario | None,
) -> tuple[Series, ...]:
    """``series`` with each free-threaded object's local and shared counts, from the
    trace (the counts before the first step come from the scenario's initial state)."""
    if scenario is None or not any(e.counts for e in trace):
        return series
    machine = Machine(scenario, result.runtime)
    start = machine.initial()
    found = []
    for s in series:
        if not s.is_object:
            found.append(s)
            continue
        w = machine.object_names.index(s.name)
        local, shared = [(0, start.values[w])], [(0, start.brc[0][w])]
        for e in trace:
            if e.subject == s.name and e.counts is not None:
                for points, now in ((local, e.counts[0]), (shared, e.counts[1])):
                    if points[-1][1] != now:
                        points.append((e.step, now))
        found.append(replace(s, local=tuple(local), shared=tuple(shared)))
    return tuple(found)


def _start(
    result: RunResult, scenario: Scenario | None
) -> dict[str, tuple[int | None, int | None]] | None:
    """Each object's and variable's count (or value) and true refs before the first
    step, from the scenario's initial state; ``None`` without the scenario. A tracing
    collector's object has no count (``None``)."""
    if scenario is None:
        return None
    machine = Machine(scenario, result.runtime)
    state = machine.initial()
    start: dict[str, tuple[int | None, int | None]] = {}
    for w, name in enumerate(machine.object_names):
        count = None if machine.counting == "tracing" else machine.count(state, w)
        start[name] = (count, state.true_refs[w])
    for i, name in enumerate(machine.variable_names):
        start[name] = (state.values[machine.n_objects + i], None)
    return start


_FIRST_TOUCH = frozenset({"RMW", "ADD_SHARED", "TAKE", "DROP", "IMMORTAL", "DEFERRED"})
"""Micro-steps that change the true refs in the step that first touches an object (the
refcount too, for RMW and ADD_SHARED); without the scenario, their delta is undone to
find the count before it."""


def _series(
    result: RunResult,
    trace: Sequence[TraceEvent],
    start: dict[str, tuple[int | None, int | None]] | None = None,
) -> tuple[Series, ...]:
    objects = [name for name, _ in result.true_refs]
    final = dict(result.final)
    final_true = dict(result.true_refs)
    names = objects + [name for name, _ in result.final if name not in final_true]
    values: dict[str, list[tuple[int, int]]] = {n: [] for n in names}
    trues: dict[str, list[tuple[int, int]]] = {n: [] for n in objects}
    freed: dict[str, int] = {}
    intended: dict[str, list[tuple[int, int]]] = {n: [] for n in names if n not in final_true}
    loaded: dict[str, int] = {}
    counted = not (start and any(v is None for n, (v, _) in start.items() if n in trues))
    if start is not None:
        for name in names:
            value, refs = start[name]
            if value is not None:
                values[name].append((0, value))
            if refs is not None and name in trues:
                trues[name].append((0, refs))
    touched: set[str] = set(start or ())
    for e in trace:
        subject = e.subject
        if subject is None or subject not in values:
            continue
        name = subject
        if not counted and name in trues:
            e = e._replace(value=None)  # a tracing collector's object has no count
        if e.micro == "LOAD_GLOBAL" and e.register is not None:
            loaded[e.thread] = e.register
        if name not in touched:
            # The word before the first micro-step that touched it: only RMW (and its
            # kin) change it in the same micro-step that first touches it (a STORE
            # follows a LOAD).
            touched.add(name)
            sign = 1 if e.op.startswith("incref") else -1
            delta = sign if e.micro in _FIRST_TOUCH else 0
            shift = delta if e.micro in ("RMW", "ADD_SHARED") else 0
            if e.value is not None:
                values[name].append((0, e.value - shift))
            if e.true_refs is not None and name in trues:
                trues[name].append((0, e.true_refs - delta))
        if e.value is not None and values[name] and values[name][-1][1] != e.value:
            values[name].append((e.step, e.value))
        if e.true_refs is not None and name in trues and trues[name][-1][1] != e.true_refs:
            trues[name].append((e.step, e.true_refs))
        if e.micro == "DEALLOC" and name not in freed:
            freed[name] = e.step
        if e.micro == "STORE_GLOBAL" and name in intended and e.register is not None:
            # The update this store applies, as the thread meant it: what it stores less
            # what it loaded (``n`` of ``V += n``), on top of every update applied so far.
            now = intended[name][-1][1] if intended[name] else values[name][0][1]
            intended[name].append((e.step, now + e.register - loaded[e.thread]))
    series = []
    for name in names:
        if not counted and name in trues:
            pass  # a tracing collector's object: no count to draw
        elif not values[name]:  # never touched: constant
            end = final[name]
            values[name].append((0, end if isinstance(end, int) else 0))
            if name in trues:
                trues[name].append((0, final_true[name]))
        if name in intended:
            intended[name] = _changes([(0, values[name][0][1]), *intended[name]])
        series.append(
            Series(
                name,
                name in final_true,
                tuple(values[name]),
                tuple(trues.get(name, ())),
                freed.get(name),
                tuple(intended.get(name, ())),
            )
        )
    return tuple(series)


def _changes(points: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``points`` without those that repeat the value before them."""
    kept = [points[0]]
    for step, value in points[1:]:
        if value != kept[-1][1]:
            kept.append((step, value))
    return kept


def _lock_waits(trace: Sequence[TraceEvent], holdings: Sequence[Holding]) -> list[Blocked]:
    """Each stretch in which a thread's next micro-step was the ACQUIRE of a lock another
    thread held: exactly the steps in which it was blocked on that lock. For a run whose
    scenario is not at hand (with it, :func:`refsim.replay.waits` says more).

    A thread's next micro-step after its step ``p`` is its next event in the trace, so a
    thread whose next event (at step ``s``) is ``ACQUIRE L`` was blocked at each step
    between ``p`` and ``s`` at whose start another thread held L (from the step after
    that thread's ACQUIRE to its RELEASE, inclusive). It takes every ACQUIRE for a
    lock's: a semaphore's shows no holder lane, so it finds nothing for one."""
    spans: dict[str, list[tuple[str, int, int]]] = {}
    for h in holdings:
        if h.lane.startswith("lock "):
            last = h.end + 1 if h.to_end else h.end  # to_end: the end column too
            spans.setdefault(h.lane, []).append((h.holder, h.start + 1, last))
    found: list[Blocked] = []
    previous: dict[str, int] = {}
    for e in trace:
        after = previous.get(e.thread, 0)
        previous[e.thread] = e.step
        if e.micro != "ACQUIRE" or e.subject is None:
            continue
        lane = f"lock {e.subject}"
        for holder, first, last in spans.get(lane, ()):
            start, end = max(first, after + 1), min(last, e.step - 1)
            if holder != e.thread and start <= end:
                found.append(Blocked(e.thread, lane, start, end))
    return found


def waiting_at_end(result: RunResult) -> dict[str, str | None]:
    """Each thread still blocked when the run ended (a deadlock), and what it waits for
    (:attr:`~refsim.trace.RunResult.blocked`; ``None`` for a run that does not say)."""
    waiting: dict[str, str | None] = {}
    for anomaly in result.anomalies:
        if anomaly.kind is AnomalyKind.DEADLOCK:
            waiting.update(dict.fromkeys(anomaly.threads))
    waiting.update(result.blocked)
    return waiting


def _blocked_at_end(result: RunResult, steps: int) -> list[Blocked]:
    """The threads blocked for good, in the ``end`` column (step ``steps + 1``)."""
    end = steps + 1
    return [Blocked(t, on, end, end) for t, on in waiting_at_end(result).items()]

"""A run told in plain sentences, for a reader who has never seen LOAD/ADD/STORE.

Pure functions over a :class:`~refsim.trace.RunResult` and its scenario (no printing, no
rich): :func:`narrate` tells the steps that matter, :func:`consequences` what each
anomaly means in a real CPython process, and :func:`gil_lesson` what the GIL protects and
what it does not. ``refsim FILE`` (refsim/cli/story.py) prints them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from refsim.model import AnomalyKind, Runtime, Scenario
from refsim.replay import waits
from refsim.trace import Anomaly, RunResult, TraceEvent

__all__ = [
    "RUNTIME_WORDS",
    "Sentence",
    "blocked_notes",
    "consequences",
    "gil_lesson",
    "narrate",
    "why_runtime",
]

RUNTIME_WORDS = {
    Runtime.UNSAFE: "no GIL, and each refcount update is three separate steps (LOAD, "
    "ADD or SUB, STORE) that other threads can run between",
    Runtime.GIL: "one global interpreter lock: a bytecode, once started, runs to its end "
    "(a refcount update is one uninterruptible step)",
    Runtime.ATOMIC: "no GIL, but each refcount update is one atomic read-modify-write "
    "(the naive fix PEP 703 rejected as too slow)",
    Runtime.FREE_THREADED: "CPython's free-threaded build (PEP 703): no GIL, biased "
    "reference counting (the owner's updates plain, the others' atomic), immortal and "
    "deferred objects",
    Runtime.PYPY: "PyPy: a GIL, and a tracing garbage collector instead of reference counts",
    Runtime.JYTHON: "Jython (and IronPython): no GIL, and the JVM's tracing garbage collector "
    "instead of reference counts",
}
"""What each runtime means, in one phrase."""

_LOADS = ("LOAD", "LOAD_GLOBAL")
_STORES = ("STORE", "STORE_GLOBAL")

_MEANING = {
    AnomalyKind.PREMATURE_FREE: "a premature free: the object's memory goes back to the "
    "allocator while a thread still points to it; whatever that thread does with it next is "
    "a segfault, or silent corruption found much later",
    AnomalyKind.USE_AFTER_FREE: "a use-after-free: a thread reads memory that may already "
    "hold another object: a segfault, or a wrong result with no error at all",
    AnomalyKind.DOUBLE_FREE: "a double free: the allocator gets the same block back twice "
    "and may hand it to two objects at once: heap corruption, usually a crash far from the "
    "bug",
    AnomalyKind.LEAK: "a leak: the object's memory is never returned; a server that leaks "
    "like this on every request grows until it runs out of memory",
    AnomalyKind.DEADLOCK: "a deadlock: threads wait forever for something no thread will "
    "ever do (release a lock, put an item, notify, finish): a hung program that uses no CPU "
    "and never finishes",
}
_ORDER = (
    AnomalyKind.LOST_UPDATE,
    AnomalyKind.PREMATURE_FREE,
    AnomalyKind.USE_AFTER_FREE,
    AnomalyKind.DOUBLE_FREE,
    AnomalyKind.LEAK,
    AnomalyKind.DEADLOCK,
)


class Sentence(NamedTuple):
    """One step that matters, told in plain words; ``step`` is ``None`` for the end."""

    step: int | None
    text: str


def narrate(scenario: Scenario, result: RunResult) -> tuple[Sentence, ...]:
    """The steps of ``result`` that matter, one sentence each, then what is wrong at the end.

    ``result`` must keep its trace. A LOAD matters when another thread touches the same
    word before this thread stores back; a STORE when it overwrites another thread's update
    or makes another thread's copy stale; every DEALLOC, lock operation and anomaly does.
    """
    assert result.trace is not None, "narrate needs a run that kept its trace"
    trace = result.trace
    by_step: dict[int, list[Anomaly]] = {}
    for anomaly in result.anomalies:
        if anomaly.step is not None:
            by_step.setdefault(anomaly.step, []).append(anomaly)
    objects = {name for name, _ in scenario.objects}
    pending: dict[str, dict[str, int]] = {}
    """Per word, the threads holding a loaded copy they have not stored back, and its value."""
    waits = _Waits(scenario)
    owners = dict(scenario.owners)
    sentences: list[Sentence] = []
    for index, event in enumerate(trace):
        told = by_step.get(event.step, [])
        text = (
            waits.tell(event)
            or _tell_counts(event, index, trace, owners)
            or _tell(event, index, trace, pending, told, objects)
        )
        if text is not None:
            sentences.append(Sentence(event.step, text))
        handled = _handled(event)
        for anomaly in told:
            if anomaly.kind not in handled:
                sentences.append(Sentence(event.step, _capital(anomaly.message) + "."))
    for anomaly in result.anomalies:
        if anomaly.step is None:
            sentences.append(Sentence(None, f"At the end: {anomaly.message}."))
    if result.runtime in (Runtime.PYPY, Runtime.JYTHON) and result.finished:
        collected = [name for name, value in result.final if value == "freed"]
        if collected:
            what = _names(collected)
            sentences.append(
                Sentence(
                    None,
                    f"At the end: the collector frees {what}: no thread can reach "
                    f"{'it' if len(collected) == 1 else 'them'} any more.",
                )
            )
    return tuple(sentences)


def _handled(event: TraceEvent) -> frozenset[AnomalyKind]:
    """The anomaly kinds the sentence of ``event`` already tells."""
    if event.micro in _STORES:
        return frozenset({AnomalyKind.LOST_UPDATE})
    if event.micro == "DEALLOC":
        return frozenset({AnomalyKind.PREMATURE_FREE, AnomalyKind.DOUBLE_FREE})
    return frozenset()


def _tell(
    event: TraceEvent,
    index: int,
    trace: Sequence[TraceEvent],
    pending: dict[str, dict[str, int]],
    anomalies: Sequence[Anomaly],
    objects: set[str],
) -> str | None:
    """The sentence of one step, or ``None`` when it does not matter; updates ``pending``."""
    me, subject = event.thread, event.subject
    if subject is None:
        return None
    word = f"{subject}'s refcount" if subject in objects else subject
    if event.micro in _LOADS:
        others = sorted(t for t in pending.get(subject, {}) if t != me)
        pending.setdefault(subject, {})[me] = _int(event.register)
        if others:
            return (
                f"{me} loads {word}, {event.register}, too, before {_names(others)} "
                f"stores back: both threads now hold a copy that is about to go stale."
            )
        if _contested(index, trace):
            return (
                f"{me} loads {word}, {event.register}, into its register, to "
                f"{_purpose(event, objects)}."
            )
        return None
    if event.micro in _STORES:
        return _tell_store(event, _previous_store(index, trace), pending, anomalies, word)
    if event.micro == "DEALLOC":
        return _tell_dealloc(event, anomalies)
    if event.micro == "RMW" and not anomalies:
        return f"{me} runs {event.op} in one atomic step: {word} is now {event.value}."
    if event.micro == "ACQUIRE":
        return f"{me} takes lock {subject}."
    if event.micro == "RELEASE":
        return f"{me} releases lock {subject}."
    return None


class _Waits:
    """The sentences of the waiting primitives' steps; follows each condition's waiters
    through the trace, to tell a notify that wakes a thread from one that is lost."""

    def __init__(self, scenario: Scenario) -> None:
        self.semaphores = {name for name, _ in scenario.semaphores}
        self.queues = dict(scenario.queues)
        self.locks = dict(scenario.conditions)
        self.waiting: dict[str, list[str]] = {name: [] for name, _ in scenario.conditions}

    def tell(self, event: TraceEvent) -> str | None:
        me, name, micro, value = event.thread, event.subject, event.micro, event.value
        if name is None:
            return None
        if name in self.semaphores and micro in ("ACQUIRE", "RELEASE"):
            verb = "takes one from" if micro == "ACQUIRE" else "gives one back to"
            return f"{me} {verb} semaphore {name}: its count is now {value}."
        if micro in ("SET", "CLEAR"):
            return f"{me} {micro.lower()}s event {name}."
        if micro == "WAIT":
            return f"{me} finds event {name} set and goes on."
        if micro in ("PUT", "GET"):
            verb = "puts an item into" if micro == "PUT" else "takes an item from"
            size = self.queues.get(name, 0)
            return f"{me} {verb} {name}: it now holds {value} of {size}."
        if micro == "JOIN":
            return f"{name} has finished, so {me}'s join returns."
        return self._condition(me, name, micro)

    def _condition(self, me: str, name: str, micro: str) -> str | None:
        waiting = self.waiting.get(name)
        if waiting is None:
            return None
        lock = self.locks[name]
        if micro == "CWAIT":
            waiting.append(me)
            return f"{me} releases lock {lock} and waits on {name} for a notify."
        if micro == "REACQUIRE":
            return f"{me}, notified, takes lock {lock} back and returns from wait {name}."
        if micro == "NOTIFY" and waiting:
            return f"{me} notifies {name}: {waiting.pop(0)} wakes up."
        if micro == "NOTIFY_ALL" and waiting:
            woken = _names(waiting)
            waiting.clear()
            return f"{me} notifies every waiter on {name}: {woken} wake up."
        if micro in ("NOTIFY", "NOTIFY_ALL"):
            return f"{me} notifies {name}, but no thread is waiting yet: the notify is lost."
        return None


def _tell_counts(
    event: TraceEvent, index: int, trace: Sequence[TraceEvent], owners: Mapping[str, str]
) -> str | None:
    """The sentence of a free-threaded (biased counting) or tracing micro-step, or
    ``None`` for one that needs none (the owner's plain LOAD_LOCAL and STORE_LOCAL, a
    tracing collector's TAKE and DROP: nothing can go wrong in them)."""
    me, name, micro = event.thread, event.subject, event.micro
    counts = event.counts
    if name is None or counts is None:
        return None
    local, shared = counts
    if micro == "ADD_SHARED":
        return (
            f"{me} adds 1 to {name}'s shared count, atomically ({name} is not its own): "
            f"{name} now counts {local} + {shared}."
        )
    if micro == "DECREF_SHARED":
        # The thread's next micro-step tells whether this one queued the object.
        queues = next((e.micro == "QUEUE" for e in trace[index + 1 :] if e.thread == me), False)
        if queues:
            return (
                f"{me} finds {name}'s shared count at 0: instead of subtracting, it marks "
                f"{name} queued (the queue keeps the reference {me} drops)."
            )
        return f"{me} subtracts 1 from {name}'s shared count, atomically: {local} + {shared}."
    if micro == "QUEUE":
        owner = owners.get(name, "its owner")
        return (
            f"{me} hands {name} to {owner} to merge (CPython's _Py_brc_queue_object), or "
            f"merges it itself if {owner} has exited: {name} counts {local} + {shared}."
        )
    if micro == "MERGE":
        queued = event.op.startswith("(merge")
        why = "a decref another thread queued" if queued else "its local count reached 0"
        return (
            f"{me} merges {name}'s two counts ({why}): all of it is shared now, "
            f"{shared}, and {name} has no owner any more."
        )
    if micro == "IMMORTAL":
        return f"{me} reads {name}'s count, sees that {name} is immortal, and writes nothing."
    if micro == "DEFERRED":
        return f"{me}'s reference to {name} is deferred: no count is written."
    return None


def blocked_notes(scenario: Scenario, result: RunResult) -> tuple[Sentence, ...]:
    """For each step after which a thread is newly blocked on a lock or a waiting
    primitive, a sentence saying what it waits for (``C is blocked: it waits for Q to
    hold an item``). A thread blocked from the start gets none: nothing changed."""
    return tuple(
        Sentence(w.start - 1, f"{w.thread} is blocked: it waits for {w.reason}")
        for w in waits(scenario, result)
        if w.start > 1
    )


def _previous_store(index: int, trace: Sequence[TraceEvent]) -> int | None:
    """The value last stored to the word that ``trace[index]`` stores to, if any."""
    subject = trace[index].subject
    for event in reversed(trace[:index]):
        if event.subject == subject and event.micro in _STORES:
            return event.value
    return None


def _tell_store(
    event: TraceEvent,
    previous: int | None,
    pending: dict[str, dict[str, int]],
    anomalies: Sequence[Anomaly],
    word: str,
) -> str | None:
    me, subject = event.thread, event.subject
    assert subject is not None
    copies = pending.setdefault(subject, {})
    copies.pop(me, None)
    lost = [a for a in anomalies if a.kind is AnomalyKind.LOST_UPDATE]
    if lost:
        other = lost[0].threads[-1]
        update = event.op.split()[0] if event.op.split()[0] in ("incref", "decref") else "update"
        return (
            f"{me} stores {event.value} into {word} over {other}'s {previous}: {other}'s "
            f"{update} is lost."
        )
    stale = sorted(copies)
    if stale:
        held = ", ".join(f"{t}'s {copies[t]}" for t in stale)
        return f"{me} stores {event.value} into {word}: {held} is now stale."
    return None


def _tell_dealloc(event: TraceEvent, anomalies: Sequence[Anomaly]) -> str:
    me, subject = event.thread, event.subject
    if event.value == 0:
        sentence, joint = f"{me} sees the refcount at 0 and frees {subject}", ", but"
    else:
        # The decision came from the value this thread's decref produced; the word has
        # moved on since (another thread's update landed between the decref and its free).
        sentence = (
            f"{me} frees {subject} because its decref brought the count to 0 (the refcount "
            f"is {event.value} again by now)"
        )
        joint = ", and"
    twice = [a for a in anomalies if a.kind is AnomalyKind.DOUBLE_FREE]
    if twice:
        by = twice[0].threads[-1]
        return f"{sentence} a second time ({by} already freed it): a double free."
    early = [a for a in anomalies if a.kind is AnomalyKind.PREMATURE_FREE]
    if early:
        refs = event.true_refs
        holders = "a reference still exists" if refs == 1 else f"{refs} references still exist"
        return f"{sentence}{joint} {holders} (true refs {refs}): a premature free."
    return sentence + "."


def _contested(index: int, trace: Sequence[TraceEvent]) -> bool:
    """True when another thread touches the loaded word before this thread stores it back."""
    load = trace[index]
    for event in trace[index + 1 :]:
        if event.subject != load.subject:
            continue
        if event.thread == load.thread and event.micro in _STORES:
            return False
        if event.thread != load.thread and event.micro in _LOADS + _STORES:
            return True
    return False


def _purpose(event: TraceEvent, objects: set[str]) -> str:
    verb = event.op.split()[0]
    if event.subject in objects and verb in ("incref", "decref"):
        return f"{verb} it ({'add' if verb == 'incref' else 'subtract'} 1, then store it back)"
    return "compute the new value and store it back"


def _int(value: int | None) -> int:
    return 0 if value is None else value


def _names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def consequences(scenario: Scenario, result: RunResult) -> tuple[str, ...]:
    """What each anomaly of ``result`` means in a real CPython process, causes first."""
    kinds = result.anomaly_kinds
    lines = []
    for kind in _ORDER:
        if kind not in kinds:
            continue
        if kind is AnomalyKind.LOST_UPDATE:
            lines.append(_lost_update_meaning(scenario, result, kinds))
        else:
            lines.append(_MEANING[kind])
    return tuple(lines)


def _lost_update_meaning(
    scenario: Scenario, result: RunResult, kinds: frozenset[AnomalyKind]
) -> str:
    objects = {name for name, _ in scenario.objects}
    words = {a.subject for a in result.anomalies if a.kind is AnomalyKind.LOST_UPDATE}
    if words and not words & objects:
        return (
            "a lost update: the program computes a wrong count, silently, with no error "
            "and no crash"
        )
    if kinds & {AnomalyKind.LEAK, AnomalyKind.PREMATURE_FREE, AnomalyKind.DOUBLE_FREE}:
        return (
            "a lost refcount update: the object's count no longer matches the references to "
            "it, which is what leads to the rest"
        )
    return (
        "a lost refcount update: the count no longer matches the references, so the "
        "object will be freed too early or never"
    )


def why_runtime(scenario: Scenario, runtime: Runtime, kinds: frozenset[AnomalyKind] | None) -> str:
    """One sentence on why ``scenario`` is, or is not, safe under ``runtime``, from the
    anomaly kinds some interleaving reaches there (``None``: not known)."""
    if kinds is None:
        return "too many interleavings to decide here."
    refcounts = {AnomalyKind.LOST_UPDATE, AnomalyKind.PREMATURE_FREE,
                 AnomalyKind.USE_AFTER_FREE, AnomalyKind.DOUBLE_FREE, AnomalyKind.LEAK}  # fmt: skip
    variables = scenario.variables and AnomalyKind.LOST_UPDATE in kinds
    if AnomalyKind.DEADLOCK in kinds and not kinds - {AnomalyKind.DEADLOCK}:
        return "a deadlock: no runtime orders your threads' locks and waits for you."
    if kinds and variables and not scenario.objects:
        return {
            Runtime.GIL: "`V += n` is three bytecodes, and the GIL may change hands between them.",
            Runtime.PYPY: "`V += n` is three bytecodes, and PyPy's GIL may change hands "
            "between them, as CPython's does.",
        }.get(runtime, "`V += n` is three steps, and with no GIL threads interleave them.")
    if not kinds & refcounts:
        return {
            Runtime.UNSAFE: "safe here: no two threads update one count at once.",
            Runtime.GIL: "safe: each refcount update runs inside one bytecode, which no "
            "other thread can enter.",
            Runtime.ATOMIC: "safe: each refcount update is one atomic read-modify-write "
            "(at several times the cost of a plain one).",
            Runtime.FREE_THREADED: _free_threaded_safe(scenario),
            Runtime.PYPY: "safe: there is no count to race on, and the collector frees only "
            "what nothing refers to, after the threads finish.",
            Runtime.JYTHON: "safe: no count to race on; the collector frees only what "
            "nothing refers to.",
        }[runtime]
    if runtime is Runtime.GIL:
        return (
            "each refcount update is safe, but a thread uses or drops a reference it does "
            "not own (a borrowed one, or one decref too many). In CPython, C code takes a "
            "borrowed reference and increfs it within one bytecode, never releasing the GIL "
            "between the two: the GIL closed that window, which refsim's separate ops leave "
            "open."
        )
    if runtime in (Runtime.ATOMIC, Runtime.FREE_THREADED):
        return (
            "each refcount update is safe, but a thread uses or drops a reference it does "
            "not own (a borrowed one, or one decref too many), and with no GIL nothing stops "
            "another thread from freeing the object in between (why free-threaded CPython "
            "added PyDict_GetItemRef)."
        )
    return (
        "plain LOAD/ADD/STORE counts: interleaved updates are lost, and a lost update "
        "frees an object too early or never."
    )


def _free_threaded_safe(scenario: Scenario) -> str:
    """Why free-threaded is safe for ``scenario``, from what its objects are."""
    if scenario.owners:
        return (
            "safe: an owner's updates touch a count no other thread writes, the others' "
            "are atomic, and a merge settles the two."
        )
    if scenario.objects and len(scenario.immortal) == len(scenario.objects):
        return "safe: an immortal object's count is read, never written."
    return (
        "safe: an object no thread owns is counted on its shared count, every update an "
        "atomic one (as under atomic)."
    )


def gil_lesson(
    scenario: Scenario, reachable: Mapping[Runtime, frozenset[AnomalyKind] | None]
) -> str:
    """One sentence naming what the GIL protects in ``scenario`` and what it does not,
    from the anomaly kinds each runtime can reach (``None``: not known)."""
    unsafe = reachable.get(Runtime.UNSAFE)
    gil = reachable.get(Runtime.GIL)
    atomic = reachable.get(Runtime.ATOMIC)
    if unsafe is None or gil is None or atomic is None:
        return (
            "Too many interleavings to count here: this scenario is about time, not races; "
            "`refsim compare` shows what the GIL costs it."
        )
    tracing = reachable.get(scenario.runtime)
    if scenario.runtime in (Runtime.PYPY, Runtime.JYTHON) and tracing == frozenset() and gil:
        return (
            "Reference counting cannot tell a borrowed pointer from an owned one, and the "
            "GIL only keeps each count update whole; a tracing collector needs no counts: "
            "it frees an object once nothing can reach it, so no interleaving of this "
            "program goes wrong under PyPy or Jython."
        )
    if scenario.variables and AnomalyKind.LOST_UPDATE in gil:
        return (
            "The GIL makes each bytecode atomic, not each statement: `counter += 1` is three "
            "bytecodes (LOAD_GLOBAL, BINARY_OP, STORE_GLOBAL), so a thread can be switched "
            "out between its load and its store and the race survives the GIL; only a lock "
            "around the statement prevents it (counter_locked.yaml)."
        )
    if AnomalyKind.DEADLOCK in gil:
        if scenario.events or scenario.semaphores or scenario.queues or scenario.conditions:
            return (
                "The GIL protects the interpreter's own data, not the order of your threads' "
                "waits: a thread that waits for something no thread will do waits forever, "
                "under every runtime."
            )
        return (
            "The GIL protects the interpreter's own data, not the order your threads take "
            "locks in: the deadlock happens under every runtime."
        )
    if gil and atomic:
        return (
            "Neither the GIL nor atomic refcounts fix a logic error in ownership: each "
            "refcount update is safe, but a thread uses a reference it does not own, and "
            "the object can be freed between the borrow and the incref."
        )
    if unsafe and not gil and not atomic:
        return (
            "Under the GIL each refcount update happens inside one bytecode, and no other "
            "thread runs in the middle of a bytecode, so this race cannot happen; atomic "
            "refcounts prevent it without a global lock (free-threaded CPython, PEP 703, "
            "gets the same safety more cheaply, with biased reference counting)."
        )
    if not unsafe and not gil and not atomic:
        return (
            "No runtime lets this scenario go wrong: its threads share nothing unprotected, "
            "so the GIL has nothing to protect here."
        )
    return (
        "The GIL makes each bytecode atomic; what it cannot prevent is shown in the row "
        "for gil above."
    )

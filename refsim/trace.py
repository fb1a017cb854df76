"""What a run produced: trace events, anomalies, outcomes and the run result.

``TraceEvent`` and ``Anomaly`` are ``NamedTuple``s rather than frozen dataclasses: one is
made per micro-step on the engine's hot path, and a tuple is several times cheaper to
build than a frozen dataclass (0.1 µs against 0.5 µs) while being just as immutable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

from refsim.model import AnomalyKind, Runtime, Schedule

__all__ = [
    "Anomaly",
    "Exploration",
    "FinalValue",
    "Outcome",
    "OutcomeStats",
    "RunResult",
    "ThreadMetrics",
    "TimedMetrics",
    "TraceEvent",
]

FinalValue = int | str
"""An object's final refcount or ``"freed"``, or a variable's final value."""


class TraceEvent(NamedTuple):
    """One executed micro-step, with the values it left behind."""

    step: int
    """Global index of the micro-step, from 1."""
    time: int
    """When it ran: logical ticks (one per micro-step) in controlled mode, ns in timed mode."""
    thread: str
    op: str
    """The op it belongs to, as written (``decref obj``)."""
    micro: str
    """The micro-step kind (``LOAD``)."""
    subject: str | None
    """The object, variable or lock it touched."""
    register: int | None
    """The thread's register after the micro-step (``None`` if it does not use it)."""
    value: int | None
    """The subject's word after the micro-step: a refcount or a variable's value."""
    true_refs: int | None
    """The subject object's true refs after the micro-step (``None`` for non-objects)."""
    op_index: int
    """Index of the op in its thread's program, from 0."""
    bytecode_start: bool
    """True when this micro-step begins a bytecode (the GIL may switch only before these)."""
    counts: tuple[int, int] | None = None
    """Free-threaded runs: the subject object's local and shared counts after the step
    (``value`` is their sum, the refcount); ``None`` otherwise."""


class Anomaly(NamedTuple):
    """A finding: something that went wrong, where, and one sentence saying so.

    A ``NamedTuple`` for the same reason as :class:`TraceEvent`: an ``unsafe`` run can
    record one per micro-step (every access after a free is a use-after-free).
    """

    kind: AnomalyKind
    subject: str | None
    step: int | None
    """The step at which it happened; ``None`` for what is judged at the end (leak, deadlock)."""
    threads: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where an interleaving ends: the anomaly kinds recorded plus the final state.

    ``final`` lists each object (refcount or ``"freed"``) then each variable, in the
    scenario's order. Two interleavings reach the same outcome when these are equal.
    """

    anomalies: tuple[AnomalyKind, ...]
    final: tuple[tuple[str, FinalValue], ...]

    def __str__(self) -> str:
        state = ", ".join(
            f"{name} freed" if value == "freed" else f"{name} = {value}"
            for name, value in self.final
        )
        what = ", ".join(k.value for k in self.anomalies) or "no anomaly"
        return f"{what} · {state}" if state else what


@dataclass(frozen=True, slots=True)
class ThreadMetrics:
    """Where one thread's simulated time went in a timed run (all in ns)."""

    running_ns: int
    """On a core, running micro-steps."""
    gil_wait_ns: int
    """Waiting for its process's GIL (including the hand-off to it)."""
    io_wait_ns: int
    """Blocked in ``io D``, using no core."""
    ready_ns: int
    """Able to run but waiting for a free core."""
    lock_wait_ns: int
    """Blocked on ``acquire L`` while another thread holds L."""
    blocked_ns: int
    """Blocked on the other waiting primitives: ``wait E``, ``acquire S``, ``put Q``,
    ``get Q``, ``join T``, ``wait C``."""
    ops: int
    """Ops it completed."""
    finished_ns: int | None
    """When its last op ended; ``None`` if it never finished (deadlock)."""


@dataclass(frozen=True, slots=True)
class TimedMetrics:
    """What a timed run measured: the figures a GIL load monitor shows."""

    makespan_ns: int
    """From the start until the last thread finished (or blocked for good)."""
    cores: int
    threads: tuple[tuple[str, ThreadMetrics], ...]
    """Per thread, in the scenario's order."""
    switches: int
    """Times a GIL passed from one thread to another (all processes)."""
    drop_requests: int
    """Times a waiter that had waited ``switch_interval`` asked the holder to drop the GIL."""
    counts: tuple[int, ...] = ()
    """Per trace event, how many micro-steps it stands for: a ``compute`` stretch of k
    bytecodes run in one go is one event (its last micro-step) standing for k."""
    durations: tuple[int, ...] = ()
    """Per trace event, how long it took, in ns."""
    spans: tuple[tuple[str, str, int, int], ...] = ()
    """Kept with the trace, for the timed figure: (thread, state, start ns, end ns), each
    thread's in time order, adjacent spans of one state merged. The states are
    ``running``, ``gil_wait``, ``io_wait``, ``ready``, ``lock_wait`` and ``blocked``, the
    accounts of :class:`ThreadMetrics`: a thread's spans of a state add up to its total."""
    gil_holdings: tuple[tuple[int, str, int, int], ...] = ()
    """Kept with the trace: (process, thread, start ns, end ns) per stretch a thread held
    its process's GIL (from the grant, so including the hand-off), in order of release."""
    drop_request_times: tuple[tuple[int, int], ...] = ()
    """Kept with the trace: (process, ns) per drop request, in time order."""

    @property
    def busy_ns(self) -> int:
        """Core time used by all threads together."""
        return sum(m.running_ns for _, m in self.threads)

    @property
    def utilisation(self) -> float:
        """Share of the cores' time spent running threads, from 0 to 1."""
        total = self.makespan_ns * self.cores
        return self.busy_ns / total if total else 0.0


@dataclass(frozen=True, slots=True)
class RunResult:
    """Everything one run produced. ``trace`` is ``None`` when the run was asked not to keep it."""

    scenario: str
    runtime: Runtime
    schedule: Schedule
    anomalies: tuple[Anomaly, ...]
    final: tuple[tuple[str, FinalValue], ...]
    true_refs: tuple[tuple[str, int], ...]
    """Each object's true refs at the end."""
    trace: tuple[TraceEvent, ...] | None
    steps: int
    preemptions: int
    finished: bool
    """False when a budget ended the run before every thread finished or blocked."""
    completed_from: int | None = None
    """When a replayed schedule ran out early: the first step the run chose by itself
    (continuing without preemptions)."""
    metrics: TimedMetrics | None = None
    """Timed runs only: where the simulated time went (``None`` in controlled mode)."""
    blocked: tuple[tuple[str, str], ...] = ()
    """The threads still blocked when the run ended (a deadlock), each with what it waits
    for in a few words (``lock B``, ``get Q (empty)``, ``notify on C``)."""
    stopped: str | None = None
    """Why the run ended before every thread finished or blocked: the budget that ran out
    (``"steps"``, ``"time"`` or ``"memory"``); ``None`` when it finished."""
    trace_complete: bool = field(default=True, compare=False)
    """False when ``trace`` holds only the run's first events (a trace limit), or none;
    what was kept, not what happened, so equality ignores it."""
    preempted: tuple[int, ...] = field(default=(), compare=False)
    """The steps that preempted a thread (ran another while the last one was still
    enabled), one per preemption, for figures; derived from the schedule like
    ``preemptions``, so equality ignores it. Empty when the driver does not record it."""

    @property
    def outcome(self) -> Outcome:
        kinds = sorted({a.kind for a in self.anomalies}, key=lambda k: k.value)
        return Outcome(tuple(kinds), self.final)

    def _repr_html_(self) -> str:
        """The run in a Jupyter notebook: its trace table and anomalies."""
        from refsim.render.notebook import run_html

        return run_html(self)

    @property
    def anomaly_kinds(self) -> frozenset[AnomalyKind]:
        return frozenset(a.kind for a in self.anomalies)


@dataclass(frozen=True, slots=True)
class OutcomeStats:
    """How often one outcome is reached, and the easiest way to reach it."""

    outcome: Outcome
    count: int
    """Interleavings reaching it: exact when the exploration is exhaustive, else the
    number of sampled runs that reached it."""
    share: Fraction
    """``count`` over all interleavings (or all samples): the uniform-over-interleavings
    measure."""
    probability: Fraction | None
    """Probability under the fair random scheduler (each enabled thread equally likely at
    each step), exact; ``None`` for a sampled table."""
    witness: Schedule
    """A schedule reaching the outcome with the fewest preemptions (then the fewest steps)."""
    preemptions: int
    """Preemptions in ``witness``."""


@dataclass(frozen=True, slots=True)
class Exploration:
    """The outcome table of one scenario under one runtime (``refsim explore``)."""

    scenario: str
    runtime: Runtime
    exhaustive: bool
    """True: every interleaving was counted. False: a seeded random sample."""
    interleavings: int
    """All interleavings (exhaustive), or the number of samples."""
    outcomes: tuple[OutcomeStats, ...]
    """Most frequent first."""
    preemption_bound: int | None = None
    """Only interleavings with at most this many preemptions were counted."""
    states: int = 0
    """Distinct states visited (exhaustive)."""
    bound_probability: Fraction | None = None
    """With a preemption bound: the probability that a fair random run stays within it
    (each outcome's ``probability`` is then conditional on that)."""
    seed: int | None = None
    """A sampled table: the seed of its first run (run ``i`` used ``seed + i``)."""
    requested: int | None = None
    """A sampled table: the runs asked for; ``interleavings`` is smaller when a budget ran
    out before they were all done."""
    budget: str | None = None
    """A sampled table: the budget that stopped the exact count (``"states"``, ``"time"``
    or ``"memory"``)."""

    @property
    def kinds(self) -> frozenset[AnomalyKind]:
        """The anomaly kinds some outcome in the table has (as
        :attr:`refsim.explore.Reachability.kinds` has them without counts)."""
        return frozenset(k for s in self.outcomes for k in s.outcome.anomalies)

    def _repr_html_(self) -> str:
        """The outcome table in a Jupyter notebook."""
        from refsim.render.notebook import exploration_html

        return exploration_html(self)

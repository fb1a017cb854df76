"""The story of one scenario, as a value: what ``refsim FILE`` tells, for every screen.

:func:`gather` explores, runs and compares, and returns a :class:`Story`; it prints
nothing. The terminal renderer (:mod:`refsim.render.story`) and the JSON renderer
(:mod:`refsim.render.json`) tell the same story from it, and so will a page.

A story has one of two shapes. A **race** (a scenario without ``timing:``) tells how
often each outcome happens, the shortest interleaving that goes wrong (its trace, its
steps in plain sentences, what it means in a real process), what each runtime can
reach, and what the GIL protects. A **time** story (a scenario with ``timing:``) tells
where the time goes in one timed run, the runtimes side by side (safety and speed), and
the lesson in one sentence; it counts no interleavings in its prose (the explorer still
decides what can go wrong, and a timed scenario that can go wrong still shows how).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from enum import Enum

from refsim.claims import (
    Claim,
    Verdict,
    held,
    judge_exploration,
    judge_reachability,
    merge,
)
from refsim.compare import Row, compare
from refsim.costs import settings
from refsim.engine import run
from refsim.explore import DEFAULT_MAX_STATES, Reachability, StateBudgetExceeded, explore, reachable
from refsim.model import AnomalyKind, Op, Runtime, Scenario
from refsim.narrate import (
    RUNTIME_WORDS,
    Sentence,
    consequences,
    gil_lesson,
    narrate,
    why_runtime,
)
from refsim.report import format_ns, plural, replay_command
from refsim.runtimes import GROUPS
from refsim.timed import run_timed
from refsim.trace import Exploration, OutcomeStats, RunResult

__all__ = [
    "SAMPLE_RUNS",
    "Failing",
    "Judged",
    "RuntimeRow",
    "Shape",
    "Story",
    "TimeStory",
    "gather",
]

SAMPLE_RUNS = 1000
"""Runs of the fair random scheduler sampled when the exact count runs out of states."""

OPS_SHOWN = 6
"""The most op groups a thread's line shows before it is cut short."""

CONVOY = 3.0
"""How many times later a thread must finish under gil than under atomic for the story to
call it a convoy."""

SERIAL = 1.5
"""How many times longer the run must take under gil than under atomic for the story to
say that the GIL makes the threads take turns."""


class Shape(Enum):
    """Which story a scenario tells (see the module docstring)."""

    RACE = "race"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class Failing:
    """The interleaving the story tells: the fullest failure, with the fewest preemptions."""

    run: RunResult
    """Run again with its trace."""
    part: Scenario
    """What ``run`` is a run of: the scenario, or the process of it that fails."""
    sentences: tuple[Sentence, ...]
    """The steps that matter, in plain words (:func:`refsim.narrate.narrate`)."""
    meanings: tuple[str, ...]
    """What each anomaly means in a real CPython process."""
    replay: str
    """The command that replays it."""


@dataclass(frozen=True, slots=True)
class RuntimeRow:
    """What one runtime can reach."""

    runtime: Runtime
    table: Exploration | None
    """Its outcome table (exact or sampled); ``None`` when it could not be built, or for
    a file with several processes (which has no one table)."""
    reachable: frozenset[AnomalyKind] | None
    """The anomaly kinds some interleaving reaches; ``None`` past the state budget."""
    group: str = ""
    """Where it sits in the design space (runtimes.GROUPS): ``CPython with the GIL``."""
    why: str = ""
    """One sentence on why the scenario is, or is not, safe under it."""


@dataclass(frozen=True, slots=True)
class TimeStory:
    """Where the time goes: one timed run per runtime and ``refsim compare``'s rows."""

    runs: tuple[tuple[Runtime, RunResult], ...]
    """One timed run (seed 0) under each runtime."""
    rows: tuple[Row, ...]
    switch_interval: int
    lesson: str
    """The time lesson, in one sentence."""

    def run(self, runtime: Runtime) -> RunResult:
        return dict(self.runs)[runtime]


@dataclass(frozen=True, slots=True)
class Judged:
    """One claim the story holds, and its verdict (``None``: past the state budget)."""

    claim: Claim
    verdict: Verdict | None


@dataclass(frozen=True, slots=True)
class Story:
    """Everything ``refsim FILE`` tells about a scenario, gathered before anything is shown."""

    scenario: Scenario
    file: str
    """FILE as the user wrote it, for commands and messages."""
    runtime: Runtime
    """The runtime the story is told under (the file's, or ``--runtime``)."""
    shape: Shape
    facts: tuple[tuple[str, str], ...]
    """What the scenario is, as (label, text) lines: threads, objects, variables, locks,
    processes, timing, runtime."""
    runtimes: tuple[RuntimeRow, ...]
    """Every runtime, grouped as the design space is (runtimes.GROUPS)."""
    failing: Failing | None
    """The interleaving that goes wrong, under ``runtime``; ``None`` when none does (or
    none could be found)."""
    lesson: str
    """What the GIL protects here and what it does not, in one sentence."""
    time: TimeStory | None
    """For a scenario with ``timing:``."""
    next: tuple[tuple[str, str], ...]
    """What to try next, as (what, command) pairs."""
    judged: tuple[Judged, ...]
    """Every claim the scenario's ``expect:`` holds (claims.held), with its verdict."""

    def row(self, runtime: Runtime) -> RuntimeRow:
        return next(r for r in self.runtimes if r.runtime is runtime)

    @property
    def table(self) -> Exploration | None:
        """The outcome table under the story's runtime."""
        return self.row(self.runtime).table

    @property
    def processes(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.scenario.process_groups())

    def _repr_html_(self) -> str:
        """The story in a Jupyter notebook, as a page tells it."""
        from refsim.render.notebook import story_html

        return story_html(self)

    @property
    def agrees(self) -> bool | None:
        """False when a claim fails; else ``None`` when one could not be decided; else True."""
        if any(j.verdict is not None and not j.verdict.holds for j in self.judged):
            return False
        return None if any(j.verdict is None for j in self.judged) else True


# -- gathering ------------------------------------------------------------------------------

_Found = Exploration | Reachability | None


def _explore(scenario: Scenario, runtime: Runtime, max_states: int) -> Exploration | None:
    # A timed scenario's compute stretches run millions of bytecodes: sampling runs them
    # one micro-step at a time and would not finish, so only untimed scenarios sample.
    sample = None if scenario.timing is not None else SAMPLE_RUNS
    try:
        return explore(scenario, runtime=runtime, max_states=max_states, sample=sample)
    except StateBudgetExceeded:
        return None


def _reach(scenario: Scenario, runtime: Runtime, max_states: int) -> Reachability | None:
    try:
        return reachable(scenario, runtime=runtime, max_states=max_states)
    except StateBudgetExceeded:
        return None


def _worst(table: Exploration) -> OutcomeStats | None:
    """The outcome the story tells: the one with the most kinds of anomaly beyond a lost
    update (the fullest failure), then the fewest preemptions, then the shortest."""
    failing = [s for s in table.outcomes if s.outcome.anomalies]
    if not failing:
        return None

    def key(s: OutcomeStats) -> tuple[int, int, int]:
        kinds = set(s.outcome.anomalies) - {AnomalyKind.LOST_UPDATE}
        return (-len(kinds), s.preemptions, len(s.witness))

    return min(failing, key=key)


def _kinds(found: _Found) -> frozenset[AnomalyKind] | None:
    return None if found is None else found.kinds


def _judge(c: Claim, parts: list[tuple[Scenario, _Found]]) -> Judged:
    verdicts = []
    for part, found in parts:
        if found is None:
            return Judged(c, None)
        if isinstance(found, Exploration):
            verdicts.append(judge_exploration(part, found))
        else:
            verdicts.append(judge_reachability(part, found))
    return Judged(c, merge(verdicts))


def gather(
    scenario: Scenario,
    file: str,
    runtime: Runtime | None = None,
    *,
    max_states: int = DEFAULT_MAX_STATES,
) -> Story:
    """Explore ``scenario`` under every runtime, find the interleaving that goes wrong
    under ``runtime`` (default: the file's), and for a scenario with ``timing:`` run it
    in simulated time under each runtime and compare them. ``file`` is how the user
    named the scenario, for the commands the story suggests."""
    runtime = scenario.runtime if runtime is None else runtime
    parts = scenario.per_process()
    # Processes share no memory, so each is explored on its own; a file with several has
    # no one table of its interleavings, and its story tells the first process that fails.
    found: dict[Runtime, list[tuple[Scenario, _Found]]] = {}
    tables: dict[Runtime, list[Exploration | None]] = {}
    for r in Runtime:
        tables[r] = [_explore(part, r, max_states) for part in parts]
        found[r] = [
            (part, table if table is not None else _reach(part, r, max_states))
            for part, table in zip(parts, tables[r], strict=True)
        ]
    rows = []
    for group, runtimes in GROUPS:
        for r in runtimes:
            kinds = [_kinds(f) for _, f in found[r]]
            union = None if None in kinds else frozenset().union(*(k for k in kinds if k))
            table = tables[r][0] if len(parts) == 1 else None
            why = why_runtime(scenario, r, union)
            rows.append(RuntimeRow(r, table, union, group, why))
    failing = None
    for part, table in zip(parts, tables[runtime], strict=True):
        worst = None if table is None else _worst(table)
        if worst is not None:
            result = run(part, runtime=runtime, schedule=worst.witness)
            failing = Failing(
                result,
                part,
                narrate(part, result),
                consequences(part, result),
                replay_command(file, result, part),
            )
            break
    reach = {row.runtime: row.reachable for row in rows}
    time = _time_story(scenario) if scenario.timing is not None else None
    shape = Shape.RACE if time is None else Shape.TIME
    judged = tuple(_judge(c, found[c.runtime]) for c in held(scenario))
    counted = tables[runtime][0] is not None and len(parts) == 1
    return Story(
        scenario=scenario,
        file=file,
        runtime=runtime,
        shape=shape,
        facts=_facts(scenario, runtime),
        runtimes=tuple(rows),
        failing=failing,
        lesson=gil_lesson(scenario, reach),
        time=time,
        next=_next_steps(scenario, file, runtime, failing, counted),
        judged=judged,
    )


# -- what the scenario is -------------------------------------------------------------------


def ops_text(ops: tuple[Op, ...]) -> str:
    """A thread's program, runs of one op written once with a count, cut short when long."""
    parts: list[str] = []
    index = 0
    while index < len(ops):
        end = index
        while end + 1 < len(ops) and ops[end + 1] == ops[index]:
            end += 1
        times = end - index + 1
        parts.append(str(ops[index]) + (f" (×{times})" if times > 1 else ""))
        index = end + 1
    if len(parts) > OPS_SHOWN:
        parts = parts[: OPS_SHOWN - 1] + [f"… ({len(ops):,} ops in all)"]
    return ", ".join(parts)


def _facts(scenario: Scenario, runtime: Runtime) -> tuple[tuple[str, str], ...]:
    rows = [(f"thread {t.name}", ops_text(t.ops)) for t in scenario.threads]
    owners = dict(scenario.owners)
    for name, value in scenario.objects:
        said = f"refcount {value} at the start"
        if name in owners:
            said += f", owned by {owners[name]} (free-threaded: its local count)"
        if name in scenario.immortal:
            said += ", immortal (free-threaded: never counted, never freed)"
        if name in scenario.deferred:
            said += ", deferred (free-threaded: stack references not counted)"
        rows.append((f"object {name}", said))
    rows += [(f"variable {name}", f"{value} at the start") for name, value in scenario.variables]
    rows += [(f"lock {name}", "free at the start") for name in scenario.locks]
    rows += [(f"event {name}", "clear at the start") for name in scenario.events]
    rows += [
        (f"semaphore {name}", f"count {value} at the start") for name, value in scenario.semaphores
    ]
    rows += [
        (f"queue {name}", f"maxsize {size}, empty at the start") for name, size in scenario.queues
    ]
    rows += [(f"condition {name}", f"over lock {lock}") for name, lock in scenario.conditions]
    if len(scenario.process_groups()) > 1:
        rows += [
            (f"process {name}", f"{', '.join(threads)}: its own GIL and its own objects")
            for name, threads in scenario.process_groups()
        ]
    if scenario.timing is not None:
        rows.append(("timing", _timing_words(scenario)))
    chosen = "" if runtime is scenario.runtime else " (--runtime)"
    rows.append(("runtime", f"{runtime}{chosen}: {RUNTIME_WORDS[runtime]}"))
    return tuple(rows)


def _timing_words(scenario: Scenario) -> str:
    """``2 cores, COMPUTE costs 10µs, switch interval 5ms``: what the file sets."""
    timing = scenario.timing
    assert timing is not None
    full = settings(timing)
    parts = [plural(full.cores, "core")]
    parts += [f"{kind.value} costs {format_ns(ns)}" for kind, ns in timing.costs]
    if timing.jitter:
        parts.append(f"jitter {timing.jitter:g}")
    parts.append(f"switch interval {format_ns(full.switch_interval)}")
    return ", ".join(parts) + " (in simulated time: `refsim run --timed`)"


# -- what to try next -----------------------------------------------------------------------


def _next_steps(
    scenario: Scenario, file: str, runtime: Runtime, failing: Failing | None, counted: bool
) -> tuple[tuple[str, str], ...]:
    """What to try next, as (what, command) pairs; ``counted``: the story's runtime has an
    outcome table for ``refsim explore`` to show."""
    quoted = shlex.quote(file)
    flag = f" --runtime {runtime.value}" if runtime is not scenario.runtime else ""
    lines: list[tuple[str, str]] = []
    if failing is not None:
        part = failing.part.part_of
        process = "" if part is None else f" --process {part}"
        lines.append(("replay it", failing.replay))
        lines.append(
            ("plot it", f'refsim plot {quoted} --schedule "{failing.run.schedule}"{process}'
                        f"{flag} -o {scenario.name}.png")
        )  # fmt: skip
    if scenario.timing is None:
        if counted:
            lines.append(("every outcome", f"refsim explore {quoted}{flag}"))
        if len(scenario.process_groups()) == 1:
            lines.append(("be the scheduler", f"refsim play {quoted}{flag}"))
        # A few micro-steps take nanoseconds: their timings say nothing about the GIL.
        lines.append(("the GIL in time", "refsim cpu_bound"))
    else:
        lines.append(("every runtime, timed", f"refsim compare {quoted}"))
        lines.append(("one timed run", f"refsim run {quoted} --timed{flag}"))
    return tuple(lines)


# -- time -----------------------------------------------------------------------------------


def _time_story(scenario: Scenario) -> TimeStory:
    runs = tuple((r, run_timed(scenario, runtime=r, keep_trace=False)) for r in Runtime)
    rows = compare(scenario)
    interval = settings(scenario.timing).switch_interval
    by = dict(runs)
    return TimeStory(runs, rows, interval, _time_lesson(rows, by[Runtime.GIL], by[Runtime.ATOMIC]))


def _time_lesson(rows: tuple[Row, ...], gil_run: RunResult, atomic_run: RunResult) -> str:
    """What the GIL costs in time, in one sentence, from ``refsim compare``'s rows and the
    timed runs under gil and atomic."""
    convoy = _convoy(gil_run, atomic_run)
    if convoy is not None:
        return convoy
    by = {row.label: row for row in rows}
    gil, atomic = by["gil"], by["atomic"]
    if gil.makespan_ns >= SERIAL * atomic.makespan_ns:
        grouped = by.get("gil, the file's processes")
        apart = by["gil, a process per thread"]
        if grouped is not None:
            processes = (
                f"; in processes of their own, as the file puts them, the whole run takes "
                f"{format_ns(grouped.makespan_ns)}"
            )
        else:
            processes = (
                f"; a process per thread, each with its own GIL, takes "
                f"{format_ns(apart.makespan_ns)}"
            )
        return (
            f"Under one GIL {_cpu_bound(atomic_run)} take turns: {format_ns(gil.makespan_ns)} "
            f"against {format_ns(atomic.makespan_ns)} without a GIL, because only the thread "
            f"holding the GIL runs bytecodes{processes}."
        )
    if gil.speedup >= SERIAL:
        return (
            f"A blocking call releases the GIL, so the threads' waits overlap even under it: "
            f"{format_ns(gil.makespan_ns)} against {format_ns(gil.sequential_ns)} one after "
            f"another ({format_ns(atomic.makespan_ns)} without a GIL)."
        )
    return (
        f"In time, the runtimes hardly differ here: {format_ns(gil.makespan_ns)} under gil, "
        f"{format_ns(atomic.makespan_ns)} under atomic."
    )


def _cpu_bound(result: RunResult) -> str:
    """``the two CPU-bound threads, X1 and X2``: the threads that spent most of their time
    running (in a run without a GIL, where nothing holds them back)."""
    assert result.metrics is not None
    names = [
        name
        for name, m in result.metrics.threads
        if m.finished_ns and m.running_ns * 2 >= m.finished_ns
    ]
    if len(names) < 2:
        return "the threads"
    count = "two" if len(names) == 2 else str(len(names))
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    return f"the {count} CPU-bound threads, {listed},"


def _convoy(gil: RunResult, atomic: RunResult) -> str | None:
    """The thread the GIL delays most, when it is delayed far more than the run as a whole:
    an I/O-bound thread that waits for the GIL after each blocking call (the convoy)."""
    assert gil.metrics is not None and atomic.metrics is not None
    worst = None
    for (name, slow), (_, fast) in zip(gil.metrics.threads, atomic.metrics.threads, strict=True):
        if slow.finished_ns is None or fast.finished_ns is None or not fast.finished_ns:
            continue
        ratio = slow.finished_ns / fast.finished_ns
        if worst is None or ratio > worst[0]:
            worst = (ratio, name, slow, fast)
    overall = gil.metrics.makespan_ns / max(atomic.metrics.makespan_ns, 1)
    if worst is None or worst[0] < CONVOY * overall:
        return None
    ratio, name, slow, fast = worst
    return (
        f"{name} finishes at {format_ns(slow.finished_ns or 0)} under gil against "
        f"{format_ns(fast.finished_ns or 0)} without a GIL ({ratio:.0f} times later), because "
        f"after each blocking call it must wait for the CPU-bound thread to be asked to drop "
        f"the GIL ({format_ns(slow.gil_wait_ns)} of GIL wait in all): the convoy effect."
    )

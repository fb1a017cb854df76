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
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from refsim.budget import BudgetExceeded, Limit, Meter
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
from refsim.engine import run, run_length
from refsim.explore import (
    DEFAULT_MAX_STATES,
    ExplorationStopped,
    Reachability,
    explore,
    reachable,
    sample,
)
from refsim.model import AnomalyKind, Op, Runtime, Scenario, format_ns
from refsim.narrate import (
    RUNTIME_WORDS,
    Sentence,
    consequences,
    gil_lesson,
    narrate,
    why_runtime,
)
from refsim.render.commands import replay_command
from refsim.render.words import plural
from refsim.runtimes import GROUPS
from refsim.search import search_report
from refsim.timed import TimedRunStopped, run_timed
from refsim.trace import Exploration, OutcomeStats, RunResult

__all__ = [
    "SAMPLE_RUNS",
    "Failing",
    "Judged",
    "RuntimeRow",
    "Shape",
    "Story",
    "TimeStory",
    "figure_run",
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
    found_by: str = "count"
    """How it was found: ``count`` (a witness of the exact count: the fewest
    preemptions), ``sample`` (the sampled run with the fewest) or ``search``."""
    minimal: bool = True
    """Found by search: whether it is proven to have the fewest preemptions."""


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
    stopped: str | None = None
    """When ``reachable`` is ``None``: the budget that ran out (``states``, ``time``,
    ``memory``)."""


@dataclass(frozen=True, slots=True)
class TimeStory:
    """Where the time goes: one timed run per runtime and ``refsim compare``'s rows."""

    runs: tuple[tuple[Runtime, RunResult], ...]
    """One timed run (seed 0) under each runtime (but those a budget stopped)."""
    rows: tuple[Row, ...]
    switch_interval: int
    lesson: str
    """The time lesson, in one sentence."""

    def run(self, runtime: Runtime) -> RunResult | None:
        """The timed run under ``runtime``; ``None`` when a budget stopped it."""
        return dict(self.runs).get(runtime)


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
    stopped: tuple[str, ...] = ()
    """The time and memory budgets that ran out while the story was gathered (so some
    part of it is sampled, searched or unknown), sorted: ``memory``, ``time``."""
    counted: tuple[Exploration | None, ...] = ()
    """Per process (``scenario.per_process()``, one for a scenario of one), its table under
    ``runtime`` as the story found it (exact or sampled), or ``None``: what a page counts
    again otherwise."""

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

COUNTS_SHARE = 0.6
"""Of the time, the part the exact counts take (one per runtime); the story's own
runtime first, with :data:`OWN_SHARE` of that."""
OWN_SHARE = 0.6
"""Of the counts' time, the part the story's own runtime may take: its table is the
story's centre, the other runtimes' are one column each."""
SEARCH_SHARE = 0.5
"""Of the time left after the counts, the part each next piece may take: the sample of
the story's runtime (where its count ran out), the reachability searches (for every
runtime whose count ran out), the samples of runtimes not even searched, and the search
for the failing run; a time story's timed runs take the rest."""
SAMPLE_STEPS = 10_000_000
"""The most micro-steps the story's sample may take in all: a program with longer runs
is sampled fewer times (at least :data:`SAMPLE_LEAST`, or not at all)."""
SAMPLE_LEAST = 100
"""Fewer sampled runs than this would make a table of noise."""


def figure_run(story: Story, *, meter: Meter | None = None) -> tuple[RunResult, Scenario] | None:
    """The run a figure of ``story`` draws, and what it is a run of: the failing
    interleaving (of the process that fails); else, for a timed scenario, its timed run
    under the story's runtime, seed 0, with its trace (the time story keeps none), of the
    whole scenario; ``None`` when neither (``refsim story --plot`` and the page's figure
    both draw it)."""
    if story.failing is not None:
        return story.failing.run, story.failing.part
    if story.time is not None:
        return run_timed(story.scenario, runtime=story.runtime, meter=meter), story.scenario
    return None


class _Gathering:
    """The budget a story is gathered under, and the budgets that ran out on the way."""

    def __init__(self, meter: Meter | None) -> None:
        self.meter = meter
        self.stopped: set[str] = set()

    def part(self, fraction: float) -> Meter | None:
        return None if self.meter is None else self.meter.share(fraction)

    def spent(self, error: BudgetExceeded) -> None:
        if error.limit is not Limit.STATES:
            self.stopped.add(error.limit.value)


def _fair(meter: Meter | None, left: int) -> Meter | None:
    return None if meter is None else meter.fair(left)


_T = TypeVar("_T", Exploration, Reachability)


def _attempt(
    find: Callable[..., _T],
    scenario: Scenario,
    runtime: Runtime,
    max_states: int,
    meter: Meter | None,
    how: _Gathering,
) -> _T | ExplorationStopped:
    """``find`` (:func:`explore` or :func:`reachable`) within ``meter``; or what stopped
    it, when a budget ran out (noted in ``how``)."""
    try:
        return find(scenario, runtime=runtime, max_states=max_states, meter=meter)
    except ExplorationStopped as error:
        how.spent(error)
        return error


def _sample(
    scenario: Scenario, runtime: Runtime, why: str, meter: Meter | None, how: _Gathering
) -> Exploration | None:
    """A sampled table, if runs are short enough to sample (:data:`SAMPLE_STEPS`) and the
    budget lets one finish. A timed scenario's compute stretches run millions of
    bytecodes one micro-step at a time: it is never sampled."""
    length = max(run_length(scenario, runtime), 1)
    runs = min(SAMPLE_RUNS, SAMPLE_STEPS // length)
    if scenario.timing is not None or runs < SAMPLE_LEAST:
        return None
    try:
        table = sample(scenario, runtime=runtime, runs=runs, meter=meter, budget=why)
    except BudgetExceeded as error:
        how.spent(error)
        return None
    if table.interleavings < runs:  # the time ran out, else the memory
        assert meter is not None
        how.stopped.add((Limit.TIME if meter.remaining == 0 else Limit.MEMORY).value)
    return table


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
    meter: Meter | None = None,
) -> Story:
    """Explore ``scenario`` under every runtime, find the interleaving that goes wrong
    under ``runtime`` (default: the file's), and for a scenario with ``timing:`` run it
    in simulated time under each runtime and compare them. ``file`` is how the user
    named the scenario, for the commands the story suggests.

    With a ``meter`` the story is told within its budget, and degrades part by part when
    the budget is too small (the shares: :data:`COUNTS_SHARE` and after): a sampled table
    where the exact count ran out, which kinds are reachable where even that did, a
    failing run found by search where no table shows one, "unknown" where nothing could
    be decided; ``Story.stopped`` says which budgets ran out."""
    runtime = scenario.runtime if runtime is None else runtime
    how = _Gathering(meter)
    parts = scenario.per_process()
    # Processes share no memory, so each is explored on its own; a file with several has
    # no one table of its interleavings, and its story tells the first process that fails.
    order = [runtime, *(r for r in Runtime if r is not runtime)]
    jobs = [(r, i) for r in order for i in range(len(parts))]
    counts = how.part(COUNTS_SHARE)
    found: dict[tuple[Runtime, int], Exploration | Reachability | ExplorationStopped] = {}
    for n, (r, i) in enumerate(jobs):
        share = None if counts is None else counts.share(OWN_SHARE) if r is runtime else None
        share = share or _fair(counts, len(jobs) - n)
        found[(r, i)] = _attempt(explore, parts[i], r, max_states, share, how)
    tables = {job: f if isinstance(f, Exploration) else None for job, f in found.items()}
    stops = {job: f.limit.value for job, f in found.items() if isinstance(f, ExplorationStopped)}
    missing = [job for job in jobs if tables[job] is None]
    # The story's own table, sampled where its count ran out (a sample is quick: first).
    mine = [job for job in missing if job[0] is runtime]
    samples = how.part(SEARCH_SHARE)
    for n, (r, i) in enumerate(mine):
        tables[(r, i)] = _sample(parts[i], r, stops[(r, i)], _fair(samples, len(mine) - n), how)
    # Where a count ran out: which kinds are reachable, exactly, in fewer states.
    searches = how.part(SEARCH_SHARE)
    for n, (r, i) in enumerate(missing):
        share = _fair(searches, len(missing) - n)
        found[(r, i)] = _attempt(reachable, parts[i], r, max_states, share, how)
    # Where even that ran out: a sample's kinds (of the story's runtime's, or a new one).
    unsearched = [job for job in missing if isinstance(found[job], ExplorationStopped)]
    samples = how.part(SEARCH_SHARE)
    for n, (r, i) in enumerate(unsearched):
        table = tables[(r, i)]
        if table is None and r is not runtime:
            share = _fair(samples, len(unsearched) - n)
            table = tables[(r, i)] = _sample(parts[i], r, stops[(r, i)], share, how)
        if table is not None:
            found[(r, i)] = table
    rows = []
    for group, runtimes in GROUPS:
        for r in runtimes:
            results = [found[(r, i)] for i in range(len(parts))]
            kinds = [None if isinstance(f, ExplorationStopped) else f.kinds for f in results]
            union = None if None in kinds else frozenset().union(*(k for k in kinds if k))
            table = tables[(r, 0)] if len(parts) == 1 else None
            why = why_runtime(scenario, r, union)
            out = next((f.limit.value for f in results if isinstance(f, ExplorationStopped)), None)
            rows.append(RuntimeRow(r, table, union, group, why, stopped=out))
    reach = {row.runtime: row.reachable for row in rows}
    complete = all(
        isinstance(f, Reachability) or (isinstance(f, Exploration) and f.exhaustive)
        for f in (found[(runtime, i)] for i in range(len(parts)))
    )
    failing = _failing(parts, runtime, tables, complete and not reach[runtime], file, how)
    time = _time_story(scenario, how.meter, how) if scenario.timing is not None else None
    shape = Shape.RACE if time is None else Shape.TIME
    judged = tuple(
        _judge(c, [(part, _decided(found[(c.runtime, i)])) for i, part in enumerate(parts)])
        for c in held(scenario)
    )
    own = tables[(runtime, 0)]
    counted = own is not None and own.exhaustive and len(parts) == 1
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
        next=_next_steps(scenario, file, runtime, failing, counted) + _more(file, how.stopped),
        judged=judged,
        stopped=tuple(sorted(how.stopped)),
        counted=tuple(tables[(runtime, i)] for i in range(len(parts))),
    )


def _decided(found: Exploration | Reachability | ExplorationStopped | None) -> _Found:
    return None if isinstance(found, ExplorationStopped) else found


def _failing(
    parts: tuple[Scenario, ...],
    runtime: Runtime,
    tables: dict[tuple[Runtime, int], Exploration | None],
    safe: bool,
    file: str,
    how: _Gathering,
) -> Failing | None:
    """The run the story tells: the fullest failure of the story runtime's exact table
    (its witness has the fewest preemptions). Without one, unless nothing can go wrong
    (``safe``: shown by every interleaving or reachable state), one found by search within
    a share of the time left, for the fullest failure a sample saw if there is a sample;
    failing that, the sampled run itself (whose preemptions are many: a fair random
    scheduler switches at every other step)."""
    sampled: list[tuple[Scenario, OutcomeStats]] = []
    for i, part in enumerate(parts):
        table = tables[(runtime, i)]
        worst = None if table is None else _worst(table)
        if worst is not None and table is not None and table.exhaustive:
            return _told(part, run(part, runtime=runtime, schedule=worst.witness), file, "count")
        if worst is not None:
            sampled.append((part, worst))
    if safe:
        return None
    share = how.part(SEARCH_SHARE)
    wanted = [(part, _severest(stats.outcome.anomalies)) for part, stats in sampled]
    for index, (part, want) in enumerate(wanted or [(part, None) for part in parts]):
        meter = _fair(share, max(len(wanted), len(parts)) - index)
        report = search_report(part, runtime=runtime, want=want, meter=meter)
        if report.stopped is not None:
            how.stopped.add(report.stopped.value)
        if report.run is not None:
            return _told(part, report.run, file, "search", minimal=report.minimal)
    for part, stats in sampled:
        return _told(part, run(part, runtime=runtime, schedule=stats.witness), file, "sample")
    return None


def _severest(kinds: tuple[AnomalyKind, ...]) -> AnomalyKind | None:
    """The anomaly kind furthest towards a crash, for a search to look for."""
    order = (
        AnomalyKind.DOUBLE_FREE,
        AnomalyKind.PREMATURE_FREE,
        AnomalyKind.USE_AFTER_FREE,
        AnomalyKind.DEADLOCK,
        AnomalyKind.LEAK,
        AnomalyKind.LOST_UPDATE,
    )
    return next((kind for kind in order if kind in kinds), None)


def _told(
    part: Scenario, result: RunResult, file: str, found_by: str, *, minimal: bool = True
) -> Failing:
    return Failing(
        result,
        part,
        narrate(part, result),
        consequences(part, result),
        replay_command(file, result, part),
        found_by=found_by,
        minimal=minimal,
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


MORE = {
    "time": ("more time for the exact answers", "--max-seconds 300"),
    "memory": ("more memory for them", "--max-memory 4GB"),
}
"""What to try when a budget ran out: the option, with a bigger budget."""


def _more(file: str, stopped: set[str]) -> tuple[tuple[str, str], ...]:
    """The commands that tell the story with a bigger budget, for each that ran out."""
    quoted = shlex.quote(file)
    return tuple(
        (what, f"refsim {quoted} {option}")
        for key, (what, option) in MORE.items()
        if key in stopped
    )


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


RUNS_SHARE = 0.4
"""Of a time story's time, the part its timed runs (one per runtime) take; ``refsim
compare``'s rows take the rest."""


def _time_story(scenario: Scenario, meter: Meter | None, how: _Gathering) -> TimeStory:
    shares = None if meter is None else meter.share(RUNS_SHARE)
    runs = []
    for n, r in enumerate(Runtime):
        try:
            share = _fair(shares, len(Runtime) - n)
            runs.append((r, run_timed(scenario, runtime=r, keep_trace=False, meter=share)))
        except TimedRunStopped as error:
            how.spent(error)
    rows = compare(scenario, meter=meter)
    how.stopped.update(row.stopped for row in rows if row.stopped is not None)
    interval = settings(scenario.timing).switch_interval
    by = dict(runs)
    gil, atomic = by.get(Runtime.GIL), by.get(Runtime.ATOMIC)
    if gil is None or atomic is None or not all(row.known for row in rows):
        lesson = (
            "Not every timed run finished within the budget (the rows marked unknown): "
            "raise --max-seconds to see what the GIL costs here."
        )
    else:
        lesson = _time_lesson(rows, gil, atomic)
    return TimeStory(tuple(runs), rows, interval, lesson)


def _time_lesson(rows: tuple[Row, ...], gil_run: RunResult, atomic_run: RunResult) -> str:
    """What the GIL costs in time, in one sentence, from ``refsim compare``'s rows and the
    timed runs under gil and atomic."""
    convoy = _convoy(gil_run, atomic_run)
    if convoy is not None:
        return convoy
    by = {row.label: row for row in rows}
    gil, atomic = by["gil"], by["atomic"]
    assert gil.makespan_ns is not None and atomic.makespan_ns is not None
    if gil.makespan_ns >= SERIAL * atomic.makespan_ns:
        grouped = by.get("gil, the file's processes")
        apart = by["gil, a process per thread"]
        if grouped is not None:
            processes = (
                f"; in processes of their own, as the file puts them, the whole run takes "
                f"{format_ns(grouped.makespan_ns or 0)}"
            )
        else:
            processes = (
                f"; a process per thread, each with its own GIL, takes "
                f"{format_ns(apart.makespan_ns or 0)}"
            )
        return (
            f"Under one GIL {_cpu_bound(atomic_run)} take turns: {format_ns(gil.makespan_ns)} "
            f"against {format_ns(atomic.makespan_ns)} without a GIL, because only the thread "
            f"holding the GIL runs bytecodes{processes}."
        )
    if (gil.speedup or 0) >= SERIAL:
        return (
            f"A blocking call releases the GIL, so the threads' waits overlap even under it: "
            f"{format_ns(gil.makespan_ns)} against {format_ns(gil.sequential_ns or 0)} one after "
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

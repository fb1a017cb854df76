"""Search: Hypothesis drives the scheduler to find an interleaving that reaches an anomaly,
then shrinks it to the fewest preemptions (the only Hypothesis importer in refsim/).

A run is a pure function of its schedule, so Hypothesis can own the scheduler and shrink
soundly: the choices it makes *are* the schedule. This module turns Hypothesis's choices
into a schedule through a :class:`~refsim.scheduling.Chooser`, and drives the same
:class:`~refsim.machine.Machine` as the engine does.

The encoding (docs/search.md tells the story)
---------------------------------------------
A schedule is written as *events* on top of a default policy. The default never preempts:
the thread that ran last keeps running while it is enabled, else the first enabled thread
in file order runs (:class:`~refsim.scheduling.NonPreemptiveChooser`). An event says "after
``gap`` more steps of the default policy, switch to another enabled thread", and which
one. Before each event Hypothesis decides whether there is another (without one the run
finishes without preemptions); how likely that is depends on a *density* drawn once per
example, so some examples switch rarely and some as often as a random scheduler. So:

* a schedule with k switches costs about k events: deleting an event, which is what
  Hypothesis's shrinker tries first, removes a switch, so shrinking heads for the fewest
  preemptions, not for one thread id per micro-step;
* gaps are drawn on a log scale (a unary count of doublings, then the bits), so near
  switches are likely and far ones possible at a few coins' cost, and shrinking a gap
  moves the switch earlier;
* every drawn sequence is a valid schedule: an event picks among the threads that are
  enabled at that step (an index taken modulo their number) and an event with no other
  thread to pick is skipped.

Only fair coins are drawn (``st.booleans()``), never integers. Hypothesis draws integers
with a small chance of picking a "constant" found in the source files of the importing
process, and caches those constants under ``.hypothesis/`` in the current directory: that
would make a search depend on which modules happen to be loaded and write into the
user's folder. Coins do neither, so a seed gives the same result anywhere.

Hypothesis's shrinker orders examples by their choice sequence (shorter, then smaller),
which follows refsim's preference only roughly, so a deterministic post-pass finishes the
job, ranking by :func:`rank` (fewest preemptions, then fewest steps, then earliest
switches). First :func:`_polish` makes small changes (delete a switch, move one, switch
to a lower-numbered thread, ...) and keeps each that still reaches the anomaly and ranks
better; then :func:`_fewest` searches every schedule with at most as many preemptions,
depth first, and returns the best outright (bounding preemptions keeps that small). Both
are pure functions of the found schedule, so the result does not depend on luck.

Runs during the search drive the machine directly (no SimPy, no trace): the search runs
thousands of them, and this loop is about twice as fast as the engine's. The run a search
returns is the found schedule replayed by :func:`refsim.engine.run`, trace included; the
tests hold the two drivers equal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from refsim.budget import BudgetExceeded, Limit, Meter
from refsim.engine import DEFAULT_MAX_STEPS
from refsim.engine import run as engine_run
from refsim.machine import Machine
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule
from refsim.trace import Anomaly, RunResult

if TYPE_CHECKING:
    # Hypothesis is imported when a search starts, not with refsim: every command that
    # does not search (explore, run, the page) starts a tenth of a second sooner.
    from hypothesis import strategies as st

    Draw = Callable[[st.SearchStrategy[Any]], Any]

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "SearchReport",
    "rank",
    "schedules",
    "search",
    "search_report",
]

DEFAULT_MAX_EXAMPLES = 1000
"""Examples a search generates at most (``--max-examples``). The search stops at the first
example that reaches the anomaly, so the budget is spent only when there is none to find."""

POLISH_BUDGET = 1_000_000
"""Micro-steps the post-pass's small changes may spend (about two seconds at most; the
bundled scenarios need a few thousand)."""

EXHAUST_BUDGET = 200_000
"""Micro-steps the post-pass's bounded search may spend (about a tenth of a second)."""

CHECK_EVERY = 4096
"""Micro-steps of one run between two looks at the search's meter."""

TRIED = "examples tried"
"""The unit of a search's work in a meter's tally (shrinking runs count too)."""


class _Stop(BaseException):
    """The meter ran out inside the search. A BaseException, like KeyboardInterrupt, so
    that Hypothesis stops at once instead of taking it for a failing example to shrink."""

    def __init__(self, spent: BudgetExceeded) -> None:
        super().__init__()
        self.spent = spent


class _OutOfMemory(BaseException):
    """A MemoryError inside the search, carried past Hypothesis (see :class:`_Stop`)."""


def _look(meter: Meter | None, unit: str | None = None) -> None:
    """Look at ``meter`` (counting one ``unit`` first, if given): :class:`_Stop` if a
    budget has run out."""
    if meter is None:
        return
    try:
        if unit is None:
            meter.check()
        else:
            meter.tick(unit)
    except BudgetExceeded as error:
        raise _Stop(error) from None


_COIN: Any = None
"""``st.booleans()``, made by the first search (:func:`_plays`)."""

_WEIGHT = {
    AnomalyKind.LOST_UPDATE: 1,
    AnomalyKind.LEAK: 1,
    AnomalyKind.DEADLOCK: 1,
    AnomalyKind.USE_AFTER_FREE: 2,
    AnomalyKind.PREMATURE_FREE: 4,
    AnomalyKind.DOUBLE_FREE: 8,
}
"""How far each kind goes towards a crash, for :func:`hypothesis.target`."""


# -- the encoding -----------------------------------------------------------------------------


def _bits(draw: Draw, count: int) -> int:
    """An integer of ``count`` bits, most significant first (so shrinking makes it smaller)."""
    value = 0
    for _ in range(count):
        value = value * 2 + bool(draw(_COIN))
    return value


def _gap(draw: Draw, max_scale: int) -> int:
    """Steps before the next event, on a log scale: scale ``s`` covers ``2**s - 1`` up to
    ``2**(s + 1) - 2`` and is chosen by a run of coins (each scale half as likely as the
    one below), then ``s`` bits pick within it. Near switches are likely, any is possible."""
    scale = 0
    while scale < max_scale and draw(_COIN):
        scale += 1
    return (1 << scale) - 1 + _bits(draw, scale)


class DrawnChooser:
    """A :class:`~refsim.scheduling.Chooser` fed by Hypothesis's choices (the encoding in
    the module docstring). Choices are drawn lazily, as the run reaches them, so a test
    case holds exactly the choices its schedule used."""

    def __init__(self, draw: Draw, max_scale: int) -> None:
        self._draw = draw
        self._max_scale = max_scale
        # How busy this schedule is: "another event?" is true unless `density` coins
        # (1 to 8) all come up false, so a test case expects 1, 3, 7, ... or 255 events.
        # Most races need one or two switches; some (the double free) need many.
        self._density = 1 + _bits(draw, 3)
        self.due = self._next(0)
        """The step at which the next event fires, or -1 if there is none: at every other
        step :meth:`choose` follows the default policy and draws nothing."""

    def _next(self, step: int) -> int:
        """The step at which the next event fires, or -1 if there is none."""
        draw = self._draw
        if any(draw(_COIN) for _ in range(self._density)):
            return step + 1 + _gap(draw, self._max_scale)
        return -1

    def choose(self, step: int, enabled: Sequence[int], last: int) -> int:
        if step != self.due:
            return last if last in enabled else enabled[0]
        # The enabled threads but `last`, by position, without building them (a scan of
        # 5,000 threads at every switch would cost more than the steps between switches).
        mine = enabled.index(last) if last in enabled else len(enabled)
        others = len(enabled) - (mine < len(enabled))
        if others > 1:
            k = _bits(self._draw, (others - 1).bit_length()) % others
            pick = enabled[k + (k >= mine)]
        elif others:
            pick = enabled[1 if mine == 0 else 0]
        else:
            # No other thread to switch to: the event is skipped (the shrinker deletes it).
            pick = last
        self.due = self._next(step)
        return pick


class EventChooser:
    """The same default policy with fixed events ``{step: thread}``: what the post-pass
    replays. An event naming a thread that is not enabled at its step is skipped."""

    def __init__(self, events: dict[int, int]) -> None:
        self._events = events
        self._ahead = sorted(events, reverse=True)
        """The steps of the events not yet reached, the next one last."""
        self.due = self._ahead.pop() if self._ahead else -1
        """The step of the next event, or -1 if there is none (as :class:`DrawnChooser`'s)."""

    def choose(self, step: int, enabled: Sequence[int], last: int) -> int:
        while 0 <= self.due <= step:
            self.due = self._ahead.pop() if self._ahead else -1
        wanted = self._events.get(step, -1)
        if wanted in enabled:
            return wanted
        return last if last in enabled else enabled[0]


def _max_scale(machine: Machine) -> int:
    """The smallest gap scale that can reach every step of the longest possible run."""
    steps = sum(instr.times for program in machine.programs for instr in program)
    return max(steps, 1).bit_length()


# -- a fast run ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Play:
    """What the search needs from one run (no trace)."""

    picks: tuple[int, ...]
    anomalies: tuple[Anomaly, ...]
    preemptions: int
    finished: bool


def _play(
    machine: Machine,
    chooser: DrawnChooser | EventChooser,
    max_steps: int,
    meter: Meter | None = None,
) -> _Play:
    """Run ``machine`` with ``chooser``, as :func:`refsim.engine.run` would, minus SimPy
    and the trace. Looks at ``meter`` every :data:`CHECK_EVERY` micro-steps.

    The chooser is asked only at its ``due`` steps: at every other step it would follow
    the default policy and draw nothing, so the run follows it here, the same answer
    without a call (with thousands of threads each of its membership tests is a call of
    Python, and a step asked one three times)."""
    state = machine.initial()
    enabled_of, step, choose = machine.enabled, machine.step, chooser.choose
    picks: list[int] = []
    anomalies: list[Anomaly] = []
    last = -1
    preemptions = 0
    finished = True
    while True:
        enabled = enabled_of(state)
        ahead = last in enabled
        if not ahead and not enabled:  # (with `last` among them, some are)
            break
        if len(picks) >= max_steps:
            finished = False
            break
        number = len(picks) + 1
        if number == chooser.due:
            chosen = choose(number, enabled, last)
            assert chosen in enabled, "the search's choosers only pick enabled threads"
            preemptions += chosen != last and ahead
        else:
            chosen = last if ahead else enabled[0]
        picks.append(chosen)
        state, _, found = step(state, chosen)
        if found:
            anomalies.extend(found)
        last = chosen
        if meter is not None and not len(picks) % CHECK_EVERY:
            _look(meter)
    if finished:
        anomalies.extend(machine.conclude(state))
    return _Play(tuple(picks), tuple(anomalies), preemptions, finished)


def _plays(
    machine: Machine, max_steps: int, meter: Meter | None = None
) -> st.SearchStrategy[_Play]:
    """Runs of ``machine`` whose schedules Hypothesis chooses (the encoding above)."""
    global _COIN
    from hypothesis import strategies as st

    if _COIN is None:
        _COIN = st.booleans()
    max_scale = _max_scale(machine)

    @st.composite
    def plays(draw: st.DrawFn) -> _Play:
        try:
            return _play(machine, DrawnChooser(draw, max_scale), max_steps, meter)
        except MemoryError:
            # An Exception to Hypothesis, which would shrink it as a failing example.
            raise _OutOfMemory from None

    return plays()


def _switches(picks: Sequence[object]) -> tuple[int, ...]:
    """The steps (from 1) at which the thread changes."""
    return tuple(i + 1 for i in range(1, len(picks)) if picks[i] != picks[i - 1])


def rank(result: RunResult) -> tuple[int, int, tuple[int, ...]]:
    """How refsim ranks failing schedules, smallest best: fewest preemptions, then fewest
    steps, then the earliest switches (compared step by step)."""
    picks = list(result.schedule)
    return (result.preemptions, result.steps, _switches(picks))


def _rank(play: _Play) -> tuple[int, int, tuple[int, ...], tuple[int, ...]]:
    # The picks break the last ties, so the order is total and the post-pass deterministic.
    return (play.preemptions, len(play.picks), _switches(play.picks), play.picks)


# -- the post-pass ---------------------------------------------------------------------------


def _events(machine: Machine, picks: Sequence[int]) -> dict[int, int]:
    """The events that make the default policy replay ``picks``: one per step where the
    pick differs from what the policy would do."""
    state = machine.initial()
    events: dict[int, int] = {}
    last = -1
    for number, chosen in enumerate(picks, start=1):
        enabled = machine.enabled(state)
        default = last if last in enabled else enabled[0]
        if chosen != default:
            events[number] = chosen
        state, _, _ = machine.step(state, chosen)
        last = chosen
    return events


def _moves(events: dict[int, int], total: int) -> Iterator[dict[int, int]]:
    """Small changes to ``events``, most promising first: delete a switch; move one to
    another step (earliest first); switch to a lower-numbered thread; delete one switch
    and move another; delete two."""
    steps = sorted(events)

    def without(*gone: int) -> dict[int, int]:
        return {s: t for s, t in events.items() if s not in gone}

    def moved(rest: dict[int, int], at: int) -> Iterator[dict[int, int]]:
        # Anywhere between its neighbours, earliest first.
        before = max((s for s in rest if s < at), default=0)
        after = min((s for s in rest if s > at), default=total + 1)
        for step in range(before + 1, after):
            if step != at:
                yield {**rest, step: events[at]}

    for at in steps:
        yield without(at)
    for at in steps:
        yield from moved(without(at), at)
    for at in steps:
        for thread in range(events[at]):
            yield {**without(at), at: thread}
    for gone in steps:
        for at in steps:
            if at != gone:
                yield from moved(without(gone, at), at)
    for i, first in enumerate(steps):
        for second in steps[i + 1 :]:
            yield without(first, second)


def _polish(
    machine: Machine,
    play: _Play,
    keep: Callable[[_Play], bool],
    max_steps: int,
    meter: Meter | None = None,
) -> tuple[_Play, int, Limit | None]:
    """Improve ``play`` by :func:`rank` with small changes that still satisfy ``keep``;
    return the best, the number of runs spent, and the budget if the ``meter`` ran out."""
    best = play
    runs = spent = 0
    improved = True
    try:
        while improved and spent < POLISH_BUDGET:
            improved = False
            events = _events(machine, best.picks)
            for candidate in _moves(events, len(best.picks)):
                if spent >= POLISH_BUDGET:
                    break
                runs += 1
                _look(meter, TRIED)
                tried = _play(machine, EventChooser(candidate), max_steps, meter)
                spent += len(tried.picks)
                if tried.finished and keep(tried) and _rank(tried) < _rank(best):
                    best = tried
                    improved = True
                    break
    except _Stop as stop:
        return best, runs, stop.spent.limit
    return best, runs, None


def _fewest(
    machine: Machine,
    keep: Callable[[_Play], bool],
    bound: int,
    budget: int,
    max_steps: int,
    meter: Meter | None = None,
) -> tuple[_Play | None, bool, Limit | None]:
    """The best run by :func:`rank` among all with at most ``bound`` preemptions that
    satisfy ``keep``, by depth-first search; with whether the search completed within
    ``budget`` micro-steps, and the budget if the ``meter`` ran out first.

    Bounding preemptions keeps this small (a few thousand runs for the bundled
    scenarios): it is how the post-pass turns "locally minimal" into "minimal".
    """
    best: _Play | None = None
    picks: list[int] = []
    found: list[Anomaly] = []
    # Each item: the state before the step, the thread to run, the preemptions so far
    # (this step's included), and how long `picks` and `found` were then.
    start = machine.initial()
    stack = [(start, t, 0, 0, 0) for t in reversed(machine.enabled(start))]
    spent = 0
    while stack:
        state, thread, pre, depth, seen = stack.pop()
        if best is not None and pre > best.preemptions:
            continue
        spent += 1
        if spent > budget:
            return best, False, None
        if meter is not None and not spent % CHECK_EVERY:
            try:
                _look(meter)
            except _Stop as stop:
                return best, False, stop.spent.limit
        del picks[depth:], found[seen:]
        state, _, anomalies = machine.step(state, thread)
        picks.append(thread)
        found.extend(anomalies)
        enabled = machine.enabled(state)
        if not enabled:
            play = _Play(tuple(picks), tuple(found) + machine.conclude(state), pre, True)
            if keep(play) and (best is None or _rank(play) < _rank(best)):
                best = play
            continue
        if depth + 1 >= max_steps:
            continue
        # Pushed so that continuing with the same thread (no preemption) is tried first.
        for t in reversed(enabled):
            if t != thread:
                cost = pre + (thread in enabled)
                if cost <= bound:
                    stack.append((state, t, cost, depth + 1, len(found)))
        if thread in enabled:
            stack.append((state, thread, pre, depth + 1, len(found)))
    return best, True, None


# -- the search ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchReport:
    """What a search did and found."""

    scenario: str
    runtime: Runtime
    want: AnomalyKind | None
    """The anomaly kind searched for; ``None``: any anomaly."""
    seed: int
    max_examples: int
    run: RunResult | None
    """The minimal failing run (trace included), or ``None`` if no example reached it."""
    examples: int
    """Examples generated up to and including the first that reached the anomaly (all of
    them if none did)."""
    shrink_runs: int
    """Runs spent shrinking: Hypothesis's shrinker, then refsim's post-pass."""
    minimal: bool
    """True when the found run is proven the best by :func:`rank`: the post-pass searched
    every schedule with as few preemptions, within its budget."""
    cut: int = 0
    """Examples stopped by ``max_steps`` before the run ended (they cannot count)."""
    stopped: Limit | None = None
    """The budget (time or memory) that cut the search short: before ``max_examples``
    examples when nothing was found, or while shrinking (then ``minimal`` is False)."""

    @property
    def found(self) -> bool:
        return self.run is not None


class _Found(Exception):
    """Raised inside the Hypothesis test when a run reaches the anomaly (Hypothesis then
    shrinks the example). Always raised from the same line, so Hypothesis sees one bug."""


def _wanted(want: AnomalyKind | None) -> Callable[[tuple[Anomaly, ...]], bool]:
    if want is None:
        return lambda anomalies: bool(anomalies)
    return lambda anomalies: any(a.kind is want for a in anomalies)


def search_report(
    scenario: Scenario,
    *,
    want: AnomalyKind | None = None,
    runtime: Runtime | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int = 0,
    max_steps: int = DEFAULT_MAX_STEPS,
    meter: Meter | None = None,
) -> SearchReport:
    """Search for a schedule of ``scenario`` that reaches ``want`` (any anomaly if ``None``),
    shrink it, and say how it went.

    ``meter``, if given, counts the examples and bounds the time and memory: when it runs
    out the search stops there and reports what it has (``stopped`` says which budget):
    no run, or the failing run found, shrunk as far as it got.

    Deterministic: the same arguments give the same report, and nothing is written
    anywhere (no example database). Must not be called inside a Hypothesis test (nested
    searches are quadratic; use :func:`schedules` there).
    """
    if max_examples < 1:
        raise ValueError(f"max_examples must be at least 1, not {max_examples}")
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings, target
    from hypothesis import seed as hypothesis_seed
    from hypothesis.reporting import with_reporter

    machine = Machine(scenario, runtime)
    reaches = _wanted(want)
    examples = cut = 0
    first: int | None = None
    last_failing: list[_Play] = []

    def one_run(play: _Play) -> None:
        nonlocal examples, first, cut
        examples += 1
        cut += not play.finished
        _look(meter, TRIED)
        # Steer towards runs that go more wrong: anomalies pile up (a lost update, then a
        # premature free, then accesses to freed memory) on the way to the rarer ones.
        target(float(sum(_WEIGHT[a.kind] for a in play.anomalies)), label="anomalies")
        if play.finished and reaches(play.anomalies):
            if first is None:
                first = examples
            last_failing.append(play)
            raise _Found

    config = settings(
        max_examples=max_examples,
        database=None,  # nothing written into the user's folder; seeded runs repeat anyway
        derandomize=False,  # the seed below decides; a derandomize profile must not
        deadline=None,  # runs are simulated: their wall-clock time means nothing
        # The health checks judge the test function, which is refsim's here: nothing in
        # them would be actionable by the user, so they only make noise.
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.target, Phase.shrink),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
        backend="hypothesis",
    )
    test = hypothesis_seed(seed)(config(given(_plays(machine, max_steps, meter))(one_run)))
    stopped: Limit | None = None
    # The shrunk example is re-raised at the end; Hypothesis's report of it is silenced.
    with with_reporter(lambda _message: None), contextlib.suppress(_Found):
        try:
            test()
        except _Stop as stop:
            stopped = stop.spent.limit
        except _OutOfMemory:
            raise MemoryError from None
    if not last_failing:
        return SearchReport(
            scenario=scenario.name, runtime=machine.runtime, want=want, seed=seed,
            max_examples=max_examples, run=None, examples=examples, shrink_runs=0,
            minimal=False, cut=cut, stopped=stopped,
        )  # fmt: skip
    assert first is not None
    # Hypothesis replays the shrunk example last, so the last failing run is the minimal one
    # (or, if the budget ran out while it shrank, the smallest it had found).
    keep: Callable[[_Play], bool] = lambda p: reaches(p.anomalies)  # noqa: E731
    best, polish_runs, complete = last_failing[-1], 0, False
    if stopped is None:
        best, polish_runs, stopped = _polish(machine, best, keep, max_steps, meter)
    if stopped is None:
        optimum, complete, stopped = _fewest(
            machine, keep, best.preemptions, EXHAUST_BUDGET, max_steps, meter
        )
        if optimum is not None and _rank(optimum) < _rank(best):
            best = optimum
    names = machine.thread_names
    schedule = Schedule.from_steps(names[t] for t in best.picks)
    result = engine_run(scenario, runtime=machine.runtime, schedule=schedule, max_steps=max_steps)
    assert reaches(result.anomalies), "the engine replays the search's schedule identically"
    return SearchReport(
        scenario=scenario.name, runtime=machine.runtime, want=want, seed=seed,
        max_examples=max_examples, run=result, examples=first,
        shrink_runs=examples - first + polish_runs, minimal=complete, cut=cut, stopped=stopped,
    )  # fmt: skip


def search(
    scenario: Scenario,
    *,
    want: AnomalyKind | None = None,
    runtime: Runtime | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int = 0,
) -> RunResult | None:
    """The minimal run of ``scenario`` that reaches ``want`` (any anomaly if ``None``), or
    ``None`` if the search found none within ``max_examples`` examples.

    "Minimal" means fewest preemptions, then fewest steps, then earliest switches. The
    result includes its trace; ``refsim.run(scenario, schedule=result.schedule)`` replays
    it. Deterministic: the same ``seed`` gives the same run.
    """
    report = search_report(
        scenario, want=want, runtime=runtime, max_examples=max_examples, seed=seed
    )
    return report.run


def schedules(
    scenario: Scenario, runtime: Runtime | None = None, *, max_steps: int = DEFAULT_MAX_STEPS
) -> st.SearchStrategy[Schedule]:
    """A Hypothesis strategy for complete schedules (interleavings) of ``scenario``.

    Every schedule drawn is valid and complete: ``refsim.run(scenario, schedule=s)`` runs
    it to the end. It shrinks towards the fewest preemptions, as :func:`search` does.
    """
    machine = Machine(scenario, runtime)
    names = machine.thread_names
    return _plays(machine, max_steps).map(
        lambda play: Schedule.from_steps(names[t] for t in play.picks)
    )

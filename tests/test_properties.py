"""Property tests (Hypothesis) for the invariants of controlled runs, over small random
scenarios from ``tests/strategies.py``."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given

from refsim.engine import run
from refsim.machine import Machine
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule
from refsim.scheduling import Chooser, RandomChooser
from refsim.trace import Anomaly, FinalValue, TraceEvent
from tests.strategies import scenarios, schedules, seeds, well_formed_scenarios


def direct_run(
    scenario: Scenario, chooser: Chooser
) -> tuple[
    Schedule, tuple[TraceEvent, ...], tuple[Anomaly, ...], tuple[tuple[str, FinalValue], ...]
]:
    """The simplest possible driver: a loop over ``Machine.step``, no SimPy."""
    machine = Machine(scenario)
    state = machine.initial()
    trace: list[TraceEvent] = []
    anomalies: list[Anomaly] = []
    picks: list[int] = []
    last = -1
    while enabled := machine.enabled(state):
        chosen = chooser.choose(len(picks) + 1, enabled, last)
        assert chosen in enabled
        state, event, found = machine.step(state, chosen, len(picks))
        trace.append(event)
        anomalies.extend(found)
        picks.append(chosen)
        last = chosen
    anomalies.extend(machine.conclude(state))
    schedule = Schedule.from_steps(machine.thread_names[t] for t in picks)
    return schedule, tuple(trace), tuple(anomalies), machine.final(state)


class Checked:
    """Wraps a chooser and fails if it ever returns a thread that is not enabled."""

    def __init__(self, inner: Chooser) -> None:
        self.inner = inner
        self.calls = 0

    def choose(self, step: int, enabled: tuple[int, ...], last: int) -> int:
        self.calls += 1
        chosen = self.inner.choose(step, enabled, last)
        assert chosen in enabled, (step, enabled, chosen)
        return chosen


@given(scenarios(), seeds)
def test_a_seed_determines_the_whole_result(scenario: Scenario, seed: int) -> None:
    assert run(scenario, seed=seed) == run(scenario, seed=seed)


@given(scenarios(), seeds)
def test_replaying_a_runs_schedule_reproduces_it_exactly(scenario: Scenario, seed: int) -> None:
    first = run(scenario, seed=seed)
    again = run(scenario, schedule=first.schedule)
    assert first == again
    assert again.completed_from is None


@given(scenarios(), seeds)
def test_the_printed_schedule_replays_too(scenario: Scenario, seed: int) -> None:
    first = run(scenario, seed=seed)
    text = str(first.schedule)
    assert first.schedule == Schedule.parse(text)
    assert first.trace == run(scenario, schedule=Schedule.parse(text)).trace


@given(scenarios(), seeds)
def test_the_engine_and_a_bare_loop_over_the_machine_agree(scenario: Scenario, seed: int) -> None:
    result = run(scenario, seed=seed)
    schedule, trace, anomalies, final = direct_run(scenario, RandomChooser(seed))
    assert (schedule, trace, anomalies, final) == (
        result.schedule,
        result.trace,
        result.anomalies,
        result.final,
    )


@given(scenarios(), seeds)
def test_the_random_chooser_only_picks_enabled_threads(scenario: Scenario, seed: int) -> None:
    chooser = Checked(RandomChooser(seed))
    result = run(scenario, chooser=chooser)
    assert run(scenario, seed=seed) == result
    assert result.steps == chooser.calls


@given(scenarios(variables=False, runtimes=(Runtime.GIL, Runtime.ATOMIC)), seeds)
def test_gil_and_atomic_never_lose_a_refcount_update(scenario: Scenario, seed: int) -> None:
    result = run(scenario, seed=seed)
    assert AnomalyKind.LOST_UPDATE not in result.anomaly_kinds


@given(well_formed_scenarios(), seeds)
def test_true_refs_never_go_negative_in_well_formed_programs(scenario: Scenario, seed: int) -> None:
    result = run(scenario, seed=seed)
    assert result.trace is not None
    assert all(e.true_refs is None or e.true_refs >= 0 for e in result.trace)
    assert all(n >= 0 for _, n in result.true_refs)


@given(scenarios(runtimes=(Runtime.GIL, Runtime.ATOMIC)), seeds)
def test_under_gil_and_atomic_the_refcount_always_equals_the_true_refs(
    scenario: Scenario, seed: int
) -> None:
    # Refcount updates cannot interleave there, so the racy word and the shadow count move
    # together, even on freed objects and in programs that drop references they never had.
    result = run(scenario, seed=seed)
    assert result.trace is not None
    objects = {name for name, _ in scenario.objects}
    for e in result.trace:
        if e.subject in objects and e.micro in ("STORE", "RMW"):
            assert e.value == e.true_refs, e
    final = dict(result.final)
    for name, true in result.true_refs:
        assert final[name] in ("freed", true), name


@given(scenarios(), seeds)
def test_steps_schedule_and_trace_have_the_same_length(scenario: Scenario, seed: int) -> None:
    result = run(scenario, seed=seed)
    assert result.trace is not None
    assert result.steps == len(result.schedule) == len(result.trace)
    assert [e.thread for e in result.trace] == list(result.schedule)
    assert [e.step - 1 for e in result.trace] == [e.time for e in result.trace]


@given(scenarios(), seeds)
def test_keeping_the_trace_changes_nothing_else(scenario: Scenario, seed: int) -> None:
    kept = run(scenario, seed=seed)
    assert replace(kept, trace=None) == run(scenario, seed=seed, keep_trace=False)


@given(scenarios(), seeds)
def test_preemptions_are_a_subset_of_switches(scenario: Scenario, seed: int) -> None:
    result = run(scenario, seed=seed)
    assert 0 <= result.preemptions <= result.schedule.switches


@given(schedules())
def test_every_schedule_prints_text_that_parses_back(schedule: Schedule) -> None:
    assert schedule == Schedule.parse(str(schedule))


@given(scenarios(), seeds)
def test_is_enabled_agrees_with_the_enabled_threads(scenario: Scenario, seed: int) -> None:
    """Machine.is_enabled answers in constant time what `t in enabled(state)` answers by
    scanning: they agree at every step of a random run, for every thread."""
    machine = Machine(scenario)
    state = machine.initial()
    chooser = RandomChooser(seed)
    for n in range(200):
        enabled = machine.enabled(state)
        assert [t in enabled for t in range(len(machine.programs))] == [
            machine.is_enabled(state, t) for t in range(len(machine.programs))
        ]
        if not enabled:
            break
        state = machine.step(state, chooser.choose(n + 1, enabled, -1))[0]

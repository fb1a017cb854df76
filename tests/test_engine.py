"""Tests for refsim.engine.run in controlled mode: replay, schedule errors, preemptions,
trace keeping, the step budget, logical time and pluggable choosers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from refsim.engine import run
from refsim.errors import RefsimError, ScheduleError
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, Schedule, ThreadSpec
from refsim.trace import Anomaly, Outcome, RunResult, TraceEvent

A = AnomalyKind
UNSAFE, GIL, ATOMIC = Runtime.UNSAFE, Runtime.GIL, Runtime.ATOMIC


def scenario(name: str, *programs: tuple[Op, ...], **fields: object) -> Scenario:
    threads = tuple(ThreadSpec(f"T{i + 1}", ops) for i, ops in enumerate(programs))
    return Scenario(name=name, threads=threads, **fields)  # type: ignore[arg-type]


DECREF = Op(OpKind.DECREF, "obj")
INCREF = Op(OpKind.INCREF, "obj")
ADD = Op(OpKind.ADD, "counter", 1)
ACQ_L, REL_L = Op(OpKind.ACQUIRE, "L"), Op(OpKind.RELEASE, "L")

LEAK = scenario("leak", (DECREF,), (DECREF,), objects=(("obj", 2),))
COUNTER = scenario("counter", (ADD,), (ADD,), variables=(("counter", 0),))
COUNTER_LOCKED = scenario(
    "counter_locked",
    (ACQ_L, ADD, REL_L),
    (ACQ_L, ADD, REL_L),
    variables=(("counter", 0),),
    locks=("L",),
)
DEADLOCK = scenario(
    "deadlock",
    (
        Op(OpKind.ACQUIRE, "A"),
        Op(OpKind.ACQUIRE, "B"),
        Op(OpKind.RELEASE, "B"),
        Op(OpKind.RELEASE, "A"),
    ),
    (
        Op(OpKind.ACQUIRE, "B"),
        Op(OpKind.ACQUIRE, "A"),
        Op(OpKind.RELEASE, "A"),
        Op(OpKind.RELEASE, "B"),
    ),
    locks=("A", "B"),
)


# -- replay ---------------------------------------------------------------------------------


def test_replaying_the_leak_schedule_gives_exactly_this_result() -> None:
    result = run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2"))
    E = TraceEvent
    expected = RunResult(
        scenario="leak",
        runtime=UNSAFE,
        schedule=Schedule.parse("T1 T2*3 T1*2"),
        anomalies=(
            Anomaly(
                A.LOST_UPDATE,
                "obj",
                6,
                ("T1", "T2"),
                "T1 stored 1 over T2's store of 1: T2's decref is lost",
            ),
            Anomaly(
                A.LEAK,
                "obj",
                None,
                (),
                "obj is never freed: its refcount is 1 but no reference to it remains "
                "(true refs 0): a leak",
            ),
        ),
        final=(("obj", 1),),
        true_refs=(("obj", 0),),
        trace=(
            E(1, 0, "T1", "decref obj", "LOAD", "obj", 2, 2, 2, 0, True),
            E(2, 1, "T2", "decref obj", "LOAD", "obj", 2, 2, 2, 0, True),
            E(3, 2, "T2", "decref obj", "SUB", "obj", 1, 2, 2, 0, False),
            E(4, 3, "T2", "decref obj", "STORE", "obj", 1, 1, 1, 0, False),
            E(5, 4, "T1", "decref obj", "SUB", "obj", 1, 1, 1, 0, False),
            E(6, 5, "T1", "decref obj", "STORE", "obj", 1, 1, 0, 0, False),
        ),
        steps=6,
        preemptions=1,
        finished=True,
        completed_from=None,
    )
    # MODEL.md does not define the end time of a controlled run; everything else is exact.
    assert expected == result


def test_the_serial_run_frees_the_object_in_7_steps() -> None:
    result = run(LEAK, schedule=Schedule.parse("T1*3 T2*4"))
    assert ((), (("obj", "freed"),), (("obj", 0),), 7, 0) == (
        result.anomalies,
        result.final,
        result.true_refs,
        result.steps,
        result.preemptions,
    )
    assert Outcome((), (("obj", "freed"),)) == result.outcome
    assert "no anomaly · obj freed" == str(result.outcome)


def test_outcome_of_the_leak() -> None:
    result = run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2"))
    assert Outcome((A.LEAK, A.LOST_UPDATE), (("obj", 1),)) == result.outcome
    assert frozenset({A.LEAK, A.LOST_UPDATE}) == result.anomaly_kinds
    assert "leak, lost-update · obj = 1" == str(result.outcome)


def test_the_runtime_argument_overrides_the_scenarios() -> None:
    assert UNSAFE == run(LEAK).runtime
    result = run(LEAK, runtime=ATOMIC, schedule=Schedule.parse("T1 T2*2"))
    assert (ATOMIC, ("RMW", "RMW", "DEALLOC")) == (
        result.runtime,
        tuple(e.micro for e in result.trace or ()),
    )
    assert GIL == run(LEAK.with_runtime(GIL)).runtime


def test_a_deadlocked_run_finishes_with_a_deadlock() -> None:
    result = run(DEADLOCK, schedule=Schedule.parse("T1 T2"))
    assert [A.DEADLOCK] == [a.kind for a in result.anomalies]
    assert (True, 2) == (result.finished, result.steps)


def test_a_scenario_with_nothing_to_run() -> None:
    result = run(scenario("empty", (), ()))
    assert (True, 0, "", (), ()) == (
        result.finished,
        result.steps,
        str(result.schedule),
        result.trace,
        result.anomalies,
    )


# -- schedule errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sc", "runtime", "schedule", "step", "message"),
    [
        pytest.param(LEAK, UNSAFE, "T1*4 T2*3", 4, "T1 cannot run: it has finished", id="finished"),
        pytest.param(
            COUNTER_LOCKED,
            UNSAFE,
            "T1 T2",
            2,
            "T2 cannot run: it is waiting for lock L, which T1 holds",
            id="waiting-for-a-lock",
        ),
        pytest.param(
            LEAK,
            GIL,
            "T1 T2",
            2,
            "T2 cannot run: T1 is inside a bytecode (decref obj) and holds the GIL until it ends",
            id="gil-held-inside-a-bytecode",
        ),
        pytest.param(
            LEAK,
            UNSAFE,
            "T1*3 T2*4 T1",
            8,
            "the schedule has 8 steps but the run ends after 7: every thread has finished or "
            "is blocked",
            id="longer-than-the-run",
        ),
        pytest.param(
            DEADLOCK,
            UNSAFE,
            "T1 T2 T1",
            3,
            "the schedule has 3 steps but the run ends after 2: every thread has finished or "
            "is blocked",
            id="longer-than-a-deadlocked-run",
        ),
    ],
)
def test_a_schedule_naming_a_thread_that_cannot_run_is_an_error(
    sc: Scenario, runtime: Runtime, schedule: str, step: int, message: str
) -> None:
    with pytest.raises(ScheduleError) as info:
        run(sc, runtime=runtime, schedule=Schedule.parse(schedule))
    assert (step, message) == (info.value.step, info.value.message)
    assert f"step {step}: {message}" == str(info.value)
    assert isinstance(info.value, RefsimError)


def test_under_unsafe_a_switch_inside_a_bytecode_is_allowed() -> None:
    result = run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2"))
    assert "T1 T2*3 T1*2" == str(result.schedule)


# -- preemptions ----------------------------------------------------------------------------

BLOCKS = scenario(
    "blocks",
    (Op(OpKind.COMPUTE, None, 1), ACQ_L, REL_L),
    (ACQ_L, Op(OpKind.COMPUTE, None, 1), REL_L),
    locks=("L",),
)


@pytest.mark.parametrize(
    ("sc", "runtime", "schedule", "preemptions"),
    [
        # T1 -> T2 while T1 could go on: 1; T2 -> T1 after T2 finished: not one.
        (LEAK, UNSAFE, "T1 T2*3 T1*2", 1),
        (LEAK, UNSAFE, "T1*3 T2*4", 0),
        (LEAK, UNSAFE, "T2*3 T1*4", 0),
        # Three switches away from a thread that could continue, then one after T2 finished.
        (LEAK, UNSAFE, "T1 T2 T1 T2*2 T1", 3),
        (COUNTER, GIL, "T1 T2*3 T1*2", 1),
        (COUNTER, GIL, "T1 T2 T1 T2 T1 T2", 4),
        # T2 takes L, T1 computes (a preemption of T2), then T1 blocks on L: switching
        # back to T2 is not a preemption, nor is switching to T1 once T2 has finished.
        (BLOCKS, UNSAFE, "T2 T1 T2*2 T1*2", 1),
        (BLOCKS, GIL, "T2 T1 T2*2 T1*2", 1),
    ],
)
def test_preemptions_count_only_switches_away_from_a_thread_that_could_continue(
    sc: Scenario, runtime: Runtime, schedule: str, preemptions: int
) -> None:
    result = run(sc, runtime=runtime, schedule=Schedule.parse(schedule))
    assert (schedule, preemptions) == (str(result.schedule), result.preemptions)


# -- keep_trace, max_steps, time --------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        {"seed": 3},
        {"seed": 12345},
        {"schedule": Schedule.parse("T1 T2*3 T1*2")},
        {"schedule": Schedule(())},
    ],
)
def test_keep_trace_false_drops_the_trace_and_nothing_else(how: dict[str, object]) -> None:
    kept = run(LEAK, **how)  # type: ignore[arg-type]
    dropped = run(LEAK, keep_trace=False, **how)  # type: ignore[arg-type]
    assert kept.trace is not None
    assert dropped.trace is None
    assert replace(kept, trace=None) == dropped


def test_the_step_budget_stops_the_run_unfinished_and_judges_nothing() -> None:
    result = run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2"), max_steps=4)
    assert (False, 4, "T1 T2*3", 4) == (
        result.finished,
        result.steps,
        str(result.schedule),
        len(result.trace or ()),
    )
    assert () == result.anomalies  # no leak judged for a run that did not end
    assert (("obj", 1),) == result.final


def test_a_budget_of_exactly_the_run_length_finishes() -> None:
    result = run(LEAK, schedule=Schedule.parse("T1*3 T2*4"), max_steps=7)
    assert (True, 7) == (result.finished, result.steps)


def test_a_budget_of_0_runs_nothing() -> None:
    result = run(LEAK, max_steps=0)
    assert (False, 0, (), "") == (result.finished, result.steps, result.trace, str(result.schedule))


def test_the_step_budget_caps_a_huge_compute() -> None:
    sc = scenario("spin", (Op(OpKind.COMPUTE, None, 10**12),))
    result = run(sc, max_steps=1000, keep_trace=False)
    assert (False, 1000, "T1*1000") == (result.finished, result.steps, str(result.schedule))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trace_time_is_the_logical_tick_step_minus_1(seed: int) -> None:
    result = run(COUNTER_LOCKED, seed=seed)
    assert result.trace is not None
    assert list(range(1, result.steps + 1)) == [e.step for e in result.trace]
    assert [e.step - 1 for e in result.trace] == [e.time for e in result.trace]


# -- choosers ----------------------------------------------------------------------------------


class LastEnabled:
    """A fake chooser: always the highest-numbered enabled thread; records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, tuple[int, ...], int]] = []

    def choose(self, step: int, enabled: tuple[int, ...], last: int) -> int:
        self.calls.append((step, enabled, last))
        return enabled[-1]


class Always:
    """A fake chooser that ignores what is enabled."""

    def __init__(self, thread: int) -> None:
        self.thread = thread

    def choose(self, step: int, enabled: tuple[int, ...], last: int) -> int:
        return self.thread


def test_a_custom_chooser_drives_the_engine() -> None:
    chooser = LastEnabled()
    result = run(LEAK, chooser=chooser, schedule=Schedule.parse("T1*3 T2*4"), seed=9)
    assert "T2*3 T1*4" == str(result.schedule)
    expected_calls = [
        (1, (0, 1), -1),
        (2, (0, 1), 1),
        (3, (0, 1), 1),
        (4, (0,), 1),
        (5, (0,), 0),
        (6, (0,), 0),
        (7, (0,), 0),
    ]
    assert expected_calls == chooser.calls
    assert ((), 0, None) == (result.anomalies, result.preemptions, result.completed_from)


def test_a_chooser_is_asked_with_the_threads_the_runtime_enables() -> None:
    chooser = LastEnabled()
    run(LEAK, runtime=GIL, chooser=chooser)
    # Under the GIL, T2 runs its whole decref before anyone else is offered a turn.
    assert [(0, 1), (1,), (1,), (0,), (0,), (0,), (0,)] == [c[1] for c in chooser.calls]


def test_a_chooser_picking_a_finished_thread_is_a_schedule_error() -> None:
    with pytest.raises(ScheduleError) as info:
        run(LEAK, chooser=Always(0))
    assert (4, "T1 cannot run: it has finished") == (info.value.step, info.value.message)


def test_a_chooser_picking_a_thread_inside_no_bytecode_under_gil_is_a_schedule_error() -> None:
    class Alternate:
        def choose(self, step: int, enabled: tuple[int, ...], last: int) -> int:
            return (step - 1) % 2

    with pytest.raises(ScheduleError, match=r"^step 2: T2 cannot run: T1 is inside a bytecode"):
        run(LEAK, runtime=GIL, chooser=Alternate())


@pytest.mark.parametrize("thread", [2, 7, -5])
def test_a_chooser_picking_no_thread_at_all_is_a_schedule_error(thread: int) -> None:
    with pytest.raises(ScheduleError) as info:
        run(LEAK, chooser=Always(thread))
    assert (1, f"the chooser picked thread #{thread}") == (info.value.step, info.value.message)


def test_without_chooser_or_schedule_the_run_is_seeded_random() -> None:
    assert run(LEAK) == run(LEAK, seed=0)
    schedules = {str(run(COUNTER, seed=s).schedule) for s in range(20)}
    assert 1 < len(schedules)

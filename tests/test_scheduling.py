"""Unit tests for refsim.scheduling: the choosers (seeded random, replay, non-preemptive,
round-robin with a quantum)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refsim.engine import run
from refsim.errors import ScheduleError
from refsim.model import Op, OpKind, Runtime, Scenario, Schedule, ThreadSpec
from refsim.scheduling import (
    Chooser,
    NonPreemptiveChooser,
    QuantumChooser,
    RandomChooser,
    ReplayChooser,
)
from tests.strategies import seeds

LEAK = Scenario(
    name="leak",
    objects=(("obj", 2),),
    threads=(
        ThreadSpec("T1", (Op(OpKind.DECREF, "obj"),)),
        ThreadSpec("T2", (Op(OpKind.DECREF, "obj"),)),
    ),
)

enabled_sets = st.lists(st.integers(0, 7), min_size=1, max_size=8, unique=True).map(
    lambda xs: tuple(sorted(xs))
)


def picks(chooser: Chooser, calls: list[tuple[int, ...]]) -> list[int]:
    """Ask ``chooser`` once per entry of ``calls`` (the enabled threads at that step)."""
    out: list[int] = []
    last = -1
    for step, enabled in enumerate(calls, start=1):
        last = chooser.choose(step, enabled, last)
        out.append(last)
    return out


# -- RandomChooser -------------------------------------------------------------------------


@given(seeds, st.lists(enabled_sets, min_size=1, max_size=40))
def test_random_chooser_is_deterministic_per_seed(seed: int, calls: list[tuple[int, ...]]) -> None:
    assert picks(RandomChooser(seed), calls) == picks(RandomChooser(seed), calls)


@given(seeds, st.lists(enabled_sets, min_size=1, max_size=40))
def test_random_chooser_only_returns_an_enabled_thread(
    seed: int, calls: list[tuple[int, ...]]
) -> None:
    for enabled, chosen in zip(calls, picks(RandomChooser(seed), calls), strict=True):
        assert chosen in enabled


def test_random_choosers_with_different_seeds_make_different_choices() -> None:
    calls = [(0, 1, 2)] * 40
    sequences = {tuple(picks(RandomChooser(seed), calls)) for seed in range(5)}
    assert 5 == len(sequences)


def test_random_chooser_is_roughly_fair() -> None:
    chosen = picks(RandomChooser(1), [(0, 1, 2)] * 3000)
    for t in (0, 1, 2):
        assert 900 < chosen.count(t) < 1100, (t, chosen.count(t))


def test_random_chooser_draws_nothing_when_one_thread_is_enabled() -> None:
    # docs/model.md: "when only one thread is enabled it draws nothing", so forced steps
    # do not shift the choices made at the steps that are real choices.
    free = picks(RandomChooser(7), [(0, 1, 2)] * 20)
    interleaved = picks(RandomChooser(7), [(0, 1, 2), (5,)] * 20)
    assert free == interleaved[0::2]
    assert [5] * 20 == interleaved[1::2]


def test_random_chooser_default_seed_is_0() -> None:
    calls = [(0, 1, 2, 3)] * 30
    assert picks(RandomChooser(0), calls) == picks(RandomChooser(), calls)


def test_runs_with_the_same_seed_pick_the_same_schedule() -> None:
    schedules = {str(run(LEAK, seed=seed).schedule) for seed in range(30)}
    assert str(run(LEAK, seed=11).schedule) == str(run(LEAK, seed=11).schedule)
    assert 1 < len(schedules)


# -- ReplayChooser -------------------------------------------------------------------------


def test_replay_chooser_replays_the_schedule() -> None:
    chooser = ReplayChooser(Schedule.parse("T1*2 T2 T3 T1"), ["T1", "T2", "T3"])
    assert [0, 0, 1, 2, 0] == picks(chooser, [(0, 1, 2)] * 5)
    assert chooser.completed_from is None


def test_replay_chooser_continues_without_preemption_when_the_schedule_runs_out() -> None:
    chooser = ReplayChooser(Schedule.parse("T1 T2"), ["T1", "T2", "T3"])
    # Step 3: the last thread (T2) keeps running; step 5: it has finished, so the first
    # enabled thread in file order runs.
    assert [0, 1, 1, 1, 0, 0] == picks(
        chooser, [(0, 1, 2), (0, 1, 2), (0, 1, 2), (0, 1), (0, 2), (0, 2)]
    )
    assert 3 == chooser.completed_from


def test_replay_of_a_short_prefix_completes_the_run_without_preemptions() -> None:
    result = run(LEAK, schedule=Schedule.parse("T1 T2"))
    assert "T1 T2*3 T1*2" == str(result.schedule)
    assert 3 == result.completed_from
    assert 1 == result.preemptions  # only the one the prefix asked for


def test_replay_of_a_complete_schedule_sets_no_completion_point() -> None:
    result = run(LEAK, schedule=Schedule.parse("T1 T2*3 T1*2"))
    assert result.completed_from is None


def test_replay_of_the_empty_schedule_runs_the_threads_one_after_another() -> None:
    result = run(LEAK, schedule=Schedule(()))
    assert ("T1*3 T2*4", 1, 0) == (str(result.schedule), result.completed_from, result.preemptions)


def test_replay_chooser_rejects_an_unknown_thread_with_a_did_you_mean() -> None:
    with pytest.raises(ScheduleError) as info:
        ReplayChooser(Schedule.parse("reader*2 writer reder"), ["reader", "writer"])
    assert 4 == info.value.step
    expected = (
        "the schedule names 'reder', which is not a thread of this scenario "
        "(did you mean reader?); its threads are reader, writer"
    )
    assert expected == info.value.message
    assert f"step 4: {expected}" == str(info.value)


def test_replay_chooser_names_the_threads_when_nothing_is_close() -> None:
    with pytest.raises(ScheduleError) as info:
        ReplayChooser(Schedule.parse("T1 Zed"), ["T1", "T2"])
    expected = (
        "the schedule names 'Zed', which is not a thread of this scenario; its threads are T1, T2"
    )
    assert (2, expected) == (info.value.step, info.value.message)


@pytest.mark.parametrize(("typo", "meant"), [("t1", "T1"), ("t2", "T2"), ("T22", "T2")])
def test_did_you_mean_ignores_case(typo: str, meant: str) -> None:
    with pytest.raises(ScheduleError, match=rf"\(did you mean {meant}\?\)"):
        ReplayChooser(Schedule.parse(typo), ["T1", "T2"])


def test_run_rejects_an_unknown_thread_before_running() -> None:
    with pytest.raises(ScheduleError, match=r"step 1: the schedule names 'T11'.*did you mean T1\?"):
        run(LEAK, schedule=Schedule.parse("T11"))


# -- NonPreemptiveChooser --------------------------------------------------------------------


def test_non_preemptive_chooser_keeps_the_last_thread_while_it_is_enabled() -> None:
    chooser = NonPreemptiveChooser()
    assert 0 == chooser.choose(1, (0, 1), -1)
    assert 1 == chooser.choose(2, (0, 1, 2), 1)
    assert 0 == chooser.choose(3, (0, 2), 1)
    assert 2 == chooser.choose(4, (2,), 0)


def test_non_preemptive_runs_threads_in_file_order_and_never_preempts() -> None:
    result = run(LEAK, chooser=NonPreemptiveChooser())
    assert ("T1*3 T2*4", 0, ()) == (str(result.schedule), result.preemptions, result.anomalies)


def test_non_preemptive_yields_when_the_thread_blocks() -> None:
    sc = Scenario(
        name="blocked",
        locks=("L",),
        threads=(
            ThreadSpec("T1", (Op(OpKind.COMPUTE, None, 1), Op(OpKind.ACQUIRE, "L"))),
            ThreadSpec("T2", (Op(OpKind.ACQUIRE, "L"), Op(OpKind.RELEASE, "L"))),
        ),
    )
    # After the prefix T1 is blocked on L, so the completion runs T2, then T1.
    result = run(sc, schedule=Schedule.parse("T2 T1"))
    assert "T2 T1 T2 T1" == str(result.schedule)
    # T2 -> T1 preempted T2; T1 -> T2 did not preempt T1 (it blocked on L), and
    # T2 -> T1 at the end did not either (T2 had finished).
    assert 1 == result.preemptions


# -- QuantumChooser --------------------------------------------------------------------------


def _threads(*programs: tuple[Op, ...]) -> tuple[ThreadSpec, ...]:
    return tuple(ThreadSpec(f"T{i + 1}", ops) for i, ops in enumerate(programs))


def _compute(n: int) -> tuple[Op, ...]:
    return (Op(OpKind.COMPUTE, None, n),)


COUNTER = Scenario(
    name="counter",
    variables=(("counter", 0),),
    threads=_threads((Op(OpKind.ADD, "counter", 1),), (Op(OpKind.ADD, "counter", 1),)),
)
DEADLOCK = Scenario(
    name="deadlock",
    locks=("A", "B"),
    threads=_threads(
        tuple(Op(k, n) for k, n in [(OpKind.ACQUIRE, "A"), (OpKind.ACQUIRE, "B"),
                                    (OpKind.RELEASE, "B"), (OpKind.RELEASE, "A")]),
        tuple(Op(k, n) for k, n in [(OpKind.ACQUIRE, "B"), (OpKind.ACQUIRE, "A"),
                                    (OpKind.RELEASE, "A"), (OpKind.RELEASE, "B")]),
    ),
)  # fmt: skip


@pytest.mark.parametrize(
    ("scenario", "runtime", "quantum", "expected"),
    [
        # The example: T1 loads and subtracts, T2 the same, then each stores.
        (LEAK, Runtime.UNSAFE, 2, "T1*2 T2*2 T1 T2"),
        (LEAK, Runtime.UNSAFE, 1, "T1 T2 T1 T2 T1 T2"),
        # Each decref is done within one quantum of 3: no interleaving at all.
        (LEAK, Runtime.UNSAFE, 3, "T1*3 T2*4"),
        # Under the GIL the switch waits for the bytecode's end: T2's decref frees obj.
        (LEAK, Runtime.GIL, 1, "T1*3 T2*4"),
        # `counter += 1` is three bytecodes: the GIL may switch between them.
        (COUNTER, Runtime.GIL, 1, "T1 T2 T1 T2 T1 T2"),
        (COUNTER, Runtime.GIL, 2, "T1*2 T2*2 T1 T2"),
        # T1's quantum ends while T2 waits for B: T1 goes on until T2 can run.
        (DEADLOCK, Runtime.GIL, 2, "T1*3 T2 T1 T2*3"),
        (DEADLOCK, Runtime.GIL, 1, "T1 T2"),
        # Round-robin in declared order; a finished thread is skipped.
        (Scenario("rr", _threads(_compute(3), _compute(3), _compute(3))), Runtime.UNSAFE, 2,
         "T1*2 T2*2 T3*2 T1 T2 T3"),
        (Scenario("rr", _threads(_compute(1), _compute(4), _compute(4))), Runtime.UNSAFE, 2,
         "T1 T2*2 T3*2 T2*2 T3*2"),
    ],
)  # fmt: skip
def test_quantum_schedules_are_the_hand_computed_ones(
    scenario: Scenario, runtime: Runtime, quantum: int, expected: str
) -> None:
    result = run(scenario, runtime=runtime, chooser=QuantumChooser(quantum))
    assert expected == str(result.schedule)


def test_a_move_made_elsewhere_starts_that_threads_turn() -> None:
    chooser = QuantumChooser(2)
    # The chooser picks 0; someone else ran 1 instead; the chooser then gives 1 its turn.
    assert [0, 1, 0] == [
        chooser.choose(1, (0, 1), -1),
        chooser.choose(2, (0, 1), 1),
        chooser.choose(3, (0, 1), 1),
    ]


@given(st.integers(1, 6), seeds)
def test_a_seeded_quantum_is_reproducible_and_each_turn_within_it(quantum: int, seed: int) -> None:
    scenario = Scenario("two", _threads(_compute(30), _compute(30)))
    first = run(scenario, chooser=QuantumChooser(quantum, seed=seed)).schedule
    again = run(scenario, chooser=QuantumChooser(quantum, seed=seed)).schedule
    # Every turn but the last (the thread left alone) lasts 1 to `quantum` micro-steps.
    assert (first, True) == (again, all(1 <= n <= quantum for _, n in first.runs[:-1]))


def test_a_quantum_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        QuantumChooser(0)

"""Unit tests for refsim.machine: the effect of every micro-step (MODEL.md, "Effects of
micro-steps"), who is enabled under each runtime, and the exact interleaving counts MODEL.md
gives, by brute-force enumeration through ``Machine.enabled`` and ``Machine.step``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pytest

from refsim.machine import Machine, State
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, Schedule, ThreadSpec
from refsim.trace import Anomaly, Outcome, TraceEvent

A = AnomalyKind
UNSAFE, GIL, ATOMIC = Runtime.UNSAFE, Runtime.GIL, Runtime.ATOMIC


# -- building scenarios ---------------------------------------------------------------------


def incref(x: str) -> Op:
    return Op(OpKind.INCREF, x)


def decref(x: str) -> Op:
    return Op(OpKind.DECREF, x)


def use(x: str) -> Op:
    return Op(OpKind.USE, x)


def add(v: str, n: int = 1) -> Op:
    return Op(OpKind.ADD, v, n)


def acquire(lock: str) -> Op:
    return Op(OpKind.ACQUIRE, lock)


def release(lock: str) -> Op:
    return Op(OpKind.RELEASE, lock)


def compute(n: int) -> Op:
    return Op(OpKind.COMPUTE, None, n)


def io(ns: int) -> Op:
    return Op(OpKind.IO, None, ns)


def scenario(
    *programs: Iterable[Op],
    objects: tuple[tuple[str, int], ...] = (),
    variables: tuple[tuple[str, int], ...] = (),
    locks: tuple[str, ...] = (),
    runtime: Runtime = UNSAFE,
) -> Scenario:
    """Threads T1, T2, ... running ``programs``."""
    threads = tuple(ThreadSpec(f"T{i + 1}", tuple(ops)) for i, ops in enumerate(programs))
    return Scenario(
        name="test",
        threads=threads,
        objects=objects,
        variables=variables,
        locks=locks,
        runtime=runtime,
    )


def two(op: Op, refcount: int) -> Scenario:
    """Two threads each running ``op`` once on ``obj``."""
    return scenario([op], [op], objects=(("obj", refcount),))


LEAK = two(decref("obj"), 2)
LOST_INCREF = two(incref("obj"), 1)
COUNTER = scenario([add("counter")], [add("counter")], variables=(("counter", 0),))
DEADLOCK = scenario(
    [acquire("A"), acquire("B"), release("B"), release("A")],
    [acquire("B"), acquire("A"), release("A"), release("B")],
    locks=("A", "B"),
)


# -- driving the machine --------------------------------------------------------------------


def drive(
    machine: Machine, schedule: str, state: State | None = None
) -> tuple[State, list[TraceEvent], list[Anomaly]]:
    """Run ``schedule`` step by step, checking that each thread it names is enabled."""
    state = machine.initial() if state is None else state
    events: list[TraceEvent] = []
    anomalies: list[Anomaly] = []
    for name in Schedule.parse(schedule):
        thread = machine.thread_names.index(name)
        assert thread in machine.enabled(state), f"{name} is not enabled at step {state.step + 1}"
        state, event, found = machine.step(state, thread, state.step)
        events.append(event)
        anomalies.extend(found)
    return state, events, anomalies


def run_to_end(machine: Machine, schedule: str) -> tuple[State, list[TraceEvent], list[Anomaly]]:
    """``drive``, then check the run is over and add what ``conclude`` judges."""
    state, events, anomalies = drive(machine, schedule)
    assert () == machine.enabled(state)
    return state, events, anomalies + list(machine.conclude(state))


def interleavings(machine: Machine) -> list[tuple[Schedule, Outcome]]:
    """Every complete schedule, by depth-first search, with the outcome it reaches."""
    results: list[tuple[Schedule, Outcome]] = []
    names = machine.thread_names

    def go(state: State, path: tuple[int, ...], kinds: frozenset[AnomalyKind]) -> None:
        enabled = machine.enabled(state)
        if not enabled:
            kinds |= {a.kind for a in machine.conclude(state)}
            outcome = Outcome(tuple(sorted(kinds, key=lambda k: k.value)), machine.final(state))
            results.append((Schedule.from_steps(names[t] for t in path), outcome))
            return
        for t in enabled:
            new, _, found = machine.step(state, t)
            go(new, (*path, t), kinds | {a.kind for a in found})

    go(machine.initial(), (), frozenset())
    return results


def outcome_counts(machine: Machine) -> Counter[Outcome]:
    found = interleavings(machine)
    assert len(found) == len({schedule for schedule, _ in found}), "interleavings repeat"
    return Counter(outcome for _, outcome in found)


def micro(events: list[TraceEvent]) -> list[tuple[str, str]]:
    return [(e.thread, e.micro) for e in events]


# -- exact counts (MODEL.md) -------------------------------------------------------------


def test_two_increfs_from_1_under_unsafe_have_20_interleavings_18_lose_an_update() -> None:
    found = interleavings(Machine(LOST_INCREF, UNSAFE))
    assert 20 == len(found)
    expected = {
        Outcome((), (("obj", 3),)): 2,
        Outcome((A.LOST_UPDATE,), (("obj", 2),)): 18,
    }
    assert expected == outcome_counts(Machine(LOST_INCREF, UNSAFE))
    correct = {str(s) for s, o in found if not o.anomalies}
    assert {"T1*3 T2*3", "T2*3 T1*3"} == correct


@pytest.mark.parametrize(
    ("runtime", "schedules"),
    [(GIL, {"T1*3 T2*3", "T2*3 T1*3"}), (ATOMIC, {"T1 T2", "T2 T1"})],
)
def test_two_increfs_from_1_under_gil_and_atomic_have_2_correct_interleavings(
    runtime: Runtime, schedules: set[str]
) -> None:
    found = interleavings(Machine(LOST_INCREF, runtime))
    assert schedules == {str(s) for s, _ in found}
    assert {Outcome((), (("obj", 3),)): 2} == outcome_counts(Machine(LOST_INCREF, runtime))


def test_two_decrefs_from_2_under_unsafe_have_20_interleavings_18_leak() -> None:
    found = interleavings(Machine(LEAK, UNSAFE))
    assert 20 == len(found)
    expected = {
        Outcome((), (("obj", "freed"),)): 2,
        Outcome((A.LEAK, A.LOST_UPDATE), (("obj", 1),)): 18,
    }
    assert expected == outcome_counts(Machine(LEAK, UNSAFE))
    assert {"T1*3 T2*4", "T2*3 T1*4"} == {str(s) for s, o in found if not o.anomalies}


@pytest.mark.parametrize(
    ("runtime", "schedules"),
    [(GIL, {"T1*3 T2*4", "T2*3 T1*4"}), (ATOMIC, {"T1 T2*2", "T2 T1*2"})],
)
def test_two_decrefs_from_2_under_gil_and_atomic_free_the_object(
    runtime: Runtime, schedules: set[str]
) -> None:
    found = interleavings(Machine(LEAK, runtime))
    assert schedules == {str(s) for s, _ in found}
    assert {Outcome((), (("obj", "freed"),)): 2} == outcome_counts(Machine(LEAK, runtime))


@pytest.mark.parametrize("runtime", list(Runtime))
def test_counter_plus_equals_races_under_every_runtime_the_gil_included(
    runtime: Runtime,
) -> None:
    # `V += 1` is three bytecodes of one micro-step each, so the GIL does not help.
    expected = {
        Outcome((), (("counter", 2),)): 2,
        Outcome((A.LOST_UPDATE,), (("counter", 1),)): 18,
    }
    assert expected == outcome_counts(Machine(COUNTER, runtime))


@pytest.mark.parametrize("runtime", list(Runtime))
def test_a_lock_around_the_counter_makes_every_interleaving_correct(runtime: Runtime) -> None:
    locked = [acquire("L"), add("counter"), release("L")]
    sc = scenario(locked, locked, variables=(("counter", 0),), locks=("L",))
    # Whoever acquires first runs its 5 micro-steps; the other may not acquire in between.
    assert {Outcome((), (("counter", 2),)): 2} == outcome_counts(Machine(sc, runtime))


@pytest.mark.parametrize("runtime", list(Runtime))
def test_opposite_lock_orders_deadlock_in_some_interleavings(runtime: Runtime) -> None:
    counts = outcome_counts(Machine(DEADLOCK, runtime))
    assert {Outcome((), ()), Outcome((A.DEADLOCK,), ())} == set(counts)
    # The deadlocking interleavings are those where each takes its first lock before the
    # other's first: T1 T2 and T2 T1, then nobody can move.
    deadlocked = {
        str(s) for s, o in interleavings(Machine(DEADLOCK, runtime)) if A.DEADLOCK in o.anomalies
    }
    assert {"T1 T2", "T2 T1"} == deadlocked


BORROWED = scenario(
    [incref("obj"), use("obj"), decref("obj")], [decref("obj")], objects=(("obj", 1),)
)
PREMATURE = scenario(
    [incref("obj"), decref("obj")],
    [incref("obj"), decref("obj"), use("obj")],
    objects=(("obj", 1),),
)
DOUBLE_FREE = scenario(
    [incref("obj"), decref("obj"), decref("obj")],
    [incref("obj"), decref("obj"), decref("obj")],
    objects=(("obj", 2),),
)


def reachable(counts: Counter[Outcome]) -> set[AnomalyKind]:
    return {kind for outcome in counts for kind in outcome.anomalies}


@pytest.mark.parametrize(
    ("sc", "runtime", "total", "kinds"),
    [
        # gil: T2's one bytecode goes in one of 4 places among T1's 3.
        pytest.param(BORROWED, GIL, 4, {A.DOUBLE_FREE, A.USE_AFTER_FREE}, id="borrowed-gil"),
        # atomic: T2's RMW first (5 ways to place the rest), or after T1's incref (3).
        pytest.param(
            BORROWED,
            ATOMIC,
            8,
            {A.DOUBLE_FREE, A.PREMATURE_FREE, A.USE_AFTER_FREE},
            id="borrowed-atomic",
        ),
        pytest.param(BORROWED, UNSAFE, None, set(A) - {A.DEADLOCK}, id="borrowed-unsafe"),
        # C(5, 2) orders of 2 and 3 bytecodes; obj never reaches 0 (the list's reference).
        pytest.param(PREMATURE, GIL, 10, set(), id="premature-gil"),
        pytest.param(PREMATURE, ATOMIC, 10, set(), id="premature-atomic"),
        pytest.param(
            PREMATURE,
            UNSAFE,
            None,
            {A.LOST_UPDATE, A.PREMATURE_FREE, A.USE_AFTER_FREE},
            id="premature-unsafe",
        ),
        # C(6, 3); under atomic the one DEALLOC can only come last.
        pytest.param(DOUBLE_FREE, GIL, 20, set(), id="double-free-gil"),
        pytest.param(DOUBLE_FREE, ATOMIC, 20, set(), id="double-free-atomic"),
        pytest.param(DOUBLE_FREE, UNSAFE, None, set(A) - {A.DEADLOCK}, id="double-free-unsafe"),
    ],
)
def test_which_anomalies_some_interleaving_reaches(
    sc: Scenario, runtime: Runtime, total: int | None, kinds: set[AnomalyKind]
) -> None:
    counts = outcome_counts(Machine(sc, runtime))
    if total is not None:
        assert total == sum(counts.values())
    assert kinds == reachable(counts)


# -- LOAD and STORE -------------------------------------------------------------------------


def test_load_copies_the_word_and_remembers_its_version() -> None:
    m = Machine(LOST_INCREF)
    state, events, _ = drive(m, "T1")
    assert (1, 1, 1) == (events[0].register, events[0].value, events[0].true_refs)
    assert (1, 0) == (state.threads[0].reg, state.threads[0].loaded)
    # T2's store bumps the version; T1 still remembers the version it loaded.
    state, _, _ = drive(m, "T2*3", state)
    assert (1, 0) == (state.versions[0], state.threads[0].loaded)
    # A later load sees the new value and version.
    state, events, _ = drive(m, "T2*3 T1")
    assert (2, 1) == (state.threads[0].reg, state.threads[0].loaded)


def test_add_changes_only_the_register() -> None:
    state, events, _ = drive(Machine(LOST_INCREF), "T1*2")
    assert (2, 1, 1) == (events[1].register, events[1].value, events[1].true_refs)
    assert (1,) == state.values


def test_a_store_after_no_other_store_loses_nothing() -> None:
    state, _, anomalies = drive(Machine(LOST_INCREF), "T1*3 T2*3")
    assert [] == anomalies
    assert ((3,), (3,), (2,)) == (state.values, state.true_refs, state.versions)


def test_leak_schedule_records_a_lost_update_naming_both_threads() -> None:
    state, _, anomalies = drive(Machine(LEAK), "T1 T2*3 T1*2")
    expected = [
        Anomaly(
            A.LOST_UPDATE,
            "obj",
            6,
            ("T1", "T2"),
            "T1 stored 1 over T2's store of 1: T2's decref is lost",
        )
    ]
    assert expected == anomalies
    assert "T1 stored 1 over T2's store of 1: T2's decref is lost" == str(anomalies[0])
    assert ((1,), (0,)) == (state.values, state.true_refs)


def test_the_leak_schedule_trace() -> None:
    _, events, _ = drive(Machine(LEAK), "T1 T2*3 T1*2")
    E = TraceEvent
    expected = [
        E(1, 0, "T1", "decref obj", "LOAD", "obj", 2, 2, 2, 0, True),
        E(2, 1, "T2", "decref obj", "LOAD", "obj", 2, 2, 2, 0, True),
        E(3, 2, "T2", "decref obj", "SUB", "obj", 1, 2, 2, 0, False),
        E(4, 3, "T2", "decref obj", "STORE", "obj", 1, 1, 1, 0, False),
        E(5, 4, "T1", "decref obj", "SUB", "obj", 1, 1, 1, 0, False),
        E(6, 5, "T1", "decref obj", "STORE", "obj", 1, 1, 0, 0, False),
    ]
    assert expected == events


def test_a_store_over_several_stores_records_one_lost_update_counting_them() -> None:
    sc = scenario([incref("obj")], [incref("obj")], [incref("obj")], objects=(("obj", 1),))
    state, _, anomalies = drive(Machine(sc), "T1 T2*3 T3*3 T1*2")
    expected = [
        Anomaly(
            A.LOST_UPDATE,
            "obj",
            9,
            ("T1", "T3"),
            "T1 stored 2 over the 2 stores made since it loaded (the last, T3's, of 3): "
            "their updates are lost, and the refcount is now 2 where 4 references exist",
        )
    ]
    assert expected == anomalies
    assert ((2,), (4,)) == (state.values, state.true_refs)


@pytest.mark.parametrize(("op", "before", "after"), [(incref("obj"), 1, 2), (decref("obj"), 2, 1)])
def test_only_the_store_changes_true_refs_by_one(op: Op, before: int, after: int) -> None:
    sc = scenario([op], objects=(("obj", before),))
    state, events, _ = drive(Machine(sc), "T1*3")
    assert [before, before, after] == [e.true_refs for e in events]
    assert [before, before, after] == [e.value for e in events]
    assert (after,) == state.true_refs


def test_rmw_updates_word_version_and_true_refs_in_one_step() -> None:
    state, events, anomalies = drive(Machine(LOST_INCREF, ATOMIC), "T1 T2")
    assert [] == anomalies
    assert [("T1", "RMW"), ("T2", "RMW")] == micro(events)
    assert [2, 3] == [e.register for e in events]
    assert ((3,), (2,), (3,)) == (state.values, state.versions, state.true_refs)


# -- DEALLOC --------------------------------------------------------------------------------


def test_dealloc_runs_only_after_storing_0_so_the_serial_run_is_7_steps() -> None:
    m = Machine(LEAK)
    state, events, anomalies = run_to_end(m, "T1*3 T2*4")
    assert [] == anomalies
    expected = [
        ("T1", "LOAD"),
        ("T1", "SUB"),
        ("T1", "STORE"),
        ("T2", "LOAD"),
        ("T2", "SUB"),
        ("T2", "STORE"),
        ("T2", "DEALLOC"),
    ]
    assert expected == micro(events)
    assert (("obj", "freed"),) == m.final(state)
    # T1 stored 1, so it skipped its DEALLOC and finished after 3 steps.
    after_t1, _, _ = drive(m, "T1*3")
    assert (1,) == m.enabled(after_t1)
    assert "it has finished" == m.why_not_enabled(after_t1, 0)


def test_atomic_decref_deallocs_only_when_its_rmw_produced_0() -> None:
    m = Machine(LEAK, ATOMIC)
    state, events, anomalies = run_to_end(m, "T1 T2*2")
    assert [] == anomalies
    assert [("T1", "RMW"), ("T2", "RMW"), ("T2", "DEALLOC")] == micro(events)
    assert (True,) == state.freed


def test_dealloc_with_references_left_is_a_premature_free() -> None:
    # T2 drops the only reference while T1 takes one; T1's store is lost, and when T2
    # deallocates, the true count is back above 0.
    sc = scenario([incref("obj"), incref("obj")], [decref("obj")], objects=(("obj", 1),))
    state, _, anomalies = drive(Machine(sc), "T1 T2*3 T1*5 T2")
    assert [(6, A.LOST_UPDATE), (10, A.PREMATURE_FREE)] == [(a.step, a.kind) for a in anomalies]
    expected = Anomaly(
        A.PREMATURE_FREE,
        "obj",
        10,
        ("T2",),
        "T2 freed obj while 2 references to it still exist (true refs 2): a premature free",
    )
    assert expected == anomalies[1]
    assert ((True,), (2,)) == (state.freed, state.true_refs)


def test_premature_free_message_for_one_reference_is_grammatical() -> None:
    sc = scenario([incref("obj")], [decref("obj")], objects=(("obj", 1),), runtime=ATOMIC)
    _, _, anomalies = drive(Machine(sc), "T2 T1 T2")
    assert [A.PREMATURE_FREE] == [a.kind for a in anomalies]
    expected = "T2 freed obj while 1 reference to it still exists (true refs 1): a premature free"
    assert expected == anomalies[0].message


def test_premature_free_of_one_reference_under_atomic() -> None:
    # The incref is atomic, but it lands between T2's decrement to 0 and its DEALLOC.
    sc = scenario([incref("obj")], [decref("obj")], objects=(("obj", 1),), runtime=ATOMIC)
    state, _, anomalies = drive(Machine(sc), "T2 T1 T2")
    assert [(3, A.PREMATURE_FREE, ("T2",))] == [(a.step, a.kind, a.threads) for a in anomalies]
    assert "(true refs 1): a premature free" in anomalies[0].message
    assert ((True,), (1,), (1,)) == (state.freed, state.true_refs, state.values)


def test_two_stores_of_0_free_twice() -> None:
    sc = scenario([decref("obj")], [decref("obj")], objects=(("obj", 1),))
    state, _, anomalies = drive(Machine(sc), "T1 T2 T1 T2 T1 T1 T2 T2")
    expected = [
        Anomaly(
            A.LOST_UPDATE,
            "obj",
            7,
            ("T2", "T1"),
            "T2 stored 0 over T1's store of 0: T1's decref is lost",
        ),
        Anomaly(
            A.USE_AFTER_FREE,
            "obj",
            7,
            ("T2", "T1"),
            "T2 stored into the refcount of obj after T1 freed it at step 6: a use-after-free",
        ),
        Anomaly(
            A.DOUBLE_FREE,
            "obj",
            8,
            ("T2", "T1"),
            "T2 freed obj after T1 freed it at step 6: a double free",
        ),
    ]
    key = lambda a: (a.step, a.kind.value)  # noqa: E731
    assert sorted(expected, key=key) == sorted(anomalies, key=key)
    assert ((True,), (0,), (-1,)) == (state.freed, state.values, state.true_refs)


# -- use-after-free ---------------------------------------------------------------------------


def test_read_of_a_freed_object_is_a_use_after_free() -> None:
    sc = scenario([decref("obj")], [use("obj")], objects=(("obj", 1),))
    _, events, anomalies = run_to_end(Machine(sc), "T1*4 T2")
    expected = [
        Anomaly(
            A.USE_AFTER_FREE,
            "obj",
            5,
            ("T2", "T1"),
            "T2 used obj after T1 freed it at step 4: a use-after-free",
        )
    ]
    assert expected == anomalies
    assert ("READ", None, 0, 0) == (
        events[4].micro,
        events[4].register,
        events[4].value,
        events[4].true_refs,
    )


def test_a_thread_reading_what_it_freed_itself() -> None:
    sc = scenario([decref("obj"), use("obj")], objects=(("obj", 1),))
    _, _, anomalies = run_to_end(Machine(sc), "T1*5")
    assert ["T1 used obj after freeing it at step 4: a use-after-free"] == [
        a.message for a in anomalies
    ]
    assert [("T1", "T1")] == [a.threads for a in anomalies]


def test_load_and_store_of_a_freed_object_are_uses_after_free_and_the_run_continues() -> None:
    sc = scenario([decref("obj")], [incref("obj")], objects=(("obj", 1),))
    m = Machine(sc)
    state, _, anomalies = run_to_end(m, "T1*4 T2*3")
    expected = [
        Anomaly(
            A.USE_AFTER_FREE,
            "obj",
            5,
            ("T2", "T1"),
            "T2 loaded the refcount of obj after T1 freed it at step 4: a use-after-free",
        ),
        Anomaly(
            A.USE_AFTER_FREE,
            "obj",
            7,
            ("T2", "T1"),
            "T2 stored into the refcount of obj after T1 freed it at step 4: a use-after-free",
        ),
    ]
    assert expected == anomalies
    # The access is performed: the dead object's memory now says 1.
    assert ((1,), (1,), (True,)) == (state.values, state.true_refs, state.freed)
    assert (("obj", "freed"),) == m.final(state)


def test_store_into_a_freed_object_loaded_before_the_free() -> None:
    sc = scenario([decref("obj")], [incref("obj")], objects=(("obj", 1),))
    _, _, anomalies = drive(Machine(sc), "T2 T1*4 T2*2")
    assert [(7, A.LOST_UPDATE), (7, A.USE_AFTER_FREE)] == sorted(
        ((a.step, a.kind) for a in anomalies), key=lambda p: p[1].value
    )


def test_rmw_of_a_freed_object_is_a_use_after_free() -> None:
    sc = scenario([decref("obj")], [incref("obj")], objects=(("obj", 1),), runtime=ATOMIC)
    state, _, anomalies = run_to_end(Machine(sc), "T1*2 T2")
    expected = [
        Anomaly(
            A.USE_AFTER_FREE,
            "obj",
            3,
            ("T2", "T1"),
            "T2 updated the refcount of obj after T1 freed it at step 2: a use-after-free",
        )
    ]
    assert expected == anomalies
    assert ((1,), (1,)) == (state.values, state.true_refs)


# -- variables --------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", list(Runtime))
def test_store_global_over_another_store_is_a_lost_update_on_the_variable(
    runtime: Runtime,
) -> None:
    m = Machine(COUNTER, runtime)
    state, events, anomalies = run_to_end(m, "T1 T2*3 T1*2")
    expected = [
        Anomaly(
            A.LOST_UPDATE,
            "counter",
            6,
            ("T1", "T2"),
            "T1 stored 1 over T2's store of 1: T2's counter += 1 is lost",
        )
    ]
    assert expected == anomalies
    assert (("counter", 1),) == m.final(state)
    micros = [
        "LOAD_GLOBAL",
        "LOAD_GLOBAL",
        "BINARY_OP",
        "STORE_GLOBAL",
        "BINARY_OP",
        "STORE_GLOBAL",
    ]
    assert micros == [e.micro for e in events]
    assert [0, 0, 1, 1, 1, 1] == [e.register for e in events]
    assert [None] * 6 == [e.true_refs for e in events]
    assert [True] * 6 == [e.bytecode_start for e in events]


def test_sub_from_a_variable() -> None:
    sc = scenario([Op(OpKind.SUB, "v", 5)], variables=(("v", 3),))
    m = Machine(sc)
    state, _, anomalies = run_to_end(m, "T1*3")
    assert ([], (("v", -2),)) == (anomalies, m.final(state))


# -- the end of a run -------------------------------------------------------------------------


def test_an_unfreed_object_nobody_refers_to_is_a_leak() -> None:
    _, _, anomalies = run_to_end(Machine(LEAK), "T1 T2*3 T1*2")
    expected = Anomaly(
        A.LEAK,
        "obj",
        None,
        (),
        "obj is never freed: its refcount is 1 but no reference to it remains "
        "(true refs 0): a leak",
    )
    assert [A.LOST_UPDATE, A.LEAK] == [a.kind for a in anomalies]
    assert expected == anomalies[-1]


def test_an_undercounted_object_with_references_is_not_a_leak() -> None:
    m = Machine(LOST_INCREF)
    state, _, _ = drive(m, "T1 T2*3 T1*2")
    assert ((2,), (3,)) == (state.values, state.true_refs)
    assert () == m.conclude(state)


def test_an_untouched_object_with_refcount_0_is_a_leak() -> None:
    sc = scenario([compute(1)], objects=(("live", 1), ("garbage", 0)))
    m = Machine(sc)
    state, _, _ = drive(m, "T1")
    assert [("garbage", A.LEAK)] == [(a.subject, a.kind) for a in m.conclude(state)]


def test_opposite_lock_orders_deadlock_and_the_message_says_who_waits_for_what() -> None:
    sc = scenario(*(t.ops for t in DEADLOCK.threads), locks=("A", "B"), objects=(("obj", 0),))
    m = Machine(sc)
    state, _, _ = drive(m, "T1 T2")
    assert () == m.enabled(state)
    expected = Anomaly(
        A.DEADLOCK,
        None,
        None,
        ("T1", "T2"),
        "deadlock: T1 waits for B (held by T2), T2 waits for A (held by T1)",
    )
    # Blocked threads still hold their references: a deadlock, and no leak is judged.
    assert (expected,) == m.conclude(state)


def test_waiting_for_a_lock_held_by_a_finished_thread_is_a_deadlock() -> None:
    sc = scenario([acquire("L")], [acquire("L")], locks=("L",))
    m = Machine(sc)
    state, _, _ = drive(m, "T1")
    [anomaly] = m.conclude(state)
    assert "deadlock: T2 waits for L (held by T1, which has finished)" == anomaly.message
    assert ("T2",) == anomaly.threads


def test_acquiring_a_lock_one_holds_deadlocks_on_itself() -> None:
    m = Machine(scenario([acquire("L"), acquire("L")], locks=("L",)))
    state, _, _ = drive(m, "T1")
    assert () == m.enabled(state)
    assert ["deadlock: T1 waits for L (held by itself)"] == [a.message for a in m.conclude(state)]


def test_final_lists_objects_then_variables_in_scenario_order() -> None:
    sc = scenario(
        [decref("a"), add("y", 2)],
        objects=(("a", 1), ("b", 0)),
        variables=(("x", 5), ("y", -1)),
    )
    m = Machine(sc)
    assert (("a", 1), ("b", 0), ("x", 5), ("y", -1)) == m.final(m.initial())
    state, _, _ = run_to_end(m, "T1*7")
    assert (("a", "freed"), ("b", 0), ("x", 5), ("y", 1)) == m.final(state)


# -- who is enabled ---------------------------------------------------------------------------


def test_acquire_is_enabled_only_while_the_lock_is_free() -> None:
    sc = scenario(
        [acquire("L"), release("L"), compute(1)], [acquire("L"), release("L")], locks=("L",)
    )
    m = Machine(sc)
    assert (0, 1) == m.enabled(m.initial())
    held, _, _ = drive(m, "T1")
    assert (0,) == m.enabled(held)
    assert "it is waiting for lock L, which T1 holds" == m.why_not_enabled(held, 1)
    released, _, _ = drive(m, "T1*2")
    assert (0, 1) == m.enabled(released)
    assert ((-1,), (1,)) == (drive(m, "T1*2")[0].holders, drive(m, "T1*2 T2")[0].holders)


def test_under_gil_only_the_thread_inside_a_bytecode_is_enabled() -> None:
    sc = scenario([incref("obj"), incref("obj")], [incref("obj")], objects=(("obj", 1),))
    gil, unsafe = Machine(sc, GIL), Machine(sc, UNSAFE)
    for steps, expected in [("", (0, 1)), ("T1", (0,)), ("T1*2", (0,)), ("T1*3", (0, 1))]:
        assert expected == gil.enabled(drive(gil, steps)[0]), steps
        assert (0, 1) == unsafe.enabled(drive(unsafe, steps)[0]), steps
    inside = drive(gil, "T1")[0]
    expected_reason = "T1 is inside a bytecode (incref obj) and holds the GIL until it ends"
    assert expected_reason == gil.why_not_enabled(inside, 1)


def test_under_gil_a_decrefs_dealloc_belongs_to_its_bytecode() -> None:
    sc = scenario([decref("obj")], [use("obj")], objects=(("obj", 1),))
    m = Machine(sc, GIL)
    stored_0, events, _ = drive(m, "T1*3")
    assert (0,) == m.enabled(stored_0)
    _, events, _ = drive(m, "T1*4")
    assert [True, False, False, False] == [e.bytecode_start for e in events]


def test_the_gil_does_not_hold_a_thread_between_its_ops() -> None:
    m = Machine(scenario([use("obj"), use("obj")], [use("obj")], objects=(("obj", 1),)), GIL)
    assert (0, 1) == m.enabled(drive(m, "T1")[0])


@pytest.mark.parametrize("runtime", list(Runtime))
def test_compute_n_is_n_micro_steps_each_its_own_bytecode(runtime: Runtime) -> None:
    sc = scenario([compute(3), use("obj")], [compute(1)], objects=(("obj", 1),))
    m = Machine(sc, runtime)
    _, events, _ = run_to_end(m, "T1 T2 T1*2 T1")
    expected = [
        ("T1", "COMPUTE"),
        ("T2", "COMPUTE"),
        ("T1", "COMPUTE"),
        ("T1", "COMPUTE"),
        ("T1", "READ"),
    ]
    assert expected == micro(events)
    assert [True] * 5 == [e.bytecode_start for e in events]
    assert ["compute 3", "compute 1", "compute 3", "compute 3", "use obj"] == [e.op for e in events]
    assert [0, 0, 0, 0, 1] == [e.op_index for e in events]
    # After two of T1's three computes T2 may run, under the GIL too.
    assert (0,) == m.enabled(drive(m, "T1 T2")[0])
    assert (0, 1) == m.enabled(drive(Machine(sc, runtime), "T1*2")[0])


def test_a_long_compute_is_cheap_to_compile() -> None:
    m = Machine(scenario([compute(10**12)]))
    assert 1 == len(m.programs[0])


def test_compute_0_is_no_micro_step() -> None:
    m = Machine(scenario([compute(0), use("obj")], objects=(("obj", 1),)))
    _, events, _ = drive(m, "T1")
    assert ["READ"] == [e.micro for e in events]


def test_io_is_one_micro_step() -> None:
    m = Machine(scenario([io(5_000_000)], [compute(1)]))
    state, events, _ = drive(m, "T1")
    assert [("T1", "IO")] == micro(events)
    assert ("io 5ms", None, None, None) == (
        events[0].op,
        events[0].subject,
        events[0].register,
        events[0].value,
    )
    assert (1,) == m.enabled(state)


# -- the machine as a pure function -----------------------------------------------------------


def test_step_leaves_its_input_state_alone() -> None:
    m = Machine(LEAK)
    state = drive(m, "T1 T2")[0]
    frozen = tuple(state)
    first = m.step(state, 0, 7)
    second = m.step(state, 0, 7)
    assert frozen == tuple(state)
    assert first == second
    assert 7 == first[1].time


def test_initial_state() -> None:
    sc = scenario([decref("o")], [], objects=(("o", 2),), variables=(("v", 9),), locks=("L",))
    m = Machine(sc)
    s = m.initial()
    assert ((2, 9), (0, 0), (False,), (2,), (-1,)) == (
        s.values,
        s.versions,
        s.freed,
        s.true_refs,
        s.holders,
    )
    # A thread with no ops has finished before it starts.
    assert (0,) == m.enabled(s)
    assert m.finished(s, 1)


def test_the_runtime_argument_overrides_the_scenarios() -> None:
    sc = scenario([incref("obj")], objects=(("obj", 1),), runtime=GIL)
    assert GIL == Machine(sc).runtime
    assert ATOMIC == Machine(sc, ATOMIC).runtime
    assert ["RMW"] == [e.micro for e in drive(Machine(sc, ATOMIC), "T1")[1]]


@pytest.mark.parametrize(
    ("objects", "variables", "ops", "message"),
    [
        ((("x", 1),), (("x", 0),), [], "'x' is declared twice (as object and variable)"),
        (
            (("obj", 1),),
            (),
            [Op(OpKind.INCREF, "ob")],
            "T1: `incref ob` needs a declared object 'ob'",
        ),
        ((), (("n", 0),), [Op(OpKind.DECREF, "n")], "T1: `decref n` needs a declared object 'n'"),
    ],
)
def test_a_hand_built_scenario_with_undeclared_names_is_refused(
    objects: tuple[tuple[str, int], ...],
    variables: tuple[tuple[str, int], ...],
    ops: list[Op],
    message: str,
) -> None:
    bad = Scenario(
        name="bad",
        objects=objects,
        variables=variables,
        threads=(ThreadSpec("T1", (*ops, Op(OpKind.COMPUTE, None, 1))),),
    )
    with pytest.raises(ValueError) as info:
        Machine(bad)
    assert message == str(info.value)

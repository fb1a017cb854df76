"""The runtimes beyond the GIL (MODEL.md, "Runtimes", "Free-threaded CPython", "Tracing
collectors"): each free-threaded path worked out by hand against CPython's code, the
guarantees as properties over generated programs, and the tracing collectors' counts."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refsim.engine import run
from refsim.explore import explore, reachable
from refsim.loader import load_text
from refsim.machine import MERGED, QUEUED, Machine
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, Schedule, ThreadSpec
from refsim.runtimes import GROUPS, traits
from tests.strategies import enumerable_scenarios, scenarios, seeds, well_formed_scenarios
from tests.test_machine import drive, run_to_end

FT, PYPY, JYTHON = Runtime.FREE_THREADED, Runtime.PYPY, Runtime.JYTHON
K = AnomalyKind
MEMORY = {K.LOST_UPDATE, K.PREMATURE_FREE, K.USE_AFTER_FREE, K.DOUBLE_FREE, K.LEAK}


def incref(x: str = "obj") -> Op:
    return Op(OpKind.INCREF, x)


def decref(x: str = "obj") -> Op:
    return Op(OpKind.DECREF, x)


def use(x: str = "obj") -> Op:
    return Op(OpKind.USE, x)


def owned(
    refcount: int,
    *programs: Iterable[Op],
    owner: str | None = "T1",
    runtime: Runtime = FT,
    immortal: bool = False,
    deferred: bool = False,
) -> Scenario:
    """Threads T1, T2, ... running ``programs`` on one object ``obj``."""
    return Scenario(
        name="owned",
        threads=tuple(ThreadSpec(f"T{i + 1}", tuple(ops)) for i, ops in enumerate(programs)),
        objects=(("obj", refcount),),
        owners=(("obj", owner),) if owner else (),
        immortal=("obj",) if immortal else (),
        deferred=("obj",) if deferred else (),
        runtime=runtime,
    )


def micro(events: list[object]) -> list[tuple[str, str]]:
    return [(e.thread, e.micro) for e in events]  # type: ignore[attr-defined]


# -- the free-threaded paths, by hand ----------------------------------------------------


def test_the_owner_updates_its_local_count_with_plain_steps() -> None:
    """Py_INCREF (Include/refcount.h), the owner's path:
        uint32_t local = _Py_atomic_load_uint32_relaxed(&op->ob_ref_local);
        ...
        if (_Py_IsOwnedByCurrentThread(op)) {
            _Py_atomic_store_uint32_relaxed(&op->ob_ref_local, new_local);
    A relaxed load and a relaxed store of a word only the owner writes: LOAD_LOCAL, ADD,
    STORE_LOCAL; the shared count is not touched, and no other thread can race it."""
    machine = Machine(owned(1, [incref(), decref()]))
    state, events, anomalies = drive(machine, "T1*3")
    assert [("T1", "LOAD_LOCAL"), ("T1", "ADD"), ("T1", "STORE_LOCAL")] == micro(events)
    assert ((2, 0), 2, 2) == (events[-1].counts, events[-1].value, events[-1].true_refs)
    assert (2,) == state.values[:1]
    assert (0,) == state.brc[0]
    assert [] == anomalies


def test_the_owners_decref_to_zero_merges_and_frees() -> None:
    """Py_DECREF, the owner's path: local--; store; `if (local == 0)
    _Py_MergeZeroLocalRefcount(op);`, which (Objects/object.c) finds `shared == 0` and
    calls `_Py_Dealloc(op)`: LOAD_LOCAL, SUB, STORE_LOCAL, MERGE, DEALLOC."""
    machine = Machine(owned(1, [decref()]))
    state, events, anomalies = run_to_end(machine, "T1*5")
    assert ["LOAD_LOCAL", "SUB", "STORE_LOCAL", "MERGE", "DEALLOC"] == [e.micro for e in events]
    assert (True,) == state.freed
    assert [] == anomalies


def test_a_guest_increfs_the_shared_count_atomically() -> None:
    """Py_INCREF, another thread's path: `_Py_atomic_add_ssize(&op->ob_ref_shared, 1 <<
    _Py_REF_SHARED_SHIFT)`: one atomic ADD_SHARED; the refcount is local + shared."""
    machine = Machine(owned(1, [compute1()], [incref()]))
    _, events, _ = drive(machine, "T2")
    assert [("T2", "ADD_SHARED")] == micro(events)
    assert ((1, 1), 2, 2) == (events[0].counts, events[0].value, events[0].true_refs)


def compute1() -> Op:
    return Op(OpKind.COMPUTE, None, 1)


def test_a_guest_decref_at_shared_zero_queues_the_object_for_its_owner() -> None:
    """_Py_DecRefShared (Objects/object.c): `should_queue = (shared == 0 || shared ==
    _Py_REF_MAYBE_WEAKREF)`; if so `new_shared = _Py_REF_QUEUED` ("we don't subtract one
    from the reference count because the queue holds a reference"), then
    `_Py_brc_queue_object(o)` (Python/brc.c) pushes it on the owner's stack and sets the
    owner's eval-breaker bit. The owner, at its next bytecode boundary, merges it
    (`merge_queued_objects`: `_Py_ExplicitMergeRefcount(ob, -1)` makes local + shared - 1
    the shared count, marks the object merged and, at 0, `_Py_Dealloc`).

    obj has refcount 2, both counted locally by its owner T1 (it gave one reference to
    T2). T2 drops its reference: DECREF_SHARED finds shared 0 and marks obj queued, QUEUE
    puts it on T1's stack. T1, between bytecodes, merges first: 2 + 0 - 1 = 1 shared,
    merged. Its own decref then finds obj no longer its own (LOAD_LOCAL), takes the shared
    count to 0 (DECREF_SHARED), merged: DEALLOC."""
    machine = Machine(owned(2, [decref()], [decref()]))
    state, events, _ = drive(machine, "T2*2")
    assert [("T2", "DECREF_SHARED"), ("T2", "QUEUE")] == micro(events)
    shared, flags, pending, merging = state.brc
    assert ((0,), (QUEUED,), ((0,), ()), (-1, -1)) == (shared, flags, pending, merging)
    assert (2, 1) == (state.values[0], state.true_refs[0])  # nothing subtracted yet
    assert "MERGE" == machine.next_instr(state, 0).micro  # type: ignore[union-attr]
    state, events, anomalies = run_to_end(machine, "T2*2 T1*4")
    assert ["MERGE", "LOAD_LOCAL", "DECREF_SHARED", "DEALLOC"] == [e.micro for e in events[2:]]
    assert "(merge queued obj)" == events[2].op
    assert ((2, 0), (0, 1)) == (events[1].counts, events[2].counts)
    assert ((True,), []) == (state.freed, anomalies)


def test_the_owner_merges_a_queued_object_at_its_next_boundary() -> None:
    """T1 drops its reference first (local 2 -> 1: not 0, no merge); T2's decref queues
    obj for T1, which is between bytecodes (before its compute): it merges (1 + 0 - 1 =
    0) and frees obj before the compute."""
    machine = Machine(owned(2, [decref(), compute1()], [decref()]))
    state, events, anomalies = run_to_end(machine, "T1*3 T2*2 T1*3")
    assert [("T1", "MERGE"), ("T1", "DEALLOC"), ("T1", "COMPUTE")] == micro(events[-3:])
    assert ((True,), (MERGED,), []) == (state.freed, state.brc[1], anomalies)


def test_a_thread_stays_live_until_its_queued_merges_are_done() -> None:
    """T1 finishes its program with local 1; T2's decref queues obj while T1 is still
    live (it has merges to do): T1 merges after its last op (CPython: when a thread
    exits, `_Py_brc_remove_thread` merges its queue first)."""
    machine = Machine(owned(2, [decref()], [decref()]))
    state, _, _ = drive(machine, "T1*2 T2*2")
    assert ((0,), ()) == state.brc[2]
    state, events, anomalies = run_to_end(machine, "T1*2 T2*2 T1*3")
    assert ["STORE_LOCAL", "MERGE", "DEALLOC"] == [e.micro for e in events[-3:]]
    assert ((True,), []) == (state.freed, anomalies)


def test_a_guest_decref_after_the_owner_finished_merges_itself() -> None:
    """_Py_brc_queue_object: `if (tstate == NULL) { // the owning thread must have
    already exited ... Py_ssize_t refcount = _Py_ExplicitMergeRefcount(ob, -1); ... if
    (refcount == 0) _Py_Dealloc(ob);`. T1 (the owner) drops its reference and exits,
    local 1; T2's decref finds shared 0 and queues, but there is no owner: T2 merges
    (1 + 0 - 1 = 0) and frees obj."""
    machine = Machine(owned(2, [decref()], [decref()]))
    state, events, anomalies = run_to_end(machine, "T1*3 T2*3")
    assert ["DECREF_SHARED", "QUEUE", "DEALLOC"] == [e.micro for e in events[3:]]
    assert ((True,), []) == (state.freed, anomalies)
    assert (0, 0) == (state.values[0], state.brc[0][0])


def test_after_a_merge_the_owner_uses_the_shared_count() -> None:
    """_Py_MergeZeroLocalRefcount's slow path sets `ob_tid` to 0 and the MERGED flag;
    from then on _Py_IsOwnedByCurrentThread is false for every thread, the owner too.
    obj: local 1 (T1's), shared 1 (T2's incref). T1's decref takes local to 0 and merges
    (shared 1 stays: not freed); its next incref loads the local count, finds obj no
    longer its own, and adds to the shared count."""
    machine = Machine(owned(1, [decref(), incref(), decref()], [incref(), decref()]))
    state, events, _ = drive(machine, "T2 T1*4")
    assert ["ADD_SHARED", "LOAD_LOCAL", "SUB", "STORE_LOCAL", "MERGE"] == [e.micro for e in events]
    assert ((1,), (MERGED,)) == (state.brc[0], state.brc[1])
    state, events, _ = drive(machine, "T1*2", state)
    assert ["LOAD_LOCAL", "ADD_SHARED"] == [e.micro for e in events]
    state, _, anomalies = run_to_end(machine, "T2 T1*4 T1*2 T1*2 T2*2")
    assert ((True,), []) == (state.freed, anomalies)


def test_an_immortal_object_is_read_never_written_and_never_freed() -> None:
    """Py_INCREF: `if (new_local == 0) return;` and Py_DECREF: `if (local ==
    _Py_IMMORTAL_REFCNT_LOCAL) return;` (PEP 683): one load, no write. None dropped
    more often than it was taken is harmless."""
    machine = Machine(owned(1, [decref(), decref()], [decref()], owner=None, immortal=True))
    state, events, anomalies = run_to_end(machine, "T1*2 T2")
    assert ["IMMORTAL"] * 3 == [e.micro for e in events]
    assert ([], (False,), (("obj", 1),), (-2,)) == (
        anomalies, state.freed, machine.final(state), state.true_refs
    )  # fmt: skip


def test_a_deferred_object_is_freed_by_the_collector_when_nothing_refers_to_it() -> None:
    machine = Machine(owned(1, [incref(), decref()], [decref()], owner=None, deferred=True))
    state, events, anomalies = run_to_end(machine, "T1*2 T2")
    assert ["DEFERRED"] * 3 == [e.micro for e in events]
    assert ([], (("obj", "freed"),)) == (anomalies, machine.final(state))
    still = Machine(owned(2, [decref()], owner=None, deferred=True))
    state, _, anomalies = run_to_end(still, "T1")
    # No count is written: it still reads 2, while one reference remains.
    assert ([], (("obj", 2),), (1,)) == (anomalies, still.final(state), state.true_refs)


def test_an_object_without_an_owner_starts_merged_and_counts_atomically() -> None:
    """The leak of leak.yaml cannot happen: both decrefs are atomic on the shared count;
    whoever takes it to 0, merged, frees obj. Two threads of two micro-steps where the
    second (DEALLOC) runs only for the last: DECREF_SHARED, DECREF_SHARED, DEALLOC in
    either order of the threads, 2 interleavings, like atomic's."""
    exploration = explore(owned(2, [decref()], [decref()], owner=None))
    assert (2, ["no anomaly · obj freed"]) == (
        exploration.interleavings, [str(s.outcome) for s in exploration.outcomes]
    )  # fmt: skip


# -- what must hold, whatever the schedule (properties) ------------------------------------


@settings(max_examples=120)
@given(
    well_formed_scenarios(
        runtimes=(FT,), borrowed=False, variables=False, max_threads=3, max_ops=4
    ),
)
def test_free_threaded_owned_references_never_go_wrong(scenario: Scenario) -> None:
    """MODEL.md: a well-formed program that uses only owned references never loses an
    update, frees early, frees twice or leaks, in any interleaving."""
    try:
        found = reachable(scenario, max_states=20_000).kinds
    except Exception as e:
        pytest.skip(str(e))
    assert set() == found & {K.LOST_UPDATE, K.PREMATURE_FREE, K.DOUBLE_FREE, K.LEAK}


@settings(max_examples=120)
@given(scenarios(variables=False, runtimes=(PYPY, JYTHON), max_threads=3, max_ops=4))
def test_a_tracing_collector_never_loses_frees_early_frees_twice_or_leaks(
    scenario: Scenario,
) -> None:
    """Any program at all, borrowed references included: nothing is freed while a
    reference exists, so only a deadlock can go wrong."""
    assert reachable(scenario, max_states=50_000).kinds <= {K.DEADLOCK}


@pytest.mark.parametrize("runtime", [FT, PYPY, JYTHON])
def test_v_plus_equals_n_still_races(runtime: Runtime) -> None:
    """Two `counter += 1`: the GIL does not make them safe, and neither does a garbage
    collector: counted exactly, every runtime has the counter race (under pypy as under
    gil, 2 interleavings of 6 out of 20 bytecode orders keep both updates)."""
    scenario = load_text("variables: {c: 0}\nthreads:\n  T1: [c += 1]\n  T2: [c += 1]\n")
    exploration = explore(scenario, runtime=runtime)
    assert {"lost-update · c = 1": 18, "no anomaly · c = 2": 2} == {
        str(s.outcome): s.count for s in exploration.outcomes
    }


@settings(max_examples=60)
@given(enumerable_scenarios(max_interleavings=2_000, runtimes=(FT,)), seeds)
def test_free_threaded_runs_replay_and_the_engine_agrees_with_the_machine(
    scenario: Scenario, seed: int
) -> None:
    result = run(scenario, seed=seed)
    replayed = run(scenario, schedule=result.schedule)
    assert result == replayed
    machine = Machine(scenario)
    state = machine.initial()
    for name in result.schedule:
        state = machine.step(state, machine.thread_names.index(name))[0]
    assert result.final == machine.final(state)


# -- the tracing collectors -----------------------------------------------------------------


def test_pypy_and_jython_count_the_model_example() -> None:
    """MODEL.md: incref and decref are one micro-step each (TAKE, DROP). Two threads of
    one incref each: 2 interleavings, under every tracing runtime, ending with 3 true
    refs; nothing is freed while references remain."""
    scenario = owned(1, [incref()], [incref()], owner=None, runtime=PYPY)
    for runtime in (PYPY, JYTHON):
        exploration = explore(scenario, runtime=runtime)
        assert (2, ["no anomaly · obj = 3"]) == (
            exploration.interleavings, [str(s.outcome) for s in exploration.outcomes]
        )  # fmt: skip


def test_the_borrowed_reference_is_safe_under_a_tracing_collector() -> None:
    """T2 drops the only reference before T1's borrowed incref: under reference counting
    that frees obj early; under a tracing collector obj lives while T1 holds a pointer
    (the collector frees it only at the end, when nothing refers to it)."""
    scenario = owned(1, [incref(), use(), decref()], [decref()], owner=None, runtime=JYTHON)
    result = run(scenario, schedule=Schedule.parse("T2 T1*3"))
    assert ([], (("obj", "freed"),)) == (list(result.anomalies), result.final)
    assert ["DROP", "TAKE", "READ", "DROP"] == [e.micro for e in result.trace or ()]


def test_under_pypy_a_thread_runs_a_whole_bytecode() -> None:
    assert traits(PYPY).bytecode_atomic and not traits(JYTHON).bytecode_atomic
    assert ("CPython with the GIL", (Runtime.GIL,)) == GROUPS[0]


def test_a_file_names_the_runtimes_and_the_object_traits() -> None:
    scenario = load_text(
        """\
runtime: free-threaded
objects:
  obj: {refcount: 2, owner: W1}
  none: {refcount: 1, immortal: true}
  f: {refcount: 1, deferred: true}
threads:
  W: {ops: [incref obj], count: 2}
"""
    )
    assert (FT, (("obj", "W1"),), ("none",), ("f",)) == (
        scenario.runtime, scenario.owners, scenario.immortal, scenario.deferred
    )  # fmt: skip


@pytest.mark.parametrize("written", ["nogil", "no-gil", "ft", "3.13t", "3.14t", "freethreaded"])
def test_names_for_free_threaded_python_suggest_it(written: str) -> None:
    from refsim.errors import ScenarioError

    with pytest.raises(ScenarioError) as error:
        load_text(f"runtime: '{written}'\nthreads:\n  T: [compute 1]\n")
    assert "did you mean 'free-threaded'?" == error.value.diagnostics[0].hint


def test_an_object_is_owned_by_a_thread() -> None:
    from refsim.errors import ScenarioError

    with pytest.raises(ScenarioError) as error:
        load_text("objects: {obj: {refcount: 1, owner: T9}}\nthreads:\n  T1: [decref obj]\n")
    found = error.value.diagnostics[0]
    assert ("object 'obj' is owned by 'T9', which is not a thread", "the threads are T1") == (
        found.message,
        found.hint,
    )
    with pytest.raises(ScenarioError) as error:
        load_text("objects: {o: {refcount: 1, immortal: true, deferred: true}}\n"
                  "threads:\n  T1: [decref o]\n")  # fmt: skip
    assert "object 'o' cannot be both immortal and deferred" == error.value.diagnostics[0].message


@settings(max_examples=40)
@given(st.sampled_from([FT, PYPY, JYTHON]), seeds)
def test_every_runtime_runs_every_bundled_scenario(runtime: Runtime, seed: int) -> None:
    from refsim.bundled import bundled_scenarios
    from refsim.loader import load_file

    for path in bundled_scenarios():
        scenario = load_file(path)
        for sub in scenario.per_process():
            result = run(sub, runtime=runtime, seed=seed, max_steps=100_000)
            assert result.steps > 0

"""The chunked per-thread parts of a machine state (refsim/perthread.py): they behave as the
tuples they stand for, and a run of many threads gives byte for byte what it gives with
plain tuples, in every driver."""

from __future__ import annotations

import pickle
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refsim import perthread
from refsim.engine import DEFAULT_MAX_STEPS, run
from refsim.machine import Machine
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, ThreadSpec
from refsim.perthread import CHUNK, Chunked, LiveSet, added, pack_live, pack_threads, removed
from refsim.scheduling import QuantumChooser
from refsim.search import DrawnChooser, _max_scale, _Play, _play, search_report
from refsim.timed import run_timed

# -- the sequences, against tuples -----------------------------------------------------------

SIZES = st.integers(min_value=0, max_value=3 * CHUNK + 5)


@given(st.integers(0, 700), st.data())
def test_chunked_is_its_tuple_under_replacement(size: int, data: st.DataObject) -> None:
    # Up to 700 items: several nodes of 256, the last node and leaf partly filled.
    items = list(range(size))
    chunked = Chunked(items)
    expected = tuple(items)
    last = 0
    for _ in range(data.draw(st.integers(0, 8))):
        assert expected == tuple(chunked)
        if not expected:
            break
        # The item last replaced (kept beside the tree) as often as any other.
        i = data.draw(st.one_of(st.just(last), st.integers(0, len(expected) - 1)))
        value = data.draw(st.integers())
        chunked = chunked.replace(i, value)
        expected = expected[:i] + (value,) + expected[i + 1 :]
        assert expected[i] == chunked[i]
        last = i
    assert expected == tuple(chunked)
    assert len(expected) == len(chunked)
    assert chunked == expected
    assert hash(expected) == hash(chunked)
    assert chunked == Chunked(expected)
    assert pickle.loads(pickle.dumps(chunked)) == chunked
    for i in range(-len(expected), len(expected)):
        assert expected[i] == chunked[i]
    assert expected[1:-1] == chunked[1:-1]
    with pytest.raises(IndexError):
        chunked[len(expected)]


@given(SIZES.flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, max(n - 1, 0))))))
def test_live_set_is_its_sorted_tuple(case: tuple[int, set[int]]) -> None:
    n, members = case
    if n == 0:
        members = set()
    live = LiveSet(members, n)
    expected = tuple(sorted(members))
    assert expected == tuple(live)
    assert live == expected
    assert hash(expected) == hash(live)
    assert len(expected) == len(live)
    assert bool(expected) == bool(live)
    assert pickle.loads(pickle.dumps(live)) == live
    for k in range(-len(expected), len(expected)):
        assert expected[k] == live[k]
    for t in range(-1, n + 1):
        assert (t in expected) == (t in live)
        if t in expected:
            assert expected.index(t) == live.index(t)
    with pytest.raises(IndexError):
        live[len(expected)]


@given(st.integers(1, 3 * CHUNK + 5).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.tuples(st.booleans(), st.integers(0, n - 1)), max_size=40))))  # fmt: skip
def test_live_set_adds_and_removes_as_a_sorted_tuple(
    case: tuple[int, list[tuple[bool, int]]],
) -> None:
    n, moves = case
    live: tuple[int, ...] | LiveSet = LiveSet(range(n), n)
    plain: tuple[int, ...] | LiveSet = tuple(range(n))
    for add, t in moves:
        live = added(live, t) if add else removed(live, t)
        plain = added(plain, t) if add else removed(plain, t)
        assert type(live) is LiveSet
        assert type(plain) is tuple
        assert plain == tuple(live)
        assert live == LiveSet(plain, n)


@pytest.mark.parametrize("t", [-1, -64, 2000, 5000, 1 << 20])
def test_a_live_set_without_a_thread_it_cannot_hold_is_itself(t: int) -> None:
    live = LiveSet(range(1500), 1500)
    assert live.without(t) is live


def test_the_form_follows_the_number_of_threads() -> None:
    assert type(pack_threads(range(CHUNK), CHUNK)) is tuple
    assert type(pack_threads(range(CHUNK + 1), CHUNK + 1)) is Chunked
    assert pack_live([3, 1, 2], CHUNK) == (1, 2, 3)
    assert type(pack_live([3, 1, 2], CHUNK + 1)) is LiveSet
    assert (1, 2, 3) == tuple(pack_live([3, 1, 2], CHUNK + 1))


# -- runs of many threads, chunked against plain tuples ------------------------------------------


def many(threads: int, runtime: Runtime, *ops: Op) -> Scenario:
    body = ops or (Op(OpKind.INCREF, "obj"), Op(OpKind.DECREF, "obj"))
    return Scenario(
        name=f"many_{threads}",
        threads=tuple(ThreadSpec(f"T{i + 1}", body) for i in range(threads)),
        objects=(("obj", threads + 1),),
        locks=("L",),
        runtime=runtime,
    )


def both(fn):  # type: ignore[no-untyped-def]
    """``fn()`` with chunked states, then with plain tuples: both results."""
    chunked = fn()
    saved = perthread.CHUNK
    perthread.CHUNK = 10**9
    try:
        reference = fn()
    finally:
        perthread.CHUNK = saved
    return chunked, reference


THREADS = 3 * CHUNK + 7
LOCKED = (Op(OpKind.ACQUIRE, "L"), Op(OpKind.INCREF, "obj"), Op(OpKind.RELEASE, "L"))


def test_a_machine_of_many_threads_keeps_them_chunked() -> None:
    machine = Machine(many(THREADS, Runtime.UNSAFE))
    state = machine.initial()
    assert type(state.threads) is Chunked
    assert type(state.live) is LiveSet
    state, _, _ = machine.step(state, THREADS - 1)
    assert type(state.threads) is Chunked
    assert state.threads[THREADS - 1].pc == 1


@pytest.mark.parametrize("runtime", list(Runtime))
@pytest.mark.parametrize("ops", [(), LOCKED], ids=["refcounts", "locked"])
def test_runs_of_many_threads_are_the_same_chunked(runtime: Runtime, ops: tuple[Op, ...]) -> None:
    scenario = many(THREADS, runtime, *ops)
    for seed in (0, 1):
        chunked, reference = both(lambda seed=seed: run(scenario, seed=seed))
        assert reference == chunked
        chunked, reference = both(
            lambda seed=seed: run(scenario, chooser=QuantumChooser(5, seed=seed))
        )
        assert reference == chunked
        assert reference.steps >= len(ops or "ab") * THREADS  # every thread ran every op


@pytest.mark.parametrize("runtime", [Runtime.GIL, Runtime.UNSAFE, Runtime.FREE_THREADED])
def test_timed_runs_of_many_threads_are_the_same_chunked(runtime: Runtime) -> None:
    scenario = many(THREADS, runtime, *LOCKED)
    chunked, reference = both(lambda: run_timed(scenario, seed=3))
    assert reference == chunked
    assert reference.steps >= 3 * THREADS  # every thread ran every op


@pytest.mark.parametrize("runtime", [Runtime.GIL, Runtime.UNSAFE])
def test_search_runs_of_many_threads_are_the_same_chunked(runtime: Runtime) -> None:
    # The search's own driver and chooser, fed by seeded coins in place of Hypothesis.
    scenario = many(THREADS, runtime, *LOCKED)

    def plays() -> list[_Play]:
        machine = Machine(scenario)
        found = []
        for seed in range(5):
            coins = random.Random(seed)
            coin = coins.random
            chooser = DrawnChooser(lambda _, coin=coin: coin() < 0.7, _max_scale(machine))
            found.append(_play(machine, chooser, DEFAULT_MAX_STEPS))
        return found

    chunked, reference = both(plays)
    assert reference == chunked
    assert all(len(play.picks) >= 3 * THREADS for play in reference)
    assert len({play.picks for play in reference}) == 5


def test_a_search_of_many_threads_is_the_same_chunked() -> None:
    # Nothing to find (no lock is ever held twice): every example runs to its end.
    scenario = many(THREADS, Runtime.UNSAFE)
    chunked, reference = both(
        lambda: search_report(scenario, want=AnomalyKind.DEADLOCK, max_examples=10)
    )
    assert reference == chunked
    assert reference.examples == 10


def owned(threads: int) -> Scenario:
    """Free-threaded: T1 owns obj, every other thread takes and drops references to it
    (so objects are queued for T1 to merge), under a lock now and then."""
    guest = (Op(OpKind.INCREF, "obj"), Op(OpKind.DECREF, "obj"), Op(OpKind.DECREF, "obj"))
    locked = (Op(OpKind.ACQUIRE, "L"), *guest[:1], Op(OpKind.RELEASE, "L"), *guest[1:2])
    specs = [ThreadSpec("T1", (Op(OpKind.INCREF, "obj"), Op(OpKind.DECREF, "obj")) * 4)]
    specs += [ThreadSpec(f"T{i + 2}", guest if i % 3 == 2 else locked) for i in range(threads - 1)]
    return Scenario(
        name="owned",
        threads=tuple(specs),
        objects=(("obj", threads),),
        owners=(("obj", "T1"),),
        locks=("L",),
        runtime=Runtime.FREE_THREADED,
    )


@pytest.mark.parametrize("threads", [3, CHUNK + 6])
@pytest.mark.parametrize("seed", range(4))
def test_is_enabled_asks_what_enabled_answers(threads: int, seed: int) -> None:
    # Machine.is_enabled answers for one thread in constant time; the enabled set is the
    # definition. Along a random run, every thread, at every step.
    for scenario in (owned(threads), many(threads, Runtime.GIL, *LOCKED)):
        machine = Machine(scenario)
        state = machine.initial()
        choose = random.Random(seed).choice
        steps = 0
        while enabled := machine.enabled(state):
            assert [t for t in range(threads) if machine.is_enabled(state, t)] == list(enabled)
            state, _, _ = machine.step(state, choose(list(enabled)))
            steps += 1
        assert steps >= 3 * threads

"""The explorer's compact states (``refsim.statespace``): written from the machine's states,
read back into them, and stepped by transitions learned from the machine's own step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given, settings
from hypothesis import strategies as st

import refsim.statespace
from refsim.explore import explore
from refsim.machine import Machine, State
from refsim.model import Op, OpKind, Runtime, Scenario, ThreadSpec
from refsim.statespace import Space, pack
from tests.strategies import enumerable_scenarios, prefixes


def walk(machine: Machine, picks: list[int]) -> list[State]:
    """The states a run passes through, from the initial one, following ``picks``."""
    states = [machine.initial()]
    for thread in picks:
        states.append(machine.step(states[-1], thread)[0])
    return states


def along_a_run(data: st.DataObject) -> tuple[Machine, Space, list[State]]:
    """A generated scenario's machine, its space, and the states of some run's start."""
    scenario = data.draw(enumerable_scenarios(max_interleavings=2_000))
    machine = Machine(scenario)
    return machine, Space(machine), walk(machine, data.draw(prefixes(scenario)))


@contextmanager
def verifying() -> Iterator[None]:
    """Every reused step is checked against the machine's step while inside."""
    refsim.statespace.VERIFY = True
    try:
        yield
    finally:
        refsim.statespace.VERIFY = False


@settings(max_examples=200)
@given(st.data())
def test_a_representative_has_the_compact_form_it_was_built_from(data: st.DataObject) -> None:
    _, space, states = along_a_run(data)
    for state in states:
        lids, sid, _, _ = space.compact(state)
        assert (lids, sid) == space.compact(space.representative(lids, sid))[:2]


@settings(max_examples=200)
@given(st.data())
def test_a_compact_step_lands_where_the_machine_step_does(data: st.DataObject) -> None:
    machine, space, states = along_a_run(data)
    for state in states:
        lids, sid, slots, _ = space.compact(state)
        k, groups, children = space.expand(lids, sid)
        enabled = machine.enabled(state)
        assert len(enabled) == k
        # The compact state's slot s is the machine state's thread at that slot.
        thread_at = {slot: t for t, slot in enumerate(slots)}
        assert sorted(thread_at[s] for group in groups for s in group) == sorted(enabled)
        for group, (key, child_lids, _, size, slot, bits) in zip(groups, children, strict=True):
            t = thread_at[group[0]]
            child, _, anomalies = machine.step(state, t)
            child_key, _, by_thread = space.canon(child)
            # The stepped thread's slot, up to ties between threads in one local state.
            assert (child_key, len(group), by_thread[t]) == (key, size, child_lids[slot])
            assert refsim.statespace.bits_of(anomalies) == bits


@settings(max_examples=60)
@given(enumerable_scenarios(max_interleavings=3_000), st.sampled_from([None, 1]))
def test_every_reused_step_is_the_machine_step(scenario: Scenario, bound: int | None) -> None:
    plain = explore(scenario, preemption_bound=bound)
    with verifying():
        assert plain == explore(scenario, preemption_bound=bound)


def _waiters() -> Scenario:
    """Two interchangeable waiters on one condition and a thread that notifies both."""
    lock, condition = "L", "C"
    waiter = (
        Op(OpKind.ACQUIRE, lock),
        Op(OpKind.CONDITION_WAIT, condition),
        Op(OpKind.RELEASE, lock),
    )
    notifier = (
        Op(OpKind.ACQUIRE, lock),
        Op(OpKind.NOTIFY_ALL, condition),
        Op(OpKind.RELEASE, lock),
    )
    return Scenario(
        name="waiters",
        threads=(ThreadSpec("W1", waiter), ThreadSpec("W2", waiter), ThreadSpec("N", notifier)),
        locks=(lock,),
        conditions=((condition, lock),),
        runtime=Runtime.UNSAFE,
    )


def test_threads_queued_in_either_order_make_one_state() -> None:
    scenario = _waiters()
    machine = Machine(scenario)
    space = Space(machine)
    # W1 then W2 wait on C, or W2 then W1: the same state with the two threads swapped.
    first = walk(machine, [0, 0, 1, 1])[-1]
    second = walk(machine, [1, 1, 0, 0])[-1]
    assert ((0, 1), (1, 0)) == (first.waiters[0], second.waiters[0])
    assert space.canon(first)[0] == space.canon(second)[0]


def test_the_key_packs_every_lid_and_the_sid() -> None:
    assert pack([1, 2], 3) != pack([2, 1], 3)
    assert pack([1, 2], 3) != pack([1, 2], 4)
    assert (5, 6, 7) == pack([5, 6], 7)

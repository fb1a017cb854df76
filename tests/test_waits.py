"""Threads that wait for each other (MODEL.md, "Threads that wait for each other"): each
primitive's effect and when it is enabled, the reasons a blocked thread gives, deadlocks,
and exact interleaving counts of small cases worked out by hand from MODEL.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pytest

from refsim.costs import GIL_HANDOFF, IO_CALL, QUEUE_OP
from refsim.engine import run
from refsim.explore import explore
from refsim.machine import Machine
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, Schedule, ThreadSpec
from refsim.search import search
from refsim.timed import run_timed
from refsim.trace import Outcome
from tests.test_explore import brute_force, table
from tests.test_machine import drive, outcome_counts, run_to_end

UNSAFE, GIL, ATOMIC = Runtime.UNSAFE, Runtime.GIL, Runtime.ATOMIC
DEADLOCK = AnomalyKind.DEADLOCK
LOST = AnomalyKind.LOST_UPDATE


def op(kind: OpKind, subject: str) -> Op:
    return Op(kind, subject)


def threads(**programs: Iterable[Op]) -> tuple[ThreadSpec, ...]:
    return tuple(ThreadSpec(name, tuple(ops)) for name, ops in programs.items())


def waiting(
    runtime: Runtime = UNSAFE,
    *,
    events: tuple[str, ...] = (),
    semaphores: tuple[tuple[str, int], ...] = (),
    queues: tuple[tuple[str, int], ...] = (),
    conditions: tuple[tuple[str, str], ...] = (),
    locks: tuple[str, ...] = (),
    variables: tuple[tuple[str, int], ...] = (),
    **programs: Iterable[Op],
) -> Scenario:
    return Scenario(
        name="waits",
        threads=threads(**programs),
        events=events,
        semaphores=semaphores,
        queues=queues,
        conditions=conditions,
        locks=locks,
        variables=variables,
        runtime=runtime,
    )


def set_(e: str) -> Op:
    return op(OpKind.SET, e)


def clear(e: str) -> Op:
    return op(OpKind.CLEAR, e)


def wait(e: str) -> Op:
    return op(OpKind.WAIT, e)


def put(q: str) -> Op:
    return op(OpKind.PUT, q)


def get(q: str) -> Op:
    return op(OpKind.GET, q)


def join(t: str) -> Op:
    return op(OpKind.JOIN, t)


def sem_acquire(s: str) -> Op:
    return op(OpKind.SEMAPHORE_ACQUIRE, s)


def sem_release(s: str) -> Op:
    return op(OpKind.SEMAPHORE_RELEASE, s)


def acquire(lock: str) -> Op:
    return op(OpKind.ACQUIRE, lock)


def release(lock: str) -> Op:
    return op(OpKind.RELEASE, lock)


def cwait(c: str) -> Op:
    return op(OpKind.CONDITION_WAIT, c)


def notify(c: str) -> Op:
    return op(OpKind.NOTIFY, c)


def notify_all(c: str) -> Op:
    return op(OpKind.NOTIFY_ALL, c)


def add(v: str = "x") -> Op:
    return Op(OpKind.ADD, v, 1)


def names(machine: Machine, threads: Iterable[int]) -> list[str]:
    return [machine.thread_names[t] for t in threads]


def counts(scenario: Scenario, runtime: Runtime | None = None) -> dict[str, int]:
    """Interleavings per outcome, written ``"deadlock · x = 1"``, by brute force over the
    machine."""
    found = outcome_counts(Machine(scenario, runtime))
    return {str(outcome): n for outcome, n in found.items()}


# -- events -------------------------------------------------------------------------------


def test_wait_is_enabled_only_while_the_event_is_set() -> None:
    machine = Machine(waiting(events=("E",), T1=[wait("E")], T2=[set_("E"), clear("E")]))
    state = machine.initial()
    assert (0,) == state.sync
    assert ["T2"] == names(machine, machine.enabled(state))
    assert "it is waiting for event E to be set" == machine.why_not_enabled(state, 0)
    state, events, _ = drive(machine, "T2", state)
    assert (1,) == state.sync
    assert [("SET", 1)] == [(e.micro, e.value) for e in events]
    assert ["T1", "T2"] == names(machine, machine.enabled(state))
    cleared, _, _ = drive(machine, "T2", state)
    assert (0,) == cleared.sync
    assert ["T1"] == [machine.thread_names[t] for t, _ in machine.blocked(cleared)]


def test_an_event_cleared_before_the_waiter_looks_is_a_deadlock() -> None:
    """T1 waits on E; T2 sets and clears it. T1 can only run between the two: T2 T1 T2
    ends well, T2 T2 leaves T1 waiting for ever. Two interleavings, one deadlocked."""
    scenario = waiting(events=("E",), T1=[wait("E")], T2=[set_("E"), clear("E")])
    assert {"no anomaly": 1, "deadlock": 1} == counts(scenario)
    _, _, anomalies = run_to_end(Machine(scenario), "T2*2")
    assert ["deadlock: T1 waits for event E to be set"] == [a.message for a in anomalies]


def test_set_on_a_set_event_and_wait_leave_it_set() -> None:
    machine = Machine(waiting(events=("E",), T1=[set_("E"), set_("E"), wait("E")]))
    state, events, _ = run_to_end(machine, "T1*3")
    assert (1,) == state.sync
    assert [1, 1, 1] == [e.value for e in events]


# -- semaphores ---------------------------------------------------------------------------


def test_a_semaphore_counts_down_to_zero_then_blocks() -> None:
    scenario = waiting(
        semaphores=(("S", 1),), T1=[sem_acquire("S"), sem_release("S")], T2=[sem_acquire("S")]
    )
    machine = Machine(scenario)
    state = machine.initial()
    assert (1,) == state.sync
    state, events, _ = drive(machine, "T1", state)
    assert (0,) == state.sync
    assert [("ACQUIRE", "S", 0)] == [(e.micro, e.subject, e.value) for e in events]
    assert ["T1"] == names(machine, machine.enabled(state))
    reason = "it is waiting for semaphore S to be released (its count is 0)"
    assert reason == machine.why_not_enabled(state, 1)
    state, _, _ = drive(machine, "T1 T2", state)
    assert (0,) == state.sync


def test_any_thread_may_release_a_semaphore_even_above_its_start() -> None:
    machine = Machine(waiting(semaphores=(("S", 0),), T1=[sem_release("S"), sem_release("S")]))
    state, _, anomalies = run_to_end(machine, "T1*2")
    assert (2,) == state.sync
    assert [] == anomalies


def test_a_semaphore_of_one_is_a_lock_and_of_two_lets_the_race_in() -> None:
    """Each thread: acquire S, x += 1, release S (5 micro-steps: A, L, B, S, R). With S at
    1 the threads run one after the other: 2 interleavings, both x = 2.

    With S at 2 nobody ever waits: all C(10, 5) = 252 interleavings of two 5-step threads
    run. The update is kept only if one thread's STORE_GLOBAL (its 4th step) comes before
    the other's LOAD_GLOBAL (its 2nd). Write an interleaving as a word of 1s and 2s; "T1's
    4th step before T2's 2nd" means at most one 2 before the fourth 1: either none (1111,
    then the last 1 among five 2s: 6 words) or one, in one of the first four places (4
    ways, then the last 1 among four 2s: 5 ways, 20 words). 26 words, and as many with the
    threads swapped (the two cases exclude each other): 52 keep both updates (x = 2), the
    other 200 lose one (x = 1)."""
    body = [sem_acquire("S"), add(), sem_release("S")]
    one = waiting(semaphores=(("S", 1),), variables=(("x", 0),), T1=body, T2=body)
    assert {"no anomaly · x = 2": 2} == counts(one)
    two = waiting(semaphores=(("S", 2),), variables=(("x", 0),), T1=body, T2=body)
    assert {"no anomaly · x = 2": 52, "lost-update · x = 1": 200} == counts(two)


# -- queues -------------------------------------------------------------------------------


def test_put_blocks_on_a_full_queue_and_get_on_an_empty_one() -> None:
    machine = Machine(waiting(queues=(("Q", 1),), P=[put("Q"), put("Q")], C=[get("Q")]))
    state = machine.initial()
    assert ["P"] == names(machine, machine.enabled(state))
    assert "it is waiting for Q to hold an item" == machine.why_not_enabled(state, 1)
    state, events, _ = drive(machine, "P", state)
    assert [("PUT", 1)] == [(e.micro, e.value) for e in events]
    assert ["C"] == names(machine, machine.enabled(state))
    reason = "it is waiting for room in Q (it holds 1 of 1 items)"
    assert reason == machine.why_not_enabled(state, 0)
    state, events, _ = drive(machine, "C P", state)
    assert [("GET", 0), ("PUT", 1)] == [(e.micro, e.value) for e in events]
    assert () == machine.enabled(state)
    assert [] == [a.kind for a in machine.conclude(state)]


def test_two_items_through_a_queue_of_one_have_one_interleaving() -> None:
    """P puts twice, C gets twice, Q holds 1: P must put, then C must get (P is full),
    then P, then C: P C P C, the only interleaving."""
    scenario = waiting(queues=(("Q", 1),), P=[put("Q"), put("Q")], C=[get("Q"), get("Q")])
    assert {"no anomaly": 1} == counts(scenario)
    assert "P C P C" == str(run(scenario).schedule)


def test_two_items_through_a_queue_of_two_have_two_interleavings() -> None:
    """With room for both items the gets need only follow their puts: P P C C and
    P C P C (the ballot sequences of length 4, Catalan(2) = 2)."""
    scenario = waiting(queues=(("Q", 2),), P=[put("Q"), put("Q")], C=[get("Q"), get("Q")])
    assert {"no anomaly": 2} == counts(scenario)


def test_a_consumer_with_no_producer_deadlocks() -> None:
    scenario = waiting(queues=(("Q", 3),), C=[get("Q")])
    _, _, anomalies = run_to_end(Machine(scenario), "")
    assert ["deadlock: C waits for Q to hold an item"] == [a.message for a in anomalies]


# -- join ---------------------------------------------------------------------------------


def test_join_waits_for_the_thread_to_finish() -> None:
    """M joins W, which does x += 1 (3 micro-steps): M can run only after all three, so
    there is one interleaving, W*3 M, whatever the runtime."""
    scenario = waiting(variables=(("x", 0),), M=[join("W")], W=[add()])
    machine = Machine(scenario)
    assert "it is waiting for W to finish" == machine.why_not_enabled(machine.initial(), 0)
    for runtime in (UNSAFE, GIL, ATOMIC):
        assert {"no anomaly · x = 1": 1} == counts(scenario, runtime)
    assert "W*3 M" == str(run(scenario).schedule)


def test_joined_twins_are_told_apart() -> None:
    """W1 and W2 run the same program, so the explorer would treat them as
    interchangeable; but M joins W1 only, then reads x: swapping them changes what M
    waits for. The explorer must agree with brute force."""
    body = (add(),)
    scenario = Scenario(
        name="twins",
        threads=(
            ThreadSpec("M", (join("W1"), add("y"))),
            ThreadSpec("W1", body),
            ThreadSpec("W2", body),
        ),
        variables=(("x", 0), ("y", 0)),
    )
    assert brute_force(scenario).table() == table(explore(scenario))


# -- conditions ---------------------------------------------------------------------------

WAITER = [acquire("L"), cwait("C"), release("L")]
NOTIFIER = [acquire("L"), notify("C"), release("L")]


def test_wait_releases_the_lock_joins_the_waiters_and_needs_a_notify_and_the_lock() -> None:
    machine = Machine(waiting(locks=("L",), conditions=(("C", "L"),), W=WAITER, N=NOTIFIER))
    state, events, _ = drive(machine, "W W")
    assert [("ACQUIRE", None), ("CWAIT", 1)] == [(e.micro, e.value) for e in events]
    assert (-1,) == state.holders
    assert ((0,),) == state.waiters
    assert ["N"] == names(machine, machine.enabled(state))
    assert "it is waiting for a notify on C" == machine.why_not_enabled(state, 0)
    state, events, _ = drive(machine, "N N", state)
    assert ((),) == state.waiters
    assert [("NOTIFY", 0)] == [(e.micro, e.value) for e in events[1:]]
    # Notified, but N still holds L.
    reason = "it is waiting for lock L, which N holds, to return from wait C"
    assert reason == machine.why_not_enabled(state, 0)
    state, events, _ = drive(machine, "N W W", state)
    assert ["RELEASE", "REACQUIRE", "RELEASE"] == [e.micro for e in events]
    assert () == machine.enabled(state)
    assert [] == list(machine.conclude(state))


def test_a_notify_before_the_wait_is_lost() -> None:
    """The lost wake-up. W: acquire L, wait C, release L (4 micro-steps: ACQUIRE, CWAIT,
    REACQUIRE, RELEASE); N: acquire L, notify C, release L. Whoever takes L first runs
    until it lets go: if W does, it waits (releasing L), N takes L, notifies W, releases
    L, and W takes L back: W W N N N W W. If N does, its notify finds no waiter and is
    lost; W then waits for ever. Two interleavings under every runtime, one deadlocked."""
    scenario = waiting(locks=("L",), conditions=(("C", "L"),), W=WAITER, N=NOTIFIER)
    for runtime in (UNSAFE, GIL, ATOMIC):
        assert {"no anomaly": 1, "deadlock": 1} == counts(scenario, runtime)
    result = run(scenario, schedule=Schedule.parse("N*3 W*2"))
    assert ["deadlock: W waits for a notify on C"] == [a.message for a in result.anomalies]


def test_notify_wakes_the_first_waiter_and_notify_all_every_waiter() -> None:
    scenario = waiting(
        locks=("L",),
        conditions=(("C", "L"),),
        A=WAITER,
        B=WAITER,
        N=[acquire("L"), notify("C"), notify_all("C"), release("L")],
    )
    machine = Machine(scenario)
    state, _, _ = drive(machine, "A A B B N N")
    assert ((1,),) == state.waiters  # A, the first, was notified; B waits on
    state, events, _ = drive(machine, "N", state)
    assert ((),) == state.waiters
    assert ("NOTIFY_ALL", 0) == (events[0].micro, events[0].value)
    state, _, _ = drive(machine, "N A A B B", state)
    assert () == machine.enabled(state)
    assert [] == list(machine.conclude(state))


def test_a_waiter_between_its_two_bytecodes_lets_the_gil_go() -> None:
    """Under the GIL, `wait C` is two bytecodes: another thread runs between them."""
    scenario = waiting(GIL, locks=("L",), conditions=(("C", "L"),), W=WAITER, N=NOTIFIER)
    machine = Machine(scenario)
    state, _, _ = drive(machine, "W W")
    assert -1 == state.inside
    assert ["N"] == names(machine, machine.enabled(state))


# -- the explorer and the engine agree ---------------------------------------------------


PRODUCER_CONSUMER = waiting(
    queues=(("Q", 1),),
    variables=(("x", 0), ("y", 0)),
    P=[add(), put("Q"), add(), put("Q")],
    C=[get("Q"), add("y"), get("Q")],
)


AGREEING = [
    PRODUCER_CONSUMER,
    waiting(locks=("L",), conditions=(("C", "L"),), W=WAITER, N=NOTIFIER),
    waiting(
        locks=("L",),
        conditions=(("C", "L"),),
        A=WAITER,
        B=WAITER,
        N=[acquire("L"), notify_all("C"), release("L")],
    ),
    waiting(
        semaphores=(("S", 2),),
        variables=(("x", 0),),
        A=[sem_acquire("S"), add(), sem_release("S")],
        B=[sem_acquire("S"), add(), sem_release("S")],
        C=[sem_acquire("S"), sem_release("S")],
    ),
    waiting(events=("E",), variables=(("x", 0),), A=[wait("E"), add()], B=[add(), set_("E")]),
]
AGREEING_IDS = ["producer-consumer", "lost-wakeup", "notify-all", "semaphore-pool", "event"]


@pytest.mark.parametrize("runtime", [UNSAFE, GIL, ATOMIC])
@pytest.mark.parametrize("scenario", AGREEING, ids=AGREEING_IDS)
def test_the_explorer_agrees_with_brute_force(scenario: Scenario, runtime: Runtime) -> None:
    assert brute_force(scenario, runtime).table() == table(explore(scenario, runtime=runtime))


@pytest.mark.parametrize("runtime", [UNSAFE, GIL])
@pytest.mark.parametrize("scenario", AGREEING, ids=AGREEING_IDS)
def test_search_finds_each_reachable_kind_with_the_explorers_fewest_preemptions(
    scenario: Scenario, runtime: Runtime
) -> None:
    exploration = explore(scenario, runtime=runtime)
    for kind in exploration.kinds:
        fewest = min(s.preemptions for s in exploration.outcomes if kind in s.outcome.anomalies)
        found = search(scenario, want=kind, runtime=runtime, max_examples=300)
        assert found is not None, kind
        assert kind in found.anomaly_kinds
        assert fewest == found.preemptions
        assert found.outcome == run(scenario, runtime=runtime, schedule=found.schedule).outcome


# -- timed mode ---------------------------------------------------------------------------


def test_a_blocked_thread_uses_no_core_and_no_gil_and_is_accounted_as_blocked() -> None:
    """C waits for an item P produces after 1 ms of I/O: C is blocked, using no core and
    not waiting for the GIL, for that millisecond (and P's IO call); woken by P's PUT, it
    then waits for the GIL, which P holds until its PUT ends and hands over."""
    scenario = Scenario(
        name="timed",
        threads=threads(P=[Op(OpKind.IO, None, 1_000_000), put("Q")], C=[get("Q")]),
        queues=(("Q", 1),),
        runtime=GIL,
    )
    result = run_timed(scenario)
    assert result.metrics is not None
    metrics = dict(result.metrics.threads)
    assert [] == list(result.anomalies)
    assert IO_CALL + 1_000_000 == metrics["C"].blocked_ns
    assert QUEUE_OP + GIL_HANDOFF == metrics["C"].gil_wait_ns
    assert metrics["C"].finished_ns is not None
    states = {state for thread, state, _, _ in result.metrics.spans if thread == "C"}
    assert "blocked" in states
    assert "P*2 C" == str(result.schedule)


def test_a_timed_deadlock_ends_the_run_with_the_blocked_thread_accounted() -> None:
    scenario = Scenario(
        name="timed",
        threads=threads(C=[get("Q")], D=[Op(OpKind.COMPUTE, None, 10)]),
        queues=(("Q", 1),),
        runtime=GIL,
    )
    result = run_timed(scenario)
    assert [DEADLOCK] == [a.kind for a in result.anomalies]
    assert result.metrics is not None
    c = dict(result.metrics.threads)["C"]
    assert c.finished_ns is None
    assert c.blocked_ns == result.metrics.makespan_ns


def test_timed_runs_replay_in_controlled_mode() -> None:
    scenario = Scenario(
        name="timed",
        threads=threads(P=[add(), put("Q"), add(), put("Q")], C=[get("Q"), get("Q"), join("P")]),
        queues=(("Q", 1),),
        variables=(("x", 0),),
        runtime=GIL,
    )
    timed = run_timed(scenario)
    replayed = run(scenario, schedule=timed.schedule)
    assert Counter([replayed.outcome]) == Counter([timed.outcome])
    assert Outcome((), (("x", 2),)) == replayed.outcome

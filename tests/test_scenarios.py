"""The bundled scenarios: each loads, and a hand-checked schedule reaches each anomaly
it claims, with the final state worked out by hand (see the comments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from refsim import AnomalyKind, Runtime, Schedule, load_file, run
from refsim.bundled import bundled_scenarios

SCENARIOS = Path(__file__).parent.parent / "scenarios"
K = AnomalyKind

# (file, runtime, schedule, anomaly kinds reached, final state)
HAND_CHECKED = [
    # Both LOAD 2 (steps 1-2), both store 1: T2's decref is lost, obj is never freed.
    ("leak", Runtime.UNSAFE, "T1 T2*3 T1*2", {K.LEAK, K.LOST_UPDATE}, (("obj", 1),)),
    # Serial: T1 stores 1, T2 stores 0 and frees.
    ("leak", Runtime.GIL, "T1*3 T2*4", set(), (("obj", "freed"),)),
    # Both LOAD 1, both store 2: one of three references is not counted.
    ("lost_update", Runtime.UNSAFE, "T1 T2*3 T1*2", {K.LOST_UPDATE}, (("obj", 2),)),
    # The increfs race (count 2, true 3); T1's decref: 2 -> 1; T2's decref: 1 -> 0 and
    # DEALLOC while the list's reference lives (premature); T2's use reads freed memory.
    (
        "premature_free",
        Runtime.UNSAFE,
        "T1 T2*3 T1*5 T2*5",
        {K.LOST_UPDATE, K.PREMATURE_FREE, K.USE_AFTER_FREE},
        (("obj", "freed"),),
    ),
    # Increfs race (count 3, true 4); first decrefs serial (3 -> 2 -> 1); last decrefs
    # both LOAD 1: T1 stores 0 and frees early (true refs 1), T2 stores 0 into freed memory
    # over T1's store, then frees it again.
    (
        "double_free",
        Runtime.UNSAFE,
        "T1 T2*3 T1*5 T2*3 T1 T2 T1*3 T2*3",
        {K.DOUBLE_FREE, K.LOST_UPDATE, K.PREMATURE_FREE, K.USE_AFTER_FREE},
        (("obj", "freed"),),
    ),
    # Serial increfs (2 -> 4); the first decrefs race (T1 stores 3 over T2's 3): count 3
    # but true refs 2; the last decrefs are serial and the count ends at 1 with no
    # reference left.
    (
        "double_free",
        Runtime.UNSAFE,
        "T1*3 T2*3 T1 T2*3 T1*5 T2*3",
        {K.LEAK, K.LOST_UPDATE},
        (("obj", 1),),
    ),
    # counter += 1 is three bytecodes: the GIL switches between them.
    ("counter", Runtime.GIL, "T1 T2*3 T1*2", {K.LOST_UPDATE}, (("counter", 1),)),
    ("counter", Runtime.UNSAFE, "T1 T2*3 T1*2", {K.LOST_UPDATE}, (("counter", 1),)),
    ("counter", Runtime.ATOMIC, "T1 T2*3 T1*2", {K.LOST_UPDATE}, (("counter", 1),)),
    # T2 is blocked at `acquire L` until T1 releases it.
    ("counter_locked", Runtime.UNSAFE, "T1*5 T2*5", set(), (("counter", 2),)),
    # T1 increfs, uses and loads 2 for its decref; T2's decref stores 1; T1 stores 1 over
    # it: a reference-free object with count 1.
    ("borrowed", Runtime.UNSAFE, "T1*6 T2*3 T1", {K.LEAK, K.LOST_UPDATE}, (("obj", 1),)),
    # T2 loads 1; T1 increfs (1 -> 2), uses, loads 2; T2 stores 0 over T1's incref and
    # frees obj while T1's reference lives; T1 then stores 1 into freed memory.
    (
        "borrowed",
        Runtime.UNSAFE,
        "T2 T1*6 T2*3 T1",
        {K.LOST_UPDATE, K.PREMATURE_FREE, K.USE_AFTER_FREE},
        (("obj", "freed"),),
    ),
    (
        "borrowed",
        Runtime.UNSAFE,
        "T2*4 T1*8",
        {K.USE_AFTER_FREE, K.DOUBLE_FREE},
        (("obj", "freed"),),
    ),
    # T2 drops the only reference and frees obj; T1's incref, use and decref all touch
    # freed memory, and its decref stores 0 and frees obj again.
    ("borrowed", Runtime.GIL, "T2*4 T1*8", {K.USE_AFTER_FREE, K.DOUBLE_FREE}, (("obj", "freed"),)),
    (
        "borrowed",
        Runtime.ATOMIC,
        "T2*2 T1*4",
        {K.USE_AFTER_FREE, K.DOUBLE_FREE},
        (("obj", "freed"),),
    ),
    # T2's RMW takes the count to 0; T1 increfs it back to 1 before T2's DEALLOC, which
    # then frees obj under T1's live reference.
    (
        "borrowed",
        Runtime.ATOMIC,
        "T2 T1*2 T2 T1*2",
        {K.USE_AFTER_FREE, K.PREMATURE_FREE, K.DOUBLE_FREE},
        (("obj", "freed"),),
    ),
    # Each takes its first lock; neither can take its second.
    ("deadlock", Runtime.GIL, "T1 T2", {K.DEADLOCK}, ()),
    ("deadlock", Runtime.UNSAFE, "T1 T2", {K.DEADLOCK}, ()),
    ("deadlock", Runtime.ATOMIC, "T2 T1", {K.DEADLOCK}, ()),
    # One after the other, no deadlock.
    ("deadlock", Runtime.UNSAFE, "T1*4 T2*4", set(), ()),
    # The notifier takes L first: its notify finds no waiter and is lost; the waiter then
    # waits on C for ever (its CWAIT released L).
    ("lost_wakeup", Runtime.GIL, "Notifier*3 Waiter*2", {K.DEADLOCK}, ()),
    ("lost_wakeup", Runtime.UNSAFE, "Notifier*3 Waiter*2", {K.DEADLOCK}, ()),
    ("lost_wakeup", Runtime.ATOMIC, "Notifier*3 Waiter*2", {K.DEADLOCK}, ()),
    # The waiter first: it waits (releasing L), is notified, and takes L back.
    ("lost_wakeup", Runtime.GIL, "Waiter*2 Notifier*3 Waiter*2", set(), ()),
    # Main loads done1 = 0, W1 adds 1 (done1 = 1), Main stores 0 - 2 over it: W1's
    # update is lost. Main finishes (done2 = -2, total = 4), W1 adds 1 (done1 = -1), W2
    # adds 2 (done2 = 0).
    (
        "forgot_join",
        Runtime.GIL,
        "Main W1*3 Main*11 W1*3 W2*6",
        {K.LOST_UPDATE},
        (("done1", -1), ("done2", 0), ("total", 4)),
    ),
    (
        "forgot_join",
        Runtime.UNSAFE,
        "Main W1*3 Main*11 W1*3 W2*6",
        {K.LOST_UPDATE},
        (("done1", -1), ("done2", 0), ("total", 4)),
    ),
    (
        "forgot_join",
        Runtime.ATOMIC,
        "Main W1*3 Main*11 W1*3 W2*6",
        {K.LOST_UPDATE},
        (("done1", -1), ("done2", 0), ("total", 4)),
    ),
    # Both joins return after their worker: Main moves 2 and 2 into total.
    (
        "join_then_sum",
        Runtime.GIL,
        "W1*6 W2*6 Main*14",
        set(),
        (("done1", 0), ("done2", 0), ("total", 4)),
    ),
    # W1 and W2 hold the two slots; W1 loads 0, W2 stores 1, W1 stores 1 over it (lost);
    # W3 waits for a slot, then adds 1: counter 2 after three increments.
    ("semaphore_pool", Runtime.GIL, "W1*2 W2*4 W1*3 W2 W3*5", {K.LOST_UPDATE}, (("counter", 2),)),
    (
        "semaphore_pool",
        Runtime.UNSAFE,
        "W1*2 W2*4 W1*3 W2 W3*5",
        {K.LOST_UPDATE},
        (("counter", 2),),
    ),
    (
        "semaphore_pool",
        Runtime.ATOMIC,
        "W1*2 W2*4 W1*3 W2 W3*5",
        {K.LOST_UPDATE},
        (("counter", 2),),
    ),
    # The producer builds item1, puts it and builds item2, then waits (Q holds 1); the
    # consumer takes item1, uses and frees it; the producer puts item2; the consumer takes,
    # uses and frees it. Every refcount update comes from the consumer.
    (
        "producer_consumer",
        Runtime.UNSAFE,
        "Producer*3 Consumer*6 Producer Consumer*6",
        set(),
        (("item1", "freed"), ("item2", "freed")),
    ),
]


# The new runtimes. A scenario without objects lowers the same under free-threaded,
# pypy and jython as under gil (the ops are the same micro-steps; pypy keeps the GIL,
# and with no refcount op inside a bytecode, gil allows every schedule the others do):
# its hand-checked gil schedules reach the same outcomes.
WITHOUT_OBJECTS = ("counter", "deadlock", "lost_wakeup", "forgot_join", "semaphore_pool")
HAND_CHECKED += [
    (name, new, schedule, kinds, final)
    for name, runtime, schedule, kinds, final in list(HAND_CHECKED)
    if name in WITHOUT_OBJECTS and runtime is Runtime.GIL
    for new in (Runtime.FREE_THREADED, Runtime.PYPY, Runtime.JYTHON)
]
HAND_CHECKED += [
    # biased under unsafe (owners mean nothing without biased counting): Main loads 2
    # for its incref; Worker's incref, use and first decref go by (2 -> 3 -> 2) and its
    # second decref loads 2; Main stores 3 over Worker's 2; ... two stores of 0 later both
    # threads free obj, the second time into freed memory.
    ("biased", Runtime.UNSAFE, "Main*2 Worker*3 Main*5 Worker*5 Main*4 Worker*3",
     {K.DOUBLE_FREE, K.LOST_UPDATE, K.PREMATURE_FREE, K.USE_AFTER_FREE}, (("obj", "freed"),)),
    # Main loads 2 for its incref, Worker runs all four ops (2 -> 3 -> 2 -> 1 ... its
    # decrefs leave 1), Main stores 3 over them and its decrefs end at 1: nobody refers
    # to obj, which is never freed.
    ("biased", Runtime.UNSAFE, "Main*2 Worker*10 Main*8", {K.LEAK, K.LOST_UPDATE},
     (("obj", 1),)),
    # immortal under the counting runtimes (immortal matters under free-threaded only):
    # T2 drops the only reference and frees None; T1's ops then touch freed memory and
    # its second decref frees it again.
    ("immortal", Runtime.UNSAFE, "T2*4 T1*10", {K.DOUBLE_FREE, K.USE_AFTER_FREE},
     (("none", "freed"),)),
    ("immortal", Runtime.UNSAFE, "T1*4 T2*3 T1*6", {K.LOST_UPDATE}, (("none", "freed"),)),
    ("immortal", Runtime.UNSAFE, "T2 T1*3 T2*3 T1*6",
     {K.LOST_UPDATE, K.PREMATURE_FREE, K.USE_AFTER_FREE}, (("none", "freed"),)),
    ("immortal", Runtime.GIL, "T2*4 T1*10", {K.DOUBLE_FREE, K.USE_AFTER_FREE},
     (("none", "freed"),)),
    ("immortal", Runtime.ATOMIC, "T2*2 T1*4", {K.DOUBLE_FREE, K.USE_AFTER_FREE},
     (("none", "freed"),)),
    ("immortal", Runtime.ATOMIC, "T2 T1 T2 T1*3",
     {K.DOUBLE_FREE, K.PREMATURE_FREE, K.USE_AFTER_FREE}, (("none", "freed"),)),
    # tracing is borrowed's program: under the counting runtimes, borrowed's outcomes.
    ("tracing", Runtime.UNSAFE, "T2*4 T1*8", {K.DOUBLE_FREE, K.USE_AFTER_FREE},
     (("obj", "freed"),)),
    ("tracing", Runtime.UNSAFE, "T1*5 T2*3 T1*2", {K.LEAK, K.LOST_UPDATE}, (("obj", 1),)),
    ("tracing", Runtime.UNSAFE, "T2 T1*3 T2*3 T1*4",
     {K.LOST_UPDATE, K.PREMATURE_FREE, K.USE_AFTER_FREE}, (("obj", "freed"),)),
    ("tracing", Runtime.GIL, "T2*4 T1*8", {K.DOUBLE_FREE, K.USE_AFTER_FREE},
     (("obj", "freed"),)),
    ("tracing", Runtime.ATOMIC, "T2*2 T1*4", {K.DOUBLE_FREE, K.USE_AFTER_FREE},
     (("obj", "freed"),)),
    ("tracing", Runtime.ATOMIC, "T2 T1 T2 T1*3",
     {K.DOUBLE_FREE, K.PREMATURE_FREE, K.USE_AFTER_FREE}, (("obj", "freed"),)),
    ("tracing", Runtime.FREE_THREADED, "T2*2 T1*4", {K.DOUBLE_FREE, K.USE_AFTER_FREE},
     (("obj", "freed"),)),
    ("tracing", Runtime.FREE_THREADED, "T2 T1 T2 T1*3",
     {K.DOUBLE_FREE, K.PREMATURE_FREE, K.USE_AFTER_FREE}, (("obj", "freed"),)),
    # Under pypy nothing goes wrong: T2 drops its pointer, T1 takes, uses and drops one;
    # the collector frees obj at the end, when nothing refers to it.
    ("tracing", Runtime.PYPY, "T2 T1*3", set(), (("obj", "freed"),)),
    # borrowed under free-threaded: obj has no owner, so it starts merged and every
    # update is an atomic one on the shared count. T2's DECREF_SHARED takes it to 0,
    # merged: T2 frees it; T1's ADD_SHARED and READ touch freed memory, and its decref
    # takes the count to 0 again and frees obj a second time.
    ("borrowed", Runtime.FREE_THREADED, "T2*2 T1*4", {K.USE_AFTER_FREE, K.DOUBLE_FREE},
     (("obj", "freed"),)),
    # T2's DECREF_SHARED reaches 0; T1's ADD_SHARED brings it back to 1 before T2's
    # DEALLOC, which then frees obj under T1's live reference.
    ("borrowed", Runtime.FREE_THREADED, "T2 T1*2 T2 T1*2",
     {K.USE_AFTER_FREE, K.PREMATURE_FREE, K.DOUBLE_FREE}, (("obj", "freed"),)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "runtime", "schedule", "kinds", "final"), HAND_CHECKED)
def test_hand_checked_run(
    name: str,
    runtime: Runtime,
    schedule: str,
    kinds: set[AnomalyKind],
    final: tuple[tuple[str, object], ...],
) -> None:
    scenario = load_file(SCENARIOS / f"{name}.yaml")
    result = run(scenario, runtime=runtime, schedule=Schedule.parse(schedule))
    assert kinds == set(result.anomaly_kinds)
    assert final == result.final
    assert result.completed_from is None, "the hand-checked schedule is complete"
    assert Schedule.parse(schedule) == result.schedule


def test_every_claimed_anomaly_has_a_hand_checked_run() -> None:
    covered = {
        (name, runtime, kind) for name, runtime, _, kinds, _ in HAND_CHECKED for kind in kinds
    }
    missing = []
    for path in bundled_scenarios():
        scenario = load_file(path)
        for runtime, claimed in scenario.expect:
            for kind in claimed:
                if (path.stem, runtime, kind) not in covered:
                    missing.append((path.stem, runtime.value, kind.value))
    assert [] == missing


def test_bundled_scenarios_are_the_documented_set() -> None:
    expected = [
        "biased",
        "borrowed",
        "convoy",
        "counter",
        "counter_locked",
        "cpu_bound",
        "deadlock",
        "double_free",
        "forgot_join",
        "immortal",
        "io_bound",
        "io_then_transform",
        "join_then_sum",
        "leak",
        "lost_update",
        "lost_wakeup",
        "premature_free",
        "producer_consumer",
        "semaphore_pool",
        "tracing",
    ]
    assert expected == [p.stem for p in bundled_scenarios()]


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_bundled_scenario_is_documented_and_claims_every_runtime(path: Path) -> None:
    scenario = load_file(path)
    assert path.stem == scenario.name
    assert len(scenario.description.split()) >= 30, "a description a student can learn from"
    assert {r for r, _ in scenario.expect} == set(Runtime)

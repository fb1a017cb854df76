"""Unit tests for refsim.lowering: each op's bytecodes and micro-steps, per runtime, exactly
as MODEL.md's table gives them."""

from __future__ import annotations

import pytest

from refsim.lowering import Bytecode, MicroStep, lower
from refsim.model import MicroKind, Op, OpKind, Runtime
from refsim.runtimes import traits

M = MicroKind
NON_ATOMIC = [Runtime.UNSAFE, Runtime.GIL]
ALL = list(Runtime)


def shape(bytecodes: tuple[Bytecode, ...]) -> list[list[tuple[MicroKind, str | None]]]:
    """Bytecodes as lists of (micro-step kind, subject), the table's view of them."""
    return [[(s.kind, s.subject) for s in b.steps] for b in bytecodes]


@pytest.mark.parametrize("runtime", NON_ATOMIC)
def test_incref_is_load_add_store_in_one_bytecode(runtime: Runtime) -> None:
    bytecodes = lower(Op(OpKind.INCREF, "obj"), runtime)
    assert [[(M.LOAD, "obj"), (M.ADD, "obj"), (M.STORE, "obj")]] == shape(bytecodes)
    assert [1] == [b.times for b in bytecodes]
    assert 1 == bytecodes[0].steps[1].amount


@pytest.mark.parametrize("runtime", NON_ATOMIC)
def test_decref_is_load_sub_store_dealloc_in_one_bytecode(runtime: Runtime) -> None:
    bytecodes = lower(Op(OpKind.DECREF, "obj"), runtime)
    expected = [[(M.LOAD, "obj"), (M.SUB, "obj"), (M.STORE, "obj"), (M.DEALLOC, "obj")]]
    assert expected == shape(bytecodes)
    assert [1] == [b.times for b in bytecodes]
    assert -1 == bytecodes[0].steps[1].amount


def test_incref_under_atomic_is_one_rmw() -> None:
    bytecodes = lower(Op(OpKind.INCREF, "obj"), Runtime.ATOMIC)
    assert (Bytecode((MicroStep(M.RMW, "obj", 1),)),) == bytecodes


def test_decref_under_atomic_is_rmw_then_dealloc() -> None:
    bytecodes = lower(Op(OpKind.DECREF, "obj"), Runtime.ATOMIC)
    assert [[(M.RMW, "obj"), (M.DEALLOC, "obj")]] == shape(bytecodes)
    assert -1 == bytecodes[0].steps[0].amount


@pytest.mark.parametrize("runtime", ALL)
def test_use_is_one_read(runtime: Runtime) -> None:
    assert (Bytecode((MicroStep(M.READ, "obj"),)),) == lower(Op(OpKind.USE, "obj"), runtime)


@pytest.mark.parametrize("runtime", ALL)
@pytest.mark.parametrize(("kind", "n", "signed"), [(OpKind.ADD, 1, 1), (OpKind.SUB, 4, -4)])
def test_variable_update_is_three_bytecodes_under_every_runtime(
    runtime: Runtime, kind: OpKind, n: int, signed: int
) -> None:
    bytecodes = lower(Op(kind, "counter", n), runtime)
    expected = [
        [(M.LOAD_GLOBAL, "counter")],
        [(M.BINARY_OP, "counter")],
        [(M.STORE_GLOBAL, "counter")],
    ]
    assert expected == shape(bytecodes)
    assert [1, 1, 1] == [b.times for b in bytecodes]
    assert signed == bytecodes[1].steps[0].amount


@pytest.mark.parametrize("runtime", ALL)
@pytest.mark.parametrize("n", [1, 50, 10_000_000])
def test_compute_is_one_repeated_bytecode(runtime: Runtime, n: int) -> None:
    assert (Bytecode((MicroStep(M.COMPUTE),), times=n),) == lower(
        Op(OpKind.COMPUTE, None, n), runtime
    )


@pytest.mark.parametrize("runtime", ALL)
def test_io_is_one_micro_step_carrying_its_duration(runtime: Runtime) -> None:
    bytecodes = lower(Op(OpKind.IO, None, 5_000_000), runtime)
    assert (Bytecode((MicroStep(M.IO, None, 5_000_000),)),) == bytecodes


@pytest.mark.parametrize("runtime", ALL)
def test_acquire_and_release_are_one_micro_step_each(runtime: Runtime) -> None:
    assert [[(M.ACQUIRE, "L")]] == shape(lower(Op(OpKind.ACQUIRE, "L"), runtime))
    assert [[(M.RELEASE, "L")]] == shape(lower(Op(OpKind.RELEASE, "L"), runtime))


def test_every_op_kind_lowers_under_every_runtime() -> None:
    ops = {
        OpKind.INCREF: Op(OpKind.INCREF, "obj"),
        OpKind.DECREF: Op(OpKind.DECREF, "obj"),
        OpKind.USE: Op(OpKind.USE, "obj"),
        OpKind.ADD: Op(OpKind.ADD, "counter", 1),
        OpKind.SUB: Op(OpKind.SUB, "counter", 1),
        OpKind.COMPUTE: Op(OpKind.COMPUTE, None, 2),
        OpKind.IO: Op(OpKind.IO, None, 1),
        OpKind.ACQUIRE: Op(OpKind.ACQUIRE, "L"),
        OpKind.RELEASE: Op(OpKind.RELEASE, "L"),
        OpKind.SEMAPHORE_ACQUIRE: Op(OpKind.SEMAPHORE_ACQUIRE, "S"),
        OpKind.SEMAPHORE_RELEASE: Op(OpKind.SEMAPHORE_RELEASE, "S"),
        OpKind.SET: Op(OpKind.SET, "E"),
        OpKind.CLEAR: Op(OpKind.CLEAR, "E"),
        OpKind.WAIT: Op(OpKind.WAIT, "E"),
        OpKind.PUT: Op(OpKind.PUT, "Q"),
        OpKind.GET: Op(OpKind.GET, "Q"),
        OpKind.JOIN: Op(OpKind.JOIN, "T2"),
        OpKind.CONDITION_WAIT: Op(OpKind.CONDITION_WAIT, "C"),
        OpKind.NOTIFY: Op(OpKind.NOTIFY, "C"),
        OpKind.NOTIFY_ALL: Op(OpKind.NOTIFY_ALL, "C"),
    }
    assert set(OpKind) == set(ops)
    for runtime in Runtime:
        for op in ops.values():
            bytecodes = lower(op, runtime)
            assert bytecodes, (op, runtime)
            assert all(b.steps for b in bytecodes), (op, runtime)


@pytest.mark.parametrize(
    ("op", "micro_steps"),
    [
        (Op(OpKind.SEMAPHORE_ACQUIRE, "S"), [[M.ACQUIRE]]),
        (Op(OpKind.SEMAPHORE_RELEASE, "S"), [[M.RELEASE]]),
        (Op(OpKind.SET, "E"), [[M.SET]]),
        (Op(OpKind.CLEAR, "E"), [[M.CLEAR]]),
        (Op(OpKind.WAIT, "E"), [[M.WAIT]]),
        (Op(OpKind.PUT, "Q"), [[M.PUT]]),
        (Op(OpKind.GET, "Q"), [[M.GET]]),
        (Op(OpKind.JOIN, "T2"), [[M.JOIN]]),
        (Op(OpKind.CONDITION_WAIT, "C"), [[M.CWAIT], [M.REACQUIRE]]),
        (Op(OpKind.NOTIFY, "C"), [[M.NOTIFY]]),
        (Op(OpKind.NOTIFY_ALL, "C"), [[M.NOTIFY_ALL]]),
    ],
)
def test_waiting_ops_are_one_micro_step_each_and_wait_c_two_bytecodes(
    op: Op, micro_steps: list[list[M]]
) -> None:
    """MODEL.md: each op is one bytecode of one micro-step under every runtime, except
    `wait C`, two bytecodes (CWAIT, REACQUIRE)."""
    for runtime in Runtime:
        bytecodes = lower(op, runtime)
        assert micro_steps == [[step.kind for step in b.steps] for b in bytecodes]
        assert all(step.subject == op.subject for b in bytecodes for step in b.steps)


def test_ops_print_as_written() -> None:
    assert "acquire S" == str(Op(OpKind.SEMAPHORE_ACQUIRE, "S"))
    assert "wait C" == str(Op(OpKind.CONDITION_WAIT, "C"))
    assert "notify_all C" == str(Op(OpKind.NOTIFY_ALL, "C"))
    assert "join W1" == str(Op(OpKind.JOIN, "W1"))


def test_micro_step_str() -> None:
    assert "LOAD obj" == str(MicroStep(M.LOAD, "obj"))
    assert "COMPUTE" == str(MicroStep(M.COMPUTE))


@pytest.mark.parametrize(
    ("runtime", "atomic_refcounts", "bytecode_atomic"),
    [(Runtime.UNSAFE, False, False), (Runtime.GIL, False, True), (Runtime.ATOMIC, True, False)],
)
def test_runtime_traits(runtime: Runtime, atomic_refcounts: bool, bytecode_atomic: bool) -> None:
    t = traits(runtime)
    assert (atomic_refcounts, bytecode_atomic) == (t.atomic_refcounts, t.bytecode_atomic)
    assert t.summary

"""Lowering: op -> bytecodes -> micro-steps, per runtime (MODEL.md, "Ops, bytecodes and
micro-steps" and "Threads that wait for each other").

``compute n`` is n identical one-micro-step bytecodes; rather than materialise them,
a :class:`Bytecode` carries a repeat count, so ``compute 10000000`` costs one value.
"""

from __future__ import annotations

from dataclasses import dataclass

from refsim.model import MicroKind, Op, OpKind, Runtime
from refsim.runtimes import traits

__all__ = ["Bytecode", "MicroStep", "lower"]


@dataclass(frozen=True, slots=True)
class MicroStep:
    """One micro-step of a lowered op.

    ``amount`` is the change a step applies (+1/-1 for refcount ADD, SUB and RMW, the
    signed n of ``V += n`` for BINARY_OP) or the duration of IO in nanoseconds.
    """

    kind: MicroKind
    subject: str | None = None
    amount: int = 0

    def __str__(self) -> str:
        return self.kind.value if self.subject is None else f"{self.kind.value} {self.subject}"


@dataclass(frozen=True, slots=True)
class Bytecode:
    """A bytecode: micro-steps that the GIL never splits. ``times`` repeats it."""

    steps: tuple[MicroStep, ...]
    times: int = 1


def lower(op: Op, runtime: Runtime) -> tuple[Bytecode, ...]:
    """The bytecodes ``op`` runs as under ``runtime``.

    A decref's DEALLOC is listed but runs only if the value the decref stored (or its RMW
    produced) is 0; the machine skips it otherwise.
    """
    kind, subject = op.kind, op.subject
    if kind is OpKind.INCREF or kind is OpKind.DECREF:
        delta = 1 if kind is OpKind.INCREF else -1
        if traits(runtime).atomic_refcounts:
            steps: tuple[MicroStep, ...] = (MicroStep(MicroKind.RMW, subject, delta),)
        else:
            arith = MicroKind.ADD if delta > 0 else MicroKind.SUB
            steps = (
                MicroStep(MicroKind.LOAD, subject),
                MicroStep(arith, subject, delta),
                MicroStep(MicroKind.STORE, subject, delta),
            )
        if delta < 0:
            steps += (MicroStep(MicroKind.DEALLOC, subject),)
        return (Bytecode(steps),)
    if kind is OpKind.USE:
        return (Bytecode((MicroStep(MicroKind.READ, subject),)),)
    if kind is OpKind.ADD or kind is OpKind.SUB:
        n = op.amount if kind is OpKind.ADD else -op.amount
        return (
            Bytecode((MicroStep(MicroKind.LOAD_GLOBAL, subject),)),
            Bytecode((MicroStep(MicroKind.BINARY_OP, subject, n),)),
            Bytecode((MicroStep(MicroKind.STORE_GLOBAL, subject, n),)),
        )
    if kind is OpKind.COMPUTE:
        if op.amount < 1:
            return ()
        return (Bytecode((MicroStep(MicroKind.COMPUTE),), times=op.amount),)
    if kind is OpKind.IO:
        return (Bytecode((MicroStep(MicroKind.IO, None, op.amount),)),)
    if kind is OpKind.CONDITION_WAIT:
        # Two bytecodes, so that under the GIL other threads run between releasing the
        # lock and taking it back: that is where a notify can reach the waiter.
        return (
            Bytecode((MicroStep(MicroKind.CWAIT, subject),)),
            Bytecode((MicroStep(MicroKind.REACQUIRE, subject),)),
        )
    return (Bytecode((MicroStep(_ONE_STEP[kind], subject),)),)


_ONE_STEP = {
    OpKind.ACQUIRE: MicroKind.ACQUIRE,
    OpKind.RELEASE: MicroKind.RELEASE,
    OpKind.SEMAPHORE_ACQUIRE: MicroKind.ACQUIRE,
    OpKind.SEMAPHORE_RELEASE: MicroKind.RELEASE,
    OpKind.SET: MicroKind.SET,
    OpKind.CLEAR: MicroKind.CLEAR,
    OpKind.WAIT: MicroKind.WAIT,
    OpKind.PUT: MicroKind.PUT,
    OpKind.GET: MicroKind.GET,
    OpKind.JOIN: MicroKind.JOIN,
    OpKind.NOTIFY: MicroKind.NOTIFY,
    OpKind.NOTIFY_ALL: MicroKind.NOTIFY_ALL,
}
"""The ops that are one bytecode of one micro-step under every runtime (MODEL.md)."""

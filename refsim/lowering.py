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


def lower(
    op: Op,
    runtime: Runtime,
    *,
    owner: bool = False,
    immortal: bool = False,
    deferred: bool = False,
) -> tuple[Bytecode, ...]:
    """The bytecodes ``op`` runs as under ``runtime``.

    A decref's DEALLOC is listed but runs only if the value the decref stored (or its RMW
    produced) is 0; the machine skips it otherwise. Under ``free-threaded`` the
    micro-steps of ``incref X`` and ``decref X`` depend on X and on the thread that runs
    them: ``owner`` (X names this thread as its owner), ``immortal``, ``deferred`` (see
    :func:`_biased`); other runtimes ignore them.
    """
    kind, subject = op.kind, op.subject
    if kind is OpKind.INCREF or kind is OpKind.DECREF:
        delta = 1 if kind is OpKind.INCREF else -1
        counting = traits(runtime).counting
        if counting == "tracing":
            step = MicroKind.TAKE if delta > 0 else MicroKind.DROP
            return (Bytecode((MicroStep(step, subject, delta),)),)
        if counting == "biased":
            return (Bytecode(_biased(subject, delta, owner, immortal, deferred)),)
        if counting == "atomic":
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


def _biased(
    subject: str | None, delta: int, owner: bool, immortal: bool, deferred: bool
) -> tuple[MicroStep, ...]:
    """Free-threaded CPython's ``Py_INCREF``/``Py_DECREF`` (``Include/refcount.h``), one
    bytecode; docs/model.md gives each path with CPython's source lines.

    Listed in program order; the machine takes the path the object's state calls for and
    skips the rest, as it skips a DEALLOC after a store of a non-zero count:

    * immortal: IMMORTAL (the load of ``ob_ref_local`` that finds it immortal; no write);
    * deferred: DEFERRED (a stack reference: no count is written);
    * the owner, incref: LOAD_LOCAL, ADD, STORE_LOCAL, or, once the object is merged,
      ADD_SHARED;
    * the owner, decref: LOAD_LOCAL, SUB, STORE_LOCAL, then MERGE if it stored 0
      (``_Py_MergeZeroLocalRefcount``), or, once merged, DECREF_SHARED; DEALLOC when the
      merged count is 0;
    * another thread, incref: ADD_SHARED (``_Py_atomic_add_ssize``);
    * another thread, decref: DECREF_SHARED (``_Py_DecRefShared``), then QUEUE if it
      found the shared count at 0 (``_Py_brc_queue_object``), DEALLOC if a count reached
      0 merged.
    """
    if immortal:
        return (MicroStep(MicroKind.IMMORTAL, subject, delta),)
    if deferred:
        return (MicroStep(MicroKind.DEFERRED, subject, delta),)
    if owner and delta > 0:
        return (
            MicroStep(MicroKind.LOAD_LOCAL, subject, delta),
            MicroStep(MicroKind.ADD, subject, delta),
            MicroStep(MicroKind.STORE_LOCAL, subject, delta),
            MicroStep(MicroKind.ADD_SHARED, subject, delta),
        )
    if owner:
        return (
            MicroStep(MicroKind.LOAD_LOCAL, subject, delta),
            MicroStep(MicroKind.SUB, subject, delta),
            MicroStep(MicroKind.STORE_LOCAL, subject, delta),
            MicroStep(MicroKind.MERGE, subject),
            MicroStep(MicroKind.DECREF_SHARED, subject, delta),
            MicroStep(MicroKind.DEALLOC, subject),
        )
    if delta > 0:
        return (MicroStep(MicroKind.ADD_SHARED, subject, delta),)
    return (
        MicroStep(MicroKind.DECREF_SHARED, subject, delta),
        MicroStep(MicroKind.QUEUE, subject),
        MicroStep(MicroKind.DEALLOC, subject),
    )


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

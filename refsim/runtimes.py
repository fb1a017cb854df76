"""What each runtime changes: how refcount ops lower, and which threads are enabled.

MODEL.md "Runtimes" is the contract. A runtime is two independent choices:

* ``counting``: how ``incref``/``decref`` touch the object. ``plain``: LOAD, ADD/SUB,
  STORE of one word (``unsafe``, ``gil``); ``atomic``: one read-modify-write
  (``atomic``); ``biased``: free-threaded CPython's biased reference counting, with
  immortal and deferred objects (``free-threaded``); ``tracing``: no count at all, a
  tracing collector frees what is unreachable once the threads finish (``pypy``,
  ``jython``).
* ``bytecode_atomic``: a thread that has started a bytecode keeps running until the
  bytecode ends, which is what holding the GIL means in controlled mode (``gil``,
  ``pypy``).

Who is enabled is computed by :meth:`refsim.machine.Machine.enabled` from these traits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from refsim.model import Runtime

__all__ = ["GROUPS", "RuntimeTraits", "traits"]

Counting = Literal["plain", "atomic", "biased", "tracing"]


@dataclass(frozen=True, slots=True)
class RuntimeTraits:
    """The two things a runtime decides (see the module docstring)."""

    counting: Counting
    bytecode_atomic: bool
    summary: str
    """One sentence for reports."""

    @property
    def atomic_refcounts(self) -> bool:
        """Whether every incref and decref is one read-modify-write (``atomic``)."""
        return self.counting == "atomic"


_TRAITS = {
    Runtime.UNSAFE: RuntimeTraits(
        counting="plain",
        bytecode_atomic=False,
        summary="no GIL, plain LOAD/ADD/STORE refcounts: any thread may run any micro-step",
    ),
    Runtime.GIL: RuntimeTraits(
        counting="plain",
        bytecode_atomic=True,
        summary="one global interpreter lock: threads switch only between bytecodes",
    ),
    Runtime.ATOMIC: RuntimeTraits(
        counting="atomic",
        bytecode_atomic=False,
        summary="no GIL, refcount updates are atomic read-modify-writes",
    ),
    Runtime.FREE_THREADED: RuntimeTraits(
        counting="biased",
        bytecode_atomic=False,
        summary="no GIL, biased reference counting: the owner updates a local count with "
        "plain steps, other threads a shared count atomically",
    ),
    Runtime.PYPY: RuntimeTraits(
        counting="tracing",
        bytecode_atomic=True,
        summary="a GIL and a tracing garbage collector: no reference counts",
    ),
    Runtime.JYTHON: RuntimeTraits(
        counting="tracing",
        bytecode_atomic=False,
        summary="no GIL and a tracing garbage collector (the JVM's): no reference counts",
    ),
}

GROUPS: tuple[tuple[str, tuple[Runtime, ...]], ...] = (
    ("CPython with the GIL", (Runtime.GIL,)),
    (
        "CPython without the GIL",
        (Runtime.UNSAFE, Runtime.ATOMIC, Runtime.FREE_THREADED),
    ),
    ("other Pythons", (Runtime.PYPY, Runtime.JYTHON)),
)
"""The design space, as a learner compares it: the GIL; removing it naively, with atomic
counts, and as CPython really does; and Pythons that count nothing."""


def traits(runtime: Runtime) -> RuntimeTraits:
    """The traits of ``runtime``."""
    return _TRAITS[runtime]

"""What each runtime changes: how refcount ops lower, and which threads are enabled.

MODEL.md "Runtimes" is the contract. A runtime is two independent switches:

* ``atomic_refcounts``: ``incref``/``decref`` become one read-modify-write micro-step
  instead of LOAD, ADD/SUB, STORE (``atomic``).
* ``bytecode_atomic``: a thread that has started a bytecode keeps running until the
  bytecode ends, which is what holding the GIL means in controlled mode (``gil``).

Who is enabled is computed by :meth:`refsim.machine.Machine.enabled` from these traits.
"""

from __future__ import annotations

from dataclasses import dataclass

from refsim.model import Runtime

__all__ = ["RuntimeTraits", "traits"]


@dataclass(frozen=True, slots=True)
class RuntimeTraits:
    """The two things a runtime decides (see the module docstring)."""

    atomic_refcounts: bool
    bytecode_atomic: bool
    summary: str
    """One sentence for reports."""


_TRAITS = {
    Runtime.UNSAFE: RuntimeTraits(
        atomic_refcounts=False,
        bytecode_atomic=False,
        summary="no GIL, plain LOAD/ADD/STORE refcounts: any thread may run any micro-step",
    ),
    Runtime.GIL: RuntimeTraits(
        atomic_refcounts=False,
        bytecode_atomic=True,
        summary="one global interpreter lock: threads switch only between bytecodes",
    ),
    Runtime.ATOMIC: RuntimeTraits(
        atomic_refcounts=True,
        bytecode_atomic=False,
        summary="no GIL, refcount updates are atomic read-modify-writes",
    ),
}


def traits(runtime: Runtime) -> RuntimeTraits:
    """The traits of ``runtime``."""
    return _TRAITS[runtime]

"""refsim's own answer for the programs the experiments run: the share of interleavings
that lose an update, counted exactly by the explorer (:func:`refsim.explore.explore`)."""

from __future__ import annotations

from fractions import Fraction

from refsim.explore import explore
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, ThreadSpec
from refsim.real.values import Interpreter, percent

__all__ = ["counter_runtime", "lost_share", "lost_text", "refcount_lost_share"]

MAX_STATES = 200_000
"""The explorer's budget here: 8 threads of one `counter += 1` need 13,210 states."""


def counter_runtime(interpreter: Interpreter) -> Runtime:
    """The runtime refsim models this interpreter with: ``gil`` while the GIL is on;
    without it, ``free-threaded`` where refsim has that runtime, else ``atomic`` (no GIL;
    ``counter += 1`` is three bytecodes under every runtime, so the answer is the same)."""
    if interpreter.gil_enabled:
        return Runtime.GIL
    free: Runtime = getattr(Runtime, "FREE_THREADED", Runtime.ATOMIC)
    return free


def _share(scenario: Scenario) -> Fraction:
    table = explore(scenario, max_states=MAX_STATES)
    assert table.exhaustive
    lost = sum(s.count for s in table.outcomes if AnomalyKind.LOST_UPDATE in s.outcome.anomalies)
    return Fraction(lost, table.interleavings)


def lost_share(threads: int, runtime: Runtime, *, locked: bool = False) -> Fraction:
    """The share of the interleavings of ``threads`` threads, each doing one
    ``counter += 1`` (inside ``with lock:`` when ``locked``), that lose an update."""
    bump = Op(OpKind.ADD, "counter", 1)
    ops = (Op(OpKind.ACQUIRE, "L"), bump, Op(OpKind.RELEASE, "L")) if locked else (bump,)
    scenario = Scenario(
        name="counter",
        threads=tuple(ThreadSpec(f"T{i + 1}", ops) for i in range(threads)),
        variables=(("counter", 0),),
        locks=("L",) if locked else (),
        runtime=runtime,
    )
    return _share(scenario)


def refcount_lost_share(runtime: Runtime) -> Fraction:
    """The share of the interleavings of two threads, each doing one ``incref obj``,
    that lose an update (``unsafe``: 18 of 20; ``atomic``: none)."""
    ops = (Op(OpKind.INCREF, "obj"),)
    scenario = Scenario(
        name="lost_update",
        threads=(ThreadSpec("T1", ops), ThreadSpec("T2", ops)),
        objects=(("obj", 1),),
        runtime=runtime,
    )
    return _share(scenario)


def lost_text(share: Fraction) -> str:
    """``lost updates possible: yes, in 90% of interleavings``, or ``...: no``."""
    answer = f"yes, in {percent(share)} of interleavings" if share else "no"
    return f"lost updates possible: {answer}"

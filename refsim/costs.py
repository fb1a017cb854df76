"""Default costs of timed mode: how long each micro-step kind takes, and the GIL's and the
operating system's own costs, in nanoseconds.

A scenario's ``timing:`` section overrides any micro-step kind's cost, the number of
cores, the jitter and the switch interval; the rest come from here. Each figure is an
order of magnitude measured on real machines, with its source; none is meant to be exact
(docs/timed.md, "model vs reality", holds them against this machine).

Sources, cited below by their short names:

* **Fog**: Agner Fog, *Instruction tables* (2022), latencies of ``mov``, ``add`` and
  ``lock xadd`` on Intel Skylake and AMD Zen 3.
* **Dean**: Jeff Dean, *Latency numbers every programmer should know* (2012): mutex
  lock/unlock 25 ns, main memory reference 100 ns.
* **pyperformance**: CPython 3.11's specialising interpreter runs simple bytecodes
  (``LOAD_FAST``, ``BINARY_OP`` on small ints, ``LOAD_GLOBAL`` with its cache hit) in
  roughly 5-30 ns each; ``refsim real gil`` measures a ``for`` loop of ``x += 1`` on the
  machine it runs on (about seven bytecodes per iteration on 3.11: FOR_ITER, STORE_FAST,
  LOAD_FAST, LOAD_CONST, BINARY_OP, STORE_FAST, JUMP_BACKWARD).
* **Beazley**: David Beazley, *Understanding the Python GIL* (PyCon 2010) and *Inside
  the new GIL*: a GIL hand-off between threads takes a condition variable signal and a
  thread wake-up, a few microseconds to tens of microseconds depending on the OS.
* **CPython**: ``sys.getswitchinterval()`` is 0.005 s (5 ms) by default
  (``Python/ceval_gil.c``, ``DEFAULT_INTERVAL``).
* **fork**: ``multiprocessing`` starting a child with ``fork`` on Linux takes a few
  milliseconds (``refsim real gil`` measured 2.3-3.8 ms on a 2-core machine); with
  ``spawn`` (macOS, Windows) a fresh interpreter, tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from refsim.model import MicroKind, Timing

__all__ = [
    "ATOMIC_RMW",
    "BRC_QUEUE",
    "BYTECODE",
    "DEFAULT_CORES",
    "DEFAULT_COSTS",
    "DEFAULT_SWITCH_INTERVAL",
    "GIL_HANDOFF",
    "PLAIN_STEP",
    "PLAIN_WORD",
    "PROCESS_START",
    "QUEUE_OP",
    "SYNC_OP",
    "TimingSettings",
    "settings",
]

BYTECODE = 20
"""One simple bytecode of thread-local work (``compute``), and each bytecode of
``V += n`` (pyperformance; ``refsim real gil`` measures it on this machine)."""

PLAIN_WORD = 1
"""A plain load of a word already in the L1 cache, or a READ: a few cycles at 3-4 GHz,
about a nanosecond (Fog: ``mov`` latency 4-5 cycles from L1)."""

PLAIN_STEP = 0
"""The ADD (or SUB) and the STORE of a plain increment: a register add and a buffered
store, overlapped with the load. A whole plain ``ob_refcnt++`` measured 0.22-0.48 ns per
increment in a loop (``refsim real hardware``); the model's clock ticks in whole
nanoseconds, so it charges the increment 1 ns, all of it to the LOAD."""

ATOMIC_RMW = 7
"""An atomic read-modify-write (``lock xadd``) on an uncontended, cached line: about 18-20
cycles, 5-10 ns per increment measured by ``refsim real hardware`` (about 7 alone, 16-22x
a plain increment: Fog gives the same order). Contended, the line moves between cores
and it costs more: 5-11 ns more on the 2-core machine measured (19 ns in all on the
machine the issue measured; more between sockets); the model does not charge that
(docs/timed.md)."""

BRC_QUEUE = 50
"""``_Py_brc_queue_object``: lock the owner's bucket (a ``PyMutex``), find its thread
state, push the object, set the owner's eval-breaker bit, unlock: a few cache misses."""

DEFERRED_REF = 0
"""A stack reference to a deferred object: a tagged pointer, no count written."""

DEALLOC = 50
"""Freeing a small object: ``tp_dealloc`` and pymalloc's free list (pyperformance)."""

LOCK_OP = 25
"""``threading.Lock`` acquire or release, uncontended (Dean: mutex lock/unlock 25 ns)."""

IO_CALL = 1_000
"""The CPU part of a blocking call: entering the kernel and being switched out, about a
microsecond (lmbench's syscall and context-switch figures); the wait itself is ``D``."""

SYNC_OP = 500
"""One call of ``threading.Event``'s ``set``/``clear``/``wait`` (when it need not wait),
``Condition.notify``, ``Thread.join`` of a finished thread, or taking a condition's lock
back: these are Python code around a ``Lock``, measured at 0.3-1 µs per call with
``timeit`` on CPython 3.11 (docs/timed.md)."""

QUEUE_OP = 1_000
"""``queue.Queue.put`` or ``get`` (a ``Condition`` wait and notify around a deque), or
``Condition.wait``'s first half (a new waiter lock, the lock released): about 1 µs."""

GIL_HANDOFF = 5_000
"""From the GIL's release to the next holder running: a condition variable signal and a
thread wake-up, 5 µs (Beazley)."""

PROCESS_START = 2_000_000
"""Starting one more process (``multiprocessing`` with ``fork`` on Linux), 2 ms: a default
(fork); ``refsim real gil`` measures this machine's and uses that instead.
Processes start one after another; the first process is the one already running."""

DEFAULT_SWITCH_INTERVAL = 5_000_000
"""How long a GIL waiter waits before it asks the holder to drop the GIL (CPython)."""

DEFAULT_CORES = 4
"""CPUs when the scenario does not say: a small laptop."""

DEFAULT_COSTS: dict[MicroKind, int] = {
    MicroKind.LOAD: PLAIN_WORD,
    MicroKind.ADD: PLAIN_STEP,
    MicroKind.SUB: PLAIN_STEP,
    MicroKind.STORE: PLAIN_STEP,
    MicroKind.DEALLOC: DEALLOC,
    MicroKind.RMW: ATOMIC_RMW,
    MicroKind.READ: PLAIN_WORD,
    MicroKind.LOAD_GLOBAL: BYTECODE,
    MicroKind.BINARY_OP: BYTECODE,
    MicroKind.STORE_GLOBAL: BYTECODE,
    MicroKind.COMPUTE: BYTECODE,
    MicroKind.IO: IO_CALL,
    MicroKind.ACQUIRE: LOCK_OP,
    MicroKind.RELEASE: LOCK_OP,
    MicroKind.SET: SYNC_OP,
    MicroKind.CLEAR: SYNC_OP,
    MicroKind.WAIT: SYNC_OP,
    MicroKind.PUT: QUEUE_OP,
    MicroKind.GET: QUEUE_OP,
    MicroKind.JOIN: SYNC_OP,
    MicroKind.CWAIT: QUEUE_OP,
    MicroKind.REACQUIRE: SYNC_OP,
    MicroKind.NOTIFY: SYNC_OP,
    MicroKind.NOTIFY_ALL: SYNC_OP,
    MicroKind.LOAD_LOCAL: PLAIN_WORD,
    MicroKind.STORE_LOCAL: PLAIN_STEP,
    MicroKind.ADD_SHARED: ATOMIC_RMW,
    MicroKind.DECREF_SHARED: ATOMIC_RMW,
    MicroKind.QUEUE: BRC_QUEUE,
    MicroKind.MERGE: ATOMIC_RMW,
    MicroKind.IMMORTAL: PLAIN_WORD,
    MicroKind.DEFERRED: DEFERRED_REF,
    MicroKind.TAKE: PLAIN_WORD,
    MicroKind.DROP: PLAIN_WORD,
}
"""Each micro-step kind's cost in ns (``io D`` waits ``D`` on top of its ``IO`` cost)."""


@dataclass(frozen=True, slots=True)
class TimingSettings:
    """The timing of one run: the scenario's ``timing:`` with the defaults filled in."""

    cores: int
    costs: dict[MicroKind, int]
    jitter: float
    switch_interval: int


def settings(timing: Timing | None) -> TimingSettings:
    """``timing`` (a scenario's ``timing:``, maybe absent) with every default filled in."""
    timing = timing or Timing()
    costs = dict(DEFAULT_COSTS)
    costs.update(timing.costs)
    return TimingSettings(
        cores=timing.cores or DEFAULT_CORES,
        costs=costs,
        jitter=timing.jitter,
        switch_interval=timing.switch_interval or DEFAULT_SWITCH_INTERVAL,
    )

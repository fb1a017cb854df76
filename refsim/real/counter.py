"""``refsim real counter``: real threads doing ``counter += 1`` on the running interpreter.

N threads each run M increments of one global, in three forms: the bare ``counter += 1``,
``counter += f()`` (a call between the load and the store) and ``counter += 1`` inside
``with lock:``. The updates lost (N × M less the final count) are measured R times;
beside each form stands refsim's answer for the same program, counted exactly: the share
of the interleavings of N threads × one increment that lose an update, under the runtime
that models this interpreter (``gil`` while the GIL is on).

The model lets the GIL change hands at any bytecode boundary, so it gives the bare form
and the call form the same answer. CPython 3.10 and later switch only at some bytecodes
(calls, the jump back of a loop), so with the GIL the bare form loses nothing in practice
and the call form loses plenty; a free-threaded build has no GIL and loses most of both.
The difference is the lesson, and the findings say which case this run showed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from refsim.real.interpreter import this_interpreter
from refsim.real.prediction import counter_runtime, lost_share, lost_text
from refsim.real.values import Interpreter, Progress, Report, Row, Spread, percent

__all__ = ["DEFAULT", "QUICK", "CounterSettings", "run", "steps"]


@dataclass(frozen=True, slots=True)
class CounterSettings:
    threads: int = 4
    increments: int = 500_000
    """Per thread: long enough for several switch intervals of 5 ms."""
    repeat: int = 5
    switch_interval: float | None = None
    """Seconds, set for the run and restored after; ``None`` keeps the interpreter's."""


DEFAULT = CounterSettings()
QUICK = CounterSettings(increments=200_000, repeat=3)

# The shared counter. A module global, so that `counter += 1` compiles to LOAD_GLOBAL,
# BINARY_OP (INPLACE_ADD before 3.11) and STORE_GLOBAL, as chapter 7 shows.
counter = 0


def one() -> int:
    return 1


def bare(n: int, lock: threading.Lock) -> None:
    global counter
    for _ in range(n):
        counter += 1


def called(n: int, lock: threading.Lock) -> None:
    global counter
    for _ in range(n):
        counter += one()


def locked(n: int, lock: threading.Lock) -> None:
    global counter
    for _ in range(n):
        with lock:
            counter += 1


_FORMS: tuple[tuple[str, str, Callable[[int, threading.Lock], None]], ...] = (
    ("plain lost", "counter += 1", bare),
    ("call lost", "counter += f()", called),
    ("locked lost", "with lock: counter += 1", locked),
)


def lost(form: Callable[[int, threading.Lock], None], threads: int, increments: int) -> int:
    """Run ``form`` in ``threads`` threads of ``increments`` each; the updates lost."""
    global counter
    counter = 0
    lock = threading.Lock()
    gate = threading.Barrier(threads)

    def worker() -> None:
        gate.wait()  # start together, so the threads overlap from the first increment
        form(increments, lock)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return threads * increments - counter


def steps(settings: CounterSettings) -> int:
    """How many times :func:`run` calls its progress callback."""
    return 1 + len(_FORMS) * settings.repeat


def run(settings: CounterSettings = DEFAULT, *, progress: Progress | None = None) -> Report:
    """Measure the three forms; see the module docstring."""
    tick = progress or (lambda _: None)
    old = sys.getswitchinterval()
    if settings.switch_interval is not None:
        sys.setswitchinterval(settings.switch_interval)
    try:
        interpreter = this_interpreter()
        measured: dict[str, Spread] = {}
        for name, label, form in _FORMS:
            runs = []
            for _ in range(settings.repeat):
                runs.append(float(lost(form, settings.threads, settings.increments)))
                tick(label)
            measured[name] = Spread(tuple(runs))
    finally:
        sys.setswitchinterval(old)
    runtime = counter_runtime(interpreter)
    racy = lost_share(settings.threads, runtime)
    safe = lost_share(settings.threads, runtime, locked=True)
    tick("refsim's model")
    of = settings.threads * settings.increments
    rows = tuple(
        Row(
            name=name,
            label=label,
            measured=measured[name],
            unit="lost",
            model=float(share),
            model_text=lost_text(share),
            of=of,
        )
        for (name, label, _), share in zip(_FORMS, (racy, racy, safe), strict=True)
    )
    findings, contradictions = _findings(interpreter, settings, rows, runtime.value)
    return Report(
        experiment="counter",
        interpreter=interpreter,
        settings=(
            ("threads", settings.threads),
            ("increments", settings.increments),
            ("repeat", settings.repeat),
            ("switch_interval", interpreter.switch_interval),
        ),
        rows=rows,
        findings=findings,
        contradictions=contradictions,
    )


def _lost_words(row: Row) -> str:
    spread = row.measured
    assert spread is not None and row.of is not None
    if spread.high == 0:
        return f"lost nothing in {len(spread.runs)} runs"
    if spread.low == spread.high:
        return f"lost {spread.median:,.0f} of {row.of:,}"
    return (
        f"lost {spread.median:,.0f} of {row.of:,} (median; {spread.low:,.0f} to "
        f"{spread.high:,.0f} over {len(spread.runs)} runs)"
    )


def _findings(
    interpreter: Interpreter, settings: CounterSettings, rows: tuple[Row, ...], runtime: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sentences that explain the rows, and any contradiction of the model."""
    plain, call, guarded = rows
    assert plain.measured and call.measured and guarded.measured
    model = (
        f"refsim's `{runtime}` runtime lets threads switch at any bytecode boundary, so it "
        f"counts the race in {percent(plain.model or 0)} of the interleavings of "
        f"{settings.threads} threads × 1 increment, in both forms."
    )
    found: list[str] = []
    if not interpreter.gil_enabled:
        found.append(
            "No GIL: this interpreter runs the threads truly at the same time, so the "
            "LOAD_GLOBAL, BINARY_OP and STORE_GLOBAL of two threads overlap and any form "
            f"without a lock loses updates: `counter += 1` {_lost_words(plain)}."
        )
        if plain.measured.high == 0:
            found.append(
                "None was lost this time (only one free core, or runs too short to overlap); "
                "it is still a race: run more increments, or on an idle machine."
            )
    elif plain.measured.high == 0:
        found.append(
            f"With the GIL, `counter += 1` {_lost_words(plain)}: since 3.10 CPython switches "
            "threads only at calls and at the jump back of a loop, never between the "
            "LOAD_GLOBAL and the STORE_GLOBAL of a bare `counter += 1`. No version promises "
            "that: " + model
        )
    else:
        found.append(
            f"`counter += 1` {_lost_words(plain)} even with the GIL: something between its "
            "load and its store let the GIL change hands (a call, a `__del__`, a signal "
            "handler, or a version that switches at more bytecodes). " + model
        )
    if interpreter.gil_enabled:
        if call.measured.high > 0:
            found.append(
                f"`counter += f()` {_lost_words(call)}: the call sits between the load and the "
                "store and is a switch point, so the increments other threads made while "
                "this one waited for the GIL are overwritten by its stale value."
            )
        else:
            found.append(
                f"`counter += f()` {_lost_words(call)}: a switch has to fall on the call while "
                "the threads run, and few switches happened (each thread ran for less than "
                "a few switch intervals); try more --increments or a shorter "
                "--switch-interval."
            )
    else:
        found.append(f"`counter += f()` {_lost_words(call)}.")
    contradictions: list[str] = []
    if guarded.measured.high == 0:
        found.append(
            "`with lock: counter += 1` lost nothing, as refsim says: no interleaving of the "
            "locked program loses an update."
        )
    else:
        contradictions.append(
            f"`with lock: counter += 1` {_lost_words(guarded)}, which refsim says cannot "
            "happen: a lock that does not exclude is a bug in the interpreter or the machine."
        )
    return tuple(found), tuple(contradictions)

"""``refsim real hardware``: ``Py_INCREF``'s race on this CPU, through a small C shim.

Two Python threads call into C (:mod:`refsim.real.shim`, built with cffi, which releases
the GIL around the call), and each increments one shared 64-bit word M times: with a
plain load, add and store; with one ``add`` instruction on memory (x86 only); and with an
atomic ``lock add``. The increments lost (2 × M less the final word) are measured R times,
and so are the nanoseconds per increment, of one thread alone and of each of two
threads contending for the word.

Why Python threads calling into C, not threads started in C: the GIL released around a
call into C is how every C extension runs in parallel, so the learner sees Python's own
threads race once the GIL is out of the way. What would make the measurement dishonest
is thread start-up (a thread can finish ten million increments before the next one has
started); a start gate in C lines the two loops up, and each loop records when it ran, so
the report can say how much the two really overlapped.

Beside each row: refsim's answer. Lost updates: the share of the interleavings of two
threads × one ``incref`` that lose an update, under ``unsafe`` (the plain and single-add
forms: one instruction is still a load, an add and a store inside the core) and under
``atomic``. Costs: the timed model's defaults (:mod:`refsim.costs`): LOAD + ADD + STORE
for a plain increment, one RMW for an atomic one; the model charges no contention.
"""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from refsim.costs import DEFAULT_COSTS
from refsim.model import MicroKind, Runtime
from refsim.real.interpreter import this_interpreter
from refsim.real.prediction import lost_text, refcount_lost_share
from refsim.real.shim import ADD, ATOMIC, PLAIN, Shim, load
from refsim.real.values import Progress, Report, Row, Spread, percent

__all__ = ["DEFAULT", "QUICK", "HardwareSettings", "Race", "overlap_note", "race", "run", "steps"]


@dataclass(frozen=True, slots=True)
class HardwareSettings:
    increments: int = 50_000_000
    """Per thread: a plain loop then takes about 10 ms, longer than an OS time slice, so
    the two threads overlap even where another program wants a core."""
    repeat: int = 5


DEFAULT = HardwareSettings()
QUICK = HardwareSettings(increments=20_000_000, repeat=3)

_KINDS = (
    ("plain", "load, add, store", PLAIN),
    ("add", "one add instruction", ADD),
    ("atomic", "lock add (atomic)", ATOMIC),
)

OVERLAP_ENOUGH = 0.5
"""Below this share of overlap, the contended loops mostly ran one after the other."""


def overlap_note(overlap: float) -> str:
    """What a lost row says when its two loops (the median run) overlapped too little in
    time for the count of lost increments to mean much; nothing when they overlapped
    enough."""
    if overlap >= OVERLAP_ENOUGH:
        return ""
    if overlap == 0:
        return "the two loops never ran at the same time (median run)"
    return f"the two loops overlapped for only {percent(overlap)} of their time (median)"


@dataclass(frozen=True, slots=True)
class Race:
    """One run of ``threads`` threads incrementing one word ``increments`` times each."""

    lost: int
    ns_per_increment: float
    """The threads' mean loop time divided by ``increments``."""
    overlap: float
    """The share of the longest loop during which every loop was running (0 to 1)."""


def race(shim: Shim, kind: int, threads: int, increments: int) -> Race:
    """Run the shim's race once; ``threads`` = 1 measures one thread alone."""
    ffi: Any = shim.ffi
    word = ffi.new("int64_t *")
    gate = ffi.new("int32_t *")
    spans = [ffi.new("int64_t[2]") for _ in range(threads)]
    pool = [
        threading.Thread(target=shim.lib.refsim_race, args=(kind, word, increments, gate,
                                                            threads, span))
        for span in spans
    ]  # fmt: skip
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    durations = [span[1] - span[0] for span in spans]
    both = min(span[1] for span in spans) - max(span[0] for span in spans)
    longest = max(durations)
    return Race(
        lost=threads * increments - int(word[0]),
        ns_per_increment=sum(durations) / len(durations) / increments,
        overlap=max(0, both) / longest if longest else 1.0,
    )


def steps(settings: HardwareSettings) -> int:
    """How many times :func:`run` calls its progress callback (the build included)."""
    return 2 + len(_KINDS) * 2 * settings.repeat


def run(
    settings: HardwareSettings = DEFAULT,
    *,
    progress: Progress | None = None,
    cache: Path | None = None,
) -> Report:
    """Build (or reuse) the shim and measure; see the module docstring. Raises
    :class:`~refsim.real.shim.ShimUnavailable` where the shim cannot be built."""
    tick = progress or (lambda _: None)
    shim = load(cache)
    tick("the C shim")
    interpreter = this_interpreter()
    kinds = [k for k in _KINDS if k[2] != ADD or shim.has_add]
    alone: dict[str, list[float]] = {name: [] for name, _, _ in kinds}
    contended: dict[str, list[Race]] = {name: [] for name, _, _ in kinds}
    for _ in range(settings.repeat):
        for name, label, kind in kinds:
            alone[name].append(race(shim, kind, 1, settings.increments).ns_per_increment)
            tick(f"{label}, one thread")
            contended[name].append(race(shim, kind, 2, settings.increments))
            tick(f"{label}, two threads")
    racy = refcount_lost_share(Runtime.UNSAFE)
    safe = refcount_lost_share(Runtime.ATOMIC)
    tick("refsim's model")
    steps3 = (MicroKind.LOAD, MicroKind.ADD, MicroKind.STORE)
    plain_ns = float(sum(DEFAULT_COSTS[k] for k in steps3))
    atomic_ns = float(DEFAULT_COSTS[MicroKind.RMW])
    rows: list[Row] = []
    for name, label, kind in _KINDS:
        if name not in alone:
            rows.append(
                Row(f"{name} lost", f"{label}: lost", None, "lost", float(racy),
                    lost_text(racy), of=2 * settings.increments,
                    note=f"this CPU ({interpreter.machine}) has no add-to-memory instruction")
            )  # fmt: skip
            continue
        runs = contended[name]
        overlap = statistics.median(r.overlap for r in runs)
        share = safe if kind == ATOMIC else racy
        note = overlap_note(overlap)
        rows.append(
            Row(f"{name} lost", f"{label}: lost", Spread(tuple(float(r.lost) for r in runs)),
                "lost", float(share), lost_text(share), of=2 * settings.increments, note=note)
        )  # fmt: skip
    for name, label, kind in kinds:
        cost = atomic_ns if kind == ATOMIC else plain_ns
        model_text = f"{cost:g} ns" + (" (one RMW)" if kind == ATOMIC else " (LOAD, ADD, STORE)")
        rows.append(
            Row(f"{name} alone", f"{label}: one thread",
                Spread(tuple(alone[name])), "ns", cost, model_text)
        )  # fmt: skip
        rows.append(
            Row(f"{name} contended", f"{label}: two threads",
                Spread(tuple(r.ns_per_increment for r in contended[name])), "ns", cost,
                f"{cost:g} ns (no contention cost)")
        )  # fmt: skip
    findings, contradictions = findings_of(tuple(rows), shim.has_add, interpreter.machine)
    return Report(
        experiment="hardware",
        interpreter=interpreter,
        settings=(("threads", 2), ("increments", settings.increments),
                  ("repeat", settings.repeat)),
        rows=tuple(rows),
        findings=findings,
        contradictions=contradictions,
    )  # fmt: skip


def _lost(row: Row) -> str:
    """``lost 400 of 1,000 increments (40%, median)``, or in how many runs it lost any."""
    spread = row.measured
    assert spread is not None and row.of
    if spread.median > 0:
        share = percent(spread.median / row.of)
        return f"lost {spread.median:,.0f} of {row.of:,} increments ({share}, median)"
    losing = sum(1 for run in spread.runs if run > 0)
    return (
        f"lost increments in {losing} of {len(spread.runs)} runs only (up to "
        f"{spread.high:,.0f} of {row.of:,}): in the others the two loops barely ran at the "
        "same time (a busy machine)"
    )


def findings_of(
    rows: tuple[Row, ...], has_add: bool, machine: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sentences that explain the rows, and any contradiction of the model."""
    by = {row.name: row for row in rows}
    plain, atomic = by["plain lost"], by["atomic lost"]
    assert plain.measured is not None and atomic.measured is not None
    found: list[str] = []
    if plain.measured.high > 0:
        found.append(
            f"Two threads doing a plain load, add and store on one word {_lost(plain)}: "
            "each lost increment is a Py_INCREF that left the count one too low, "
            "a premature free waiting to happen. refsim's `unsafe` runtime says the same "
            f"race loses an update in {percent(plain.model or 0)} of its interleavings."
        )
    else:
        found.append(
            "The plain load, add and store lost nothing this time"
            + (f" ({plain.note})" if plain.note else "")
            + ": the two threads must run at the same moment on two cores; try again on an "
            "idle machine, or with more --increments."
        )
    add = by["add lost"]
    if not has_add:
        found.append(
            f"This CPU ({machine}) has no add-to-memory instruction: an increment is always a "
            "load, an add and a store, the first row."
        )
    elif add.measured is not None and add.measured.high > 0:
        found.append(
            f"One `add` instruction on memory {_lost(add)} too: it loads, adds and stores "
            "inside the core, and without the `lock` prefix another core can write in between."
        )
    contradictions: list[str] = []
    if atomic.measured.high == 0:
        alone = by["atomic alone"].measured
        plain_alone = by["plain alone"].measured
        both = by["atomic contended"].measured
        assert alone is not None and plain_alone is not None and both is not None
        ratio = alone.median / plain_alone.median if plain_alone.median else float("inf")
        found.append(
            f"`lock add` lost nothing, as it must (refsim's `atomic` runtime never loses an "
            f"update), and costs {alone.median:.1f} ns per increment alone against "
            f"{plain_alone.median:.2f} ns for the plain one ({ratio:.0f}×), "
            f"{both.median:.1f} ns when two threads contend for the word. That price on "
            "every reference change is why CPython did not simply make refcounts atomic: "
            "free-threaded CPython's biased counting keeps the owning thread's updates plain."
        )
    else:
        contradictions.append(
            f"`lock add` lost {atomic.measured.median:,.0f} increments, which no atomic "
            "instruction can: the shim or the machine is broken."
        )
    return tuple(found), tuple(contradictions)

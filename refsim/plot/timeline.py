"""What a timed run's figure shows, as plain values: :func:`describe_timed` turns a timed
:class:`~refsim.trace.RunResult` into a :class:`Timeline`, the whole run or a window of
it. Standard library only.

Every stretch of a lane has a state, so no gap in a figure goes unexplained:

* a thread lane is ``running``, ``gil_wait`` (waiting for its process's GIL), ``io_wait``,
  ``ready`` (no free core), ``blocked`` (waiting for another thread: a lock today, the
  waits of MODEL.md's "Threads that wait for each other" as they come) or ``starting``
  (its process is not started yet), until it finishes;
* a GIL lane is ``held`` (by the thread named in its detail), ``free`` or ``starting``.

Where a stretch of a lane changes state faster than the figure can show (every interval
in it narrower than :data:`SUMMARY_PX` pixels), the stretch becomes one :class:`Band`
that says how its time was shared between the states, instead of a moiré of slivers.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace

from refsim.model import Runtime
from refsim.plot.picture import waiting_at_end
from refsim.trace import RunResult, TimedMetrics, TraceEvent

__all__ = [
    "GIL_STATES",
    "SUMMARY_PX",
    "THREAD_STATES",
    "Band",
    "Interval",
    "Timeline",
    "describe_timed",
    "gil_lanes",
    "human",
    "waits_on",
]

THREAD_STATES = ("running", "gil_wait", "io_wait", "ready", "blocked", "starting")
"""A thread lane's states, in the order of the legend and of a band's stripes."""
GIL_STATES = ("held", "free", "starting")
"""A GIL lane's states."""
_ACCOUNTED = {"running", "gil_wait", "io_wait", "ready"}
"""The timed driver's accounts that are states of their own; every other account
(``lock_wait`` today) is a wait for another thread: ``blocked``."""

SUMMARY_PX = 6.0
"""Intervals narrower than this many pixels, side by side, make a summary band."""
_BAND_INTERVALS = 4
_BAND_PX = 24.0
"""A band stands for at least this many intervals over at least this many pixels; fewer
and narrower ones are drawn one by one (widened to be seen)."""


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of one lane in one state, in ns from the start of the run."""

    lane: str
    state: str
    start: int
    end: int
    detail: str | None = None
    """``running``: the op or ops it ran (``compute 1``, up to three); ``io_wait``: the op
    (``io 100us``); ``blocked``: what
    the thread waits for (``lock L``), when the run says; ``held``: the holder."""


@dataclass(frozen=True, slots=True)
class Band:
    """A stretch of one lane whose intervals are too narrow to draw one by one."""

    lane: str
    start: int
    end: int
    shares: tuple[tuple[str, float], ...]
    """Each state's (a GIL lane: each holder's, and ``free``) share of the stretch's time,
    largest first (ties in legend order)."""
    intervals: int
    """How many intervals it stands for."""


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything a timed figure shows of one run, computed from the run alone."""

    scenario: str
    runtime: Runtime
    makespan_ns: int
    cores: int
    utilisation: float
    switches: int
    drop_requests: int
    window: tuple[int, int]
    """The stretch of time shown, in ns: ``(0, makespan)`` for the whole run."""
    threads: tuple[str, ...]
    gils: tuple[str, ...]
    """The GIL lanes (``GIL``, or ``GIL P1`` ... per process), none without a GIL."""
    intervals: tuple[Interval, ...]
    """What is drawn interval by interval: those the window shows some of, whole (the
    figure cuts them to the window; their labels give their whole length)."""
    bands: tuple[Band, ...]
    finished: tuple[tuple[str, int], ...]
    """Each thread that finished inside the window, and when."""
    drops: tuple[tuple[str, int], ...]
    """Each drop request inside the window: its GIL lane and time."""
    stuck: tuple[tuple[str, str | None], ...] = ()
    """Each thread still blocked when the run ended (a deadlock: the run ends when no
    thread can move), and what it waits for when the run says (:func:`waiting_at_end`)."""

    @property
    def lanes(self) -> tuple[str, ...]:
        return (*self.threads, *self.gils)


_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs"), (1, "ns"))


def human(ns: int) -> str:
    """A duration in the largest unit it has at least one of: ``1.21 s``, ``100 ms``."""
    if ns == 0:
        return "0"
    unit_ns, symbol = next(((u, s) for u, s in _UNITS if ns >= u), (1, "ns"))
    return f"{ns / unit_ns:.3g} {symbol}"


def gil_lanes(metrics: TimedMetrics, processes: Sequence[str] | None) -> tuple[str, ...]:
    """One GIL lane per process, only under a runtime with a GIL (someone held one)."""
    if not metrics.gil_holdings:
        return ()
    used = 1 + max(p for p, *_ in metrics.gil_holdings)
    names = tuple(processes) if processes else tuple(f"P{p}" for p in range(used))
    return ("GIL",) if len(names) == 1 else tuple(f"GIL {name}" for name in names)


def waits_on(event: TraceEvent) -> str:
    """What a thread blocked before ``event`` (its next micro-step) waited for: ``lock L``
    for an ACQUIRE, else the op as written (``join T2``)."""
    if event.micro == "ACQUIRE" and event.subject is not None:
        return f"lock {event.subject}"
    return event.op


def describe_timed(
    result: RunResult,
    *,
    threads: Sequence[str] | None = None,
    processes: Sequence[str] | None = None,
    window: tuple[int, int] | None = None,
    pixel_ns: float | None = None,
) -> Timeline:
    """What the timed figure of ``result`` shows: ``threads`` orders the lanes,
    ``processes`` names the GIL lanes, ``window`` (ns) cuts the run to a stretch of time,
    and ``pixel_ns`` (how long one pixel of the figure lasts) turns what is too narrow to
    draw into bands (none without it).

    Raises ``ValueError`` for a run that is not timed, or kept no trace."""
    metrics = result.metrics
    if metrics is None:
        raise ValueError("a timed figure needs a timed run (refsim.timed.run_timed)")
    if result.trace is None:
        raise ValueError("the run kept no trace (keep_trace=False): there is nothing to draw")
    names = tuple(threads) if threads is not None else tuple(n for n, _ in metrics.threads)
    gils = gil_lanes(metrics, processes)
    start, end = window if window is not None else (0, metrics.makespan_ns)
    intervals = _thread_intervals(result, metrics, names) + _gil_intervals(metrics, gils)
    shown = [i for i in intervals if i.start < end and i.end > start]
    bands: list[Band] = []
    if pixel_ns is not None:
        shown, bands = _summarise(shown, pixel_ns, (start, end))
    return Timeline(
        scenario=result.scenario,
        runtime=result.runtime,
        makespan_ns=metrics.makespan_ns,
        cores=metrics.cores,
        utilisation=metrics.utilisation,
        switches=metrics.switches,
        drop_requests=metrics.drop_requests,
        window=(start, end),
        threads=names,
        gils=gils,
        intervals=tuple(shown),
        bands=tuple(bands),
        finished=tuple(
            (name, m.finished_ns)
            for name, m in metrics.threads
            if name in names and m.finished_ns is not None and start <= m.finished_ns <= end
        ),
        drops=tuple((gils[p], t) for p, t in metrics.drop_request_times if start <= t <= end),
        stuck=tuple(
            (name, on)
            for name, on in waiting_at_end(result).items()
            if name in names and start <= metrics.makespan_ns <= end
        ),
    )


def _cut(interval: Interval, window: tuple[int, int]) -> Interval:
    """``interval`` cut to the ``window``."""
    start, end = window
    if start <= interval.start and interval.end <= end:
        return interval
    return replace(interval, start=max(start, interval.start), end=min(end, interval.end))


def _thread_intervals(
    result: RunResult, metrics: TimedMetrics, names: Sequence[str]
) -> list[Interval]:
    """Each thread's spans as states, with what each did or waited for, and the wait for
    its process to start before its first span."""
    assert result.trace is not None
    events: dict[str, list[TraceEvent]] = {name: [] for name in names}
    for e in result.trace:
        if e.thread in events:
            events[e.thread].append(e)  # in time order: the trace is
    times = {name: [e.time for e in mine] for name, mine in events.items()}
    at_end = waiting_at_end(result)
    found: list[Interval] = []
    first: dict[str, int] = {}
    for thread, state, start, end in metrics.spans:
        if thread not in events:
            continue
        first.setdefault(thread, start)
        mine, when = events[thread], times[thread]
        detail: str | None = None
        if state == "running":
            ran = mine[bisect.bisect_left(when, start) : bisect.bisect_left(when, end)]
            ops = {e.op_index: e.op for e in ran}
            detail = ", ".join(ops.values()) if 1 <= len(ops) <= 3 else None
        elif state == "io_wait":
            before = bisect.bisect_left(when, start) - 1
            detail = mine[before].op if before >= 0 else None
        elif state not in _ACCOUNTED:
            # Blocked: on what its next micro-step (the one that waited) needed.
            after = bisect.bisect_left(when, end)
            detail = waits_on(mine[after]) if after < len(mine) else at_end.get(thread)
            state = "blocked"
        found.append(Interval(thread, state, start, end, detail))
    # A thread's first span begins when its process has started (process k starts
    # k x PROCESS_START after the first): before that it is starting.
    found += [Interval(t, "starting", 0, s) for t, s in first.items() if s > 0]
    return found


def _gil_intervals(metrics: TimedMetrics, gils: Sequence[str]) -> list[Interval]:
    """Each GIL lane: held (by whom), free between holdings while its process lives, and
    starting until its process has started."""
    if not gils:
        return []
    spans: dict[str, list[tuple[int, int]]] = {}
    for thread, _, start, end in metrics.spans:
        spans.setdefault(thread, []).append((start, end))
    found: list[Interval] = []
    for p, lane in enumerate(gils):
        held = sorted((s, e, t) for q, t, s, e in metrics.gil_holdings if q == p)
        if not held:
            continue
        mine = {t for _, _, t in held}
        # The process lives from its threads' first span to their last.
        born = min(spans[t][0][0] for t in sorted(mine))
        gone = max(spans[t][-1][1] for t in sorted(mine))
        if born > 0:
            found.append(Interval(lane, "starting", 0, born))
        at = born
        for s, e, t in held:
            if s > at:
                found.append(Interval(lane, "free", at, s))
            found.append(Interval(lane, "held", s, e, t))
            at = max(at, e)
        if gone > at:
            found.append(Interval(lane, "free", at, gone))
    return found


def _summarise(
    intervals: Sequence[Interval], pixel_ns: float, window: tuple[int, int]
) -> tuple[list[Interval], list[Band]]:
    """The intervals to draw one by one (whole), and bands for the stretches of a lane in
    which every interval, as far as the window shows it, is narrower than
    :data:`SUMMARY_PX` pixels (see :data:`_BAND_PX`)."""
    narrow = SUMMARY_PX * pixel_ns
    by_lane: dict[str, list[Interval]] = {}
    for i in intervals:
        by_lane.setdefault(i.lane, []).append(_cut(i, window))
    whole = {(i.lane, _cut(i, window).start, i.state): i for i in intervals}
    kept: list[Interval] = []
    bands: list[Band] = []
    for lane, mine in by_lane.items():
        mine.sort(key=lambda i: i.start)
        for stretch in _stretches(mine, narrow):
            dense = len(stretch) >= _BAND_INTERVALS and all(
                i.end - i.start < narrow for i in stretch
            )
            if dense and stretch[-1].end - stretch[0].start >= _BAND_PX * pixel_ns:
                bands.append(_band(lane, stretch))
            else:
                kept += stretch
    return [whole[i.lane, i.start, i.state] for i in kept], bands


def _stretches(intervals: Sequence[Interval], narrow: float) -> list[list[Interval]]:
    """``intervals`` (of one lane, in time order) in stretches: each wide one alone, and
    each run of narrow ones that meet end to start together."""
    found: list[list[Interval]] = []
    for i in intervals:
        small = i.end - i.start < narrow
        last = found[-1] if found else None
        if small and last and last[-1].end == i.start and last[-1].end - last[-1].start < narrow:
            last.append(i)
        else:
            found.append([i])
    return found


def _band(lane: str, run: Sequence[Interval]) -> Band:
    order = [*THREAD_STATES, *GIL_STATES]
    time: dict[str, int] = {}
    for i in run:
        key = i.detail if i.state == "held" and i.detail else i.state
        time[key] = time.get(key, 0) + i.end - i.start
    total = run[-1].end - run[0].start
    # Largest first; ties in legend order (a holder's name after the states).
    keys = sorted(time, key=lambda k: (-time[k], order.index(k) if k in order else len(order), k))
    shares = tuple((k, time[k] / total) for k in keys)
    return Band(lane, run[0].start, run[-1].end, shares, len(run))

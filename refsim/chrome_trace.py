"""A run as Chrome Trace Event JSON (``run --trace-out``, ``plot -o x.json``), for Perfetto
(ui.perfetto.dev) and chrome://tracing. Standard library only.

The Trace Event Format ("JSON Object Format"): ``{"traceEvents": [...],
"displayTimeUnit": "ns", "otherData": {...}}``. What refsim puts in it:

* one track per thread (``pid`` 1, ``tid`` 1, 2, ... in the lanes' order), named by a
  ``thread_name`` metadata event (``"ph": "M"``), plus a ``GIL`` track under ``gil`` and
  one per user lock (``lock A``), showing who holds it;
* each op as a complete event (``"ph": "X"``) on its thread's track, and inside it each
  micro-step, named like the figure's boxes (``LOAD 2``, ``SUB → 1``, ``STORE 1``), with
  the step, register, value and true refs in ``args``; an op spans from its first
  micro-step to its last, so the ops of a racing decref visibly overlap across tracks;
* each object's refcount and true refs, and each variable's value, as counter events
  (``"ph": "C"``), one counter per series so a viewer never stacks them;
* anomalies and preemptions as instant events (``"ph": "i"``): thread-scoped (``"s":
  "t"``) on the thread that did it, global (``"s": "g"``) for what is judged at the end;
  the anomaly's sentence is in ``args``.

Time: controlled mode has no clock, so the export uses 1 µs per micro-step (step ``n``
runs from ``ts = n - 1`` to ``n``); ``otherData`` says so. The output is deterministic:
sorted keys, no wall-clock time, events sorted by time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from refsim.plot.picture import describe_run
from refsim.trace import RunResult

__all__ = ["TIME_SCALE", "chrome_trace", "dumps"]

TIME_SCALE = "1 µs per micro-step: controlled mode has no clock, step n runs from n-1 to n µs"
PID = 1


def chrome_trace(result: RunResult, *, threads: Sequence[str] | None = None) -> dict[str, Any]:
    """The Trace Event Format object of ``result`` (see the module docstring). ``threads``
    orders the tracks (the scenario's ``thread_names``)."""
    picture = describe_run(result, threads=threads)
    trace = result.trace
    assert trace is not None  # describe_run refuses a run without one
    tracks = list(picture.threads) + list(picture.holder_lanes)
    tid = {name: i + 1 for i, name in enumerate(tracks)}
    meta: list[dict[str, Any]] = [
        _meta("process_name", 0, {"name": f"refsim {result.scenario} ({result.runtime})"}),
    ]
    for name in tracks:
        meta.append(_meta("thread_name", tid[name], {"name": name}))
        meta.append(_meta("thread_sort_index", tid[name], {"sort_index": tid[name]}))

    events: list[dict[str, Any]] = []
    # Ops: from the first micro-step of an op instance to its last (a thread runs its
    # ops in order, so an op instance is a run of equal op_index on that thread).
    current: dict[str, tuple[int, str, int, int]] = {}

    def close(thread: str) -> None:
        op_index, op, first, last = current.pop(thread)
        events.append(
            _complete(op, "op", tid[thread], first - 1, last - first + 1,
                      {"op": op, "op_index": op_index, "first_step": first, "last_step": last})
        )  # fmt: skip

    for e, box in zip(trace, picture.boxes, strict=True):
        running = current.get(e.thread)
        if running is not None and running[0] != e.op_index:
            close(e.thread)
            running = None
        if running is None:
            current[e.thread] = (e.op_index, e.op, e.step, e.step)
        else:
            current[e.thread] = (running[0], running[1], running[2], e.step)
        args = {
            "step": e.step,
            "op": e.op,
            "micro": e.micro,
            "subject": e.subject,
            "register": e.register,
            "value": e.value,
            "true_refs": e.true_refs,
            "bytecode_start": e.bytecode_start,
        }
        events.append(_complete(box.label, "micro-step", tid[e.thread], e.step - 1, 1, args))
    for thread in list(current):
        close(thread)

    for h in picture.holdings:
        events.append(
            _complete(h.holder, "holder", tid[h.lane], h.start - 1, h.end - h.start + 1,
                      {"holder": h.holder, "first_step": h.start, "last_step": h.end})
        )  # fmt: skip

    for series in picture.series:
        label = "refcount" if series.is_object else "value"
        for step, value in series.values:
            events.append(_counter(f"{series.name} {label}", step, value))
        for step, value in series.true_refs:
            events.append(_counter(f"{series.name} true refs", step, value))

    end = picture.steps
    for mark in picture.marks:
        args = {"kind": mark.kind.value, "message": mark.message, "subject": mark.subject,
                "step": mark.step, "threads": list(mark.threads)}  # fmt: skip
        if mark.step is None:
            actor = mark.threads[0] if mark.threads else tracks[0]
            events.append(_instant(mark.kind.value, "anomaly", tid[actor], end, "g", args))
        else:
            actor = trace[mark.step - 1].thread
            events.append(_instant(mark.kind.value, "anomaly", tid[actor], mark.step, "t", args))
    for step, was, now in picture.preemptions:
        args = {"step": step, "preempted": was, "next": now}
        events.append(_instant("preemption", "schedule", tid[was], step - 1, "t", args))

    # Sorted by time (then track, then longest first so a parent precedes its children):
    # every track's timestamps are then monotone, whatever the viewer's importer does.
    events.sort(key=lambda ev: (ev["ts"], ev["tid"], -ev.get("dur", 0), ev["ph"], ev["name"]))
    return {
        "traceEvents": meta + events,
        "displayTimeUnit": "ns",
        "otherData": {
            "generator": "refsim",
            "scenario": result.scenario,
            "runtime": result.runtime.value,
            "schedule": str(result.schedule),
            "steps": result.steps,
            "preemptions": result.preemptions,
            "finished": result.finished,
            "final": {name: value for name, value in result.final},
            "anomalies": [a.message for a in result.anomalies],
            "time_scale": TIME_SCALE,
        },
    }


def dumps(result: RunResult, *, threads: Sequence[str] | None = None) -> str:
    """:func:`chrome_trace` as JSON text: sorted keys, one event per line, a final newline."""
    document = chrome_trace(result, threads=threads)
    events = ",\n".join(
        json.dumps(ev, sort_keys=True, ensure_ascii=False) for ev in document["traceEvents"]
    )
    rest = {k: v for k, v in document.items() if k != "traceEvents"}
    head = json.dumps(rest, sort_keys=True, ensure_ascii=False)[:-1]
    return f'{head}, "traceEvents": [\n{events}\n]}}\n'


def _meta(name: str, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ph": "M", "ts": 0, "pid": PID, "tid": tid, "args": args}


def _complete(
    name: str, cat: str, tid: int, ts: int, dur: int, args: dict[str, Any]
) -> dict[str, Any]:
    return {"name": name, "cat": cat, "ph": "X", "ts": ts, "dur": dur, "pid": PID,
            "tid": tid, "args": args}  # fmt: skip


def _counter(name: str, step: int, value: int) -> dict[str, Any]:
    # A counter's value holds from the end of the step that set it (ts = step).
    return {"name": name, "cat": "counter", "ph": "C", "ts": step, "pid": PID, "tid": 0,
            "args": {"value": value}}  # fmt: skip


def _instant(
    name: str, cat: str, tid: int, ts: int, scope: str, args: dict[str, Any]
) -> dict[str, Any]:
    return {"name": name, "cat": cat, "ph": "i", "s": scope, "ts": ts, "pid": PID,
            "tid": tid, "args": args}  # fmt: skip

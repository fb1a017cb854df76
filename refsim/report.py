"""Reports: a run as text for a terminal (rich) and as the JSON document of CLI.md.

Both read only the run result and the scenario; neither runs anything.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from refsim.model import Runtime, Scenario, count_text
from refsim.narrate import blocked_notes
from refsim.trace import Anomaly, RunResult, TraceEvent

__all__ = [
    "TRACE_ROWS",
    "agrees",
    "and_words",
    "format_ns",
    "plural",
    "print_run",
    "print_timed_run",
    "print_trace",
    "replay_command",
    "replay_line",
    "run_json",
    "short_schedule",
    "timed_json",
    "timed_summary",
    "verdict",
]

_COLUMNS = ("step", "thread", "op", "micro-step", "register", "{value}", "true refs")


def agrees(scenario: Scenario, result: RunResult) -> bool:
    """True when the run's anomalies are all claimed by ``expect:`` for its runtime (without
    a claim for that runtime: when it has no anomaly). This decides exit status 0 or 1."""
    claimed = scenario.expected(result.runtime)
    found = result.anomaly_kinds
    return found <= claimed if claimed is not None else not found


def verdict(scenario: Scenario, result: RunResult) -> str:
    """One line saying whether the run agrees with the scenario's claims."""
    runtime = result.runtime
    claimed = scenario.expected(runtime)
    found = sorted(k.value for k in result.anomaly_kinds)
    if claimed is None:
        if not found:
            return f"no anomaly (the scenario makes no claim for {runtime})."
        return f"unexpected: the scenario makes no claim for {runtime}, and this run found " + (
            f"{', '.join(found)}."
        )
    possible = and_words(sorted(k.value for k in claimed)) if claimed else ""
    if not claimed:
        if not found:
            return (
                f"no anomaly, as the scenario claims for {runtime} (one run is one "
                f"interleaving: `refsim check` covers them all)."
            )
        return (
            f"unexpected: the scenario claims no anomaly can happen under {runtime}, but this "
            f"run found {', '.join(found)}."
        )
    if not found:
        return (
            f"no anomaly this time; the scenario claims {possible} can happen under {runtime} "
            f"(try another --seed or --schedule)."
        )
    if agrees(scenario, result):
        rest = sorted(k.value for k in claimed - result.anomaly_kinds)
        also = f"; it also claims {and_words(rest)}, which this run did not reach" if rest else ""
        return f"as the scenario claims, {and_words(found)} can happen under {runtime}{also}."
    extra = ", ".join(sorted(k.value for k in result.anomaly_kinds - claimed))
    return (
        f"unexpected: the scenario claims only {possible} can happen under {runtime}, but "
        f"this run found {extra}."
    )


def replay_command(
    file: str, result: RunResult, scenario: Scenario, *, program: str = "refsim"
) -> str:
    """The command that replays ``result`` exactly."""
    return replay_line(file, str(result.schedule), result.runtime, scenario, program=program)


def replay_line(
    file: str,
    schedule: str,
    runtime: Runtime,
    scenario: Scenario,
    *,
    always: bool = False,
    program: str = "refsim",
) -> str:
    """``refsim run FILE --schedule "..."``, with ``--runtime`` when it is not the file's
    (or ``always``) and ``--process`` when ``scenario`` is one process of the file."""
    # Schedules are names, stars, digits and spaces: double quotes read best and work in
    # every shell; the path gets whatever quoting it needs.
    command = f'{program} run {shlex.quote(file)} --schedule "{schedule}"'
    if scenario.part_of is not None:
        command += f" --process {scenario.part_of}"
    if always or runtime is not scenario.runtime:
        command += f" --runtime {runtime.value}"
    return command


def _value_header(scenario: Scenario) -> str:
    others = (
        scenario.variables,
        scenario.events,
        scenario.semaphores,
        scenario.queues,
        scenario.conditions,
    )
    if scenario.objects and any(others):
        return "refcount/value"
    return "refcount" if scenario.objects else "value"


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)


def _row(event: TraceEvent) -> tuple[str, ...]:
    return (
        str(event.step),
        event.thread,
        event.op,
        event.micro,
        _cell(event.register),
        _cell(event.value),
        _cell(event.true_refs),
    )


def _segment(
    rows: Sequence[tuple[str, ...]], headers: Sequence[str], widths: Sequence[int], header: bool
) -> Table:
    table = Table(box=None, show_header=header, header_style="bold", pad_edge=False)
    for name, width in zip(headers, widths, strict=True):
        right = name in ("step", "register", "refcount", "value", "refcount/value", "true refs")
        table.add_column(
            name, justify="right" if right else "left", min_width=width, max_width=width,
            no_wrap=True,
        )  # fmt: skip
    for row in rows:
        table.add_row(*row)
    return table


def print_trace(console: Console, scenario: Scenario, result: RunResult) -> None:
    """The trace table, with each anomaly's sentence under the step where it happened."""
    assert result.trace is not None
    headers = [c.format(value=_value_header(scenario)) for c in _COLUMNS]
    rows = [_row(e) for e in result.trace]
    # Drop the value columns no row uses (a scenario of locks only has no refcounts).
    keep = [i for i in range(len(headers)) if i < 4 or any(r[i] for r in rows)]
    headers = [headers[i] for i in keep]
    rows = [tuple(r[i] for i in keep) for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    by_step: dict[int, list[Anomaly]] = {}
    for anomaly in result.anomalies:
        if anomaly.step is not None:
            by_step.setdefault(anomaly.step, []).append(anomaly)
    notes: dict[int, list[str]] = {}
    for note in blocked_notes(scenario, result):
        assert note.step is not None
        notes.setdefault(note.step, []).append(note.text)
    indent = " " * (widths[0] + 1)
    start = 0
    for index, event in enumerate(result.trace):
        if event.step in by_step or event.step in notes:
            console.print(_segment(rows[start : index + 1], headers, widths, start == 0))
            for anomaly in by_step.get(event.step, ()):
                _print_anomaly_line(console, indent, anomaly)
            for text in notes.get(event.step, ()):
                console.print(Text(f"{indent}… {text}", style="dim"))
            start = index + 1
    if start < len(rows) or not rows:
        console.print(_segment(rows[start:], headers, widths, start == 0))


def _print_anomaly_line(console: Console, indent: str, anomaly: Anomaly) -> None:
    line = Text(indent)
    line.append(f"! {anomaly.kind.value}: ", style="bold red")
    line.append(anomaly.message)
    console.print(line)


def _final_line(result: RunResult) -> str:
    true_refs = dict(result.true_refs)
    parts = []
    for name, value in result.final:
        if name in true_refs:
            if value == "freed":
                parts.append(f"{name} freed (true refs {true_refs[name]})")
            else:
                parts.append(f"{name} refcount {value} (true refs {true_refs[name]})")
        else:
            parts.append(f"{name} = {value}")
    return ", ".join(parts) or "(no objects or variables)"


def print_run(
    console: Console,
    scenario: Scenario,
    result: RunResult,
    *,
    file: str,
    source: str,
    show_trace: bool = True,
) -> None:
    """Print one run: header, trace table with anomaly sentences, final state, anomalies,
    the verdict against ``expect:`` and the replay command. ``source`` says where the
    schedule came from (``"--schedule"``, ``"seed 7"``)."""
    preemptions = "preemption" if result.preemptions == 1 else "preemptions"
    head = Text()
    head.append(scenario.name, style="bold")
    if scenario.part_of is not None:
        head.append(f"  process {scenario.part_of}")
    head.append(f"  runtime {result.runtime}  ·  {result.steps} steps, ")
    head.append(f"{result.preemptions} {preemptions}")
    console.print(head)
    console.print(f"schedule ({source}): {result.schedule}")
    if result.completed_from is not None:
        console.print(
            f"  (the given schedule ran out at step {result.completed_from}; "
            f"refsim continued without preemptions)"
        )
    console.print()
    if show_trace and result.trace is not None:
        print_trace(console, scenario, result)
        console.print()
    if not result.finished:
        console.print(
            f"[bold yellow]stopped:[/] the step budget ran out after {result.steps} steps "
            f"before every thread finished (raise it with --max-steps)"
        )
    _print_findings(console, scenario, result)
    console.print()
    console.print(Text("replay: ", style="bold") + Text(replay_command(file, result, scenario)))


def _print_findings(console: Console, scenario: Scenario, result: RunResult) -> None:
    """The final state, every anomaly with its step, and the verdict against ``expect:``."""
    console.print(Text("final state: ", style="bold") + Text(_final_line(result)))
    if result.anomalies:
        console.print(Text(f"anomalies ({len(result.anomalies)}):", style="bold"))
        for anomaly in result.anomalies:
            where = "end" if anomaly.step is None else f"step {anomaly.step}"
            line = Text(f"  {where:<9} ")
            line.append(f"{anomaly.kind.value:<16}", style="red")
            line.append(anomaly.message)
            console.print(line)
    else:
        console.print(Text("anomalies: ", style="bold") + Text("none"))
    console.print(verdict(scenario, result))


def _anomaly_json(anomaly: Anomaly) -> dict[str, Any]:
    return {
        "kind": anomaly.kind.value,
        "subject": anomaly.subject,
        "step": anomaly.step,
        "threads": list(anomaly.threads),
        "message": anomaly.message,
    }


def _event_json(event: TraceEvent) -> dict[str, Any]:
    return {
        "step": event.step,
        "time": event.time,
        "thread": event.thread,
        "op": event.op,
        "micro": event.micro,
        "subject": event.subject,
        "register": event.register,
        "value": event.value,
        "true_refs": event.true_refs,
    }


def run_json(scenario: Scenario, result: RunResult, *, seed: int | None) -> dict[str, Any]:
    """The ``run --json`` document (CLI.md), plus ``steps``, ``preemptions``, ``finished``,
    ``seed`` (null when replayed) and ``agrees`` (the verdict against ``expect:``)."""
    return {
        "scenario": result.scenario,
        "runtime": result.runtime.value,
        "schedule": str(result.schedule),
        "seed": seed,
        "steps": result.steps,
        "preemptions": result.preemptions,
        "finished": result.finished,
        "anomalies": [_anomaly_json(a) for a in result.anomalies],
        "final": dict(result.final),
        "agrees": agrees(scenario, result),
        "trace": None if result.trace is None else [_event_json(e) for e in result.trace],
    }


def runtime_choices() -> list[str]:
    return [r.value for r in Runtime]


# -- timed runs ----------------------------------------------------------------------------

TRACE_ROWS = 200
"""A timed run prints its trace table only up to this many rows unless asked (``--trace``)."""

_LONG_SCHEDULE = 40
"""Schedules of more runs than this are summarised in text (``--json`` has them whole)."""


def plural(n: int, word: str) -> str:
    """``1 step``, ``2 steps``, ``1,000 steps``."""
    return f"{count_text(n)} {word}" if n == 1 else f"{count_text(n)} {word}s"


def and_words(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def short_schedule(schedule: str, limit: int) -> str:
    """``schedule`` whole if it fits in ``limit`` characters, else cut at a run and ended
    with `` …``."""
    return schedule if len(schedule) <= limit else schedule[:limit].rsplit(" ", 1)[0] + " …"


def format_ns(ns: int) -> str:
    """A duration for people: ``0``, ``850ns``, ``12.3µs``, ``5.01ms``, ``1.23s``."""
    if ns == 0:
        return "0"
    for size, unit in ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")):
        if ns >= size:
            value = ns / size
            digits = 0 if value >= 100 else 1 if value >= 10 else 2
            text = f"{value:.{digits}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return text + unit
    return f"{ns}ns"


def _timed_rows(result: RunResult) -> list[tuple[str, ...]]:
    assert result.trace is not None and result.metrics is not None
    rows: list[tuple[str, ...]] = []
    counts, durations = result.metrics.counts, result.metrics.durations
    for event, count, duration in zip(result.trace, counts, durations, strict=True):
        step = str(event.step) if count == 1 else f"{event.step - count + 1}-{event.step}"
        micro = event.micro if count == 1 else f"{event.micro} ×{count:,}"
        rows.append(
            (
                step,
                format_ns(event.time),
                event.thread,
                event.op,
                micro,
                format_ns(duration),
                _cell(event.register),
                _cell(event.value),
                _cell(event.true_refs),
            )
        )
    return rows


def _print_timed_trace(console: Console, scenario: Scenario, result: RunResult) -> None:
    headers = ["step", "time", "thread", "op", "micro-step", "took", "register"]
    headers += [_value_header(scenario), "true refs"]
    rows = _timed_rows(result)
    keep = [i for i in range(len(headers)) if i < 6 or any(r[i] for r in rows)]
    table = Table(box=None, header_style="bold", pad_edge=False)
    for i in keep:
        right = i in (0, 1, 5, 6, 7, 8)
        table.add_column(headers[i], justify="right" if right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    console.print(table)


def timed_summary(result: RunResult) -> Table:
    """Per thread: time running, waiting for the GIL, on I/O, ready, on locks, blocked on
    the other waiting primitives (a column shown only when some thread was); ops done."""
    assert result.metrics is not None
    table = Table(box=None, header_style="bold", pad_edge=False)
    blocked = any(m.blocked_ns for _, m in result.metrics.threads)
    columns = ["thread", "running", "GIL wait", "I/O wait", "ready", "lock wait"]
    columns += ["blocked"] * blocked + ["ops", "done at"]
    for name in columns:
        table.add_column(name, justify="left" if name == "thread" else "right", no_wrap=True)
    for name, m in result.metrics.threads:
        done = "never" if m.finished_ns is None else format_ns(m.finished_ns)
        cells = [
            name, format_ns(m.running_ns), format_ns(m.gil_wait_ns), format_ns(m.io_wait_ns),
            format_ns(m.ready_ns), format_ns(m.lock_wait_ns),
        ]  # fmt: skip
        cells += [format_ns(m.blocked_ns)] * blocked + [f"{m.ops:,}", done]
        table.add_row(*cells)
    return table


def print_timed_run(
    console: Console,
    scenario: Scenario,
    result: RunResult,
    *,
    file: str,
    seed: int,
    switch_interval: int,
    trace: bool | None = None,
) -> None:
    """Print one timed run: header, the trace table (when small, or when ``trace`` is
    true), where each thread's time went, the GIL's figures, final state, anomalies, the
    verdict and how to replay the schedule in controlled mode."""
    metrics = result.metrics
    assert metrics is not None
    head = Text()
    head.append(scenario.name, style="bold")
    processes = len(scenario.process_groups())
    where = f"{processes} processes, " if processes > 1 else ""
    head.append(
        f"  runtime {result.runtime}  ·  timed, seed {seed}  ·  {where}{metrics.cores} "
        f"core{'s' if metrics.cores != 1 else ''}  ·  {result.steps:,} steps"
    )
    console.print(head)
    runs = len(result.schedule.runs)
    if runs <= _LONG_SCHEDULE:
        console.print(f"schedule: {result.schedule}")
    else:
        first = " ".join(str(result.schedule).split()[:8])
        console.print(f"schedule: {first} … ({runs:,} runs; --json prints it whole)")
    console.print()
    if result.trace is not None:
        rows = len(result.trace)
        if trace or (trace is None and rows <= TRACE_ROWS):
            _print_timed_trace(console, scenario, result)
        else:
            console.print(
                f"(the trace has {rows:,} rows, more than {TRACE_ROWS}: not printed; "
                f"--trace prints it, --json includes it)"
            )
        console.print()
    console.print(
        Text("makespan ", style="bold")
        + Text(
            f"{format_ns(metrics.makespan_ns)}  ·  CPU utilisation "
            f"{metrics.utilisation:.0%} of {metrics.cores} core"
            f"{'s' if metrics.cores != 1 else ''}"
        )
    )
    console.print(timed_summary(result))
    if result.runtime is Runtime.GIL:
        console.print(
            f"GIL: {metrics.switches:,} switch{'es' if metrics.switches != 1 else ''} between "
            f"threads, {metrics.drop_requests:,} drop request"
            f"{'s' if metrics.drop_requests != 1 else ''} "
            f"(switch interval {format_ns(switch_interval)})"
        )
    console.print()
    _print_findings(console, scenario, result)
    console.print()
    if processes > 1:
        console.print(
            "replay: each process's part of the schedule replays that process in controlled "
            "mode (processes share no memory)"
        )
    elif runs <= _LONG_SCHEDULE:
        console.print(
            Text("replay (controlled mode): ", style="bold")
            + Text(replay_command(file, result, scenario))
        )
    else:
        console.print(
            "replay: the schedule in --json's schedule field replays this run in controlled "
            "mode (refsim run FILE --schedule ...)"
        )


def timed_json(scenario: Scenario, result: RunResult, *, seed: int) -> dict[str, Any]:
    """``run --timed --json``: the ``run --json`` document with ``"mode": "timed"``, each
    trace event's ``time`` in ns plus its ``duration`` (ns) and ``count`` (micro-steps it
    stands for), and ``metrics``: ``makespan_ns``, ``cores``, ``utilisation``, ``threads``
    (name -> ``running_ns``, ``gil_wait_ns``, ``io_wait_ns``, ``ready_ns``,
    ``lock_wait_ns``, ``blocked_ns``, ``ops``, ``finished_ns``) and ``gil`` (``switches``,
    ``drop_requests``)."""
    metrics = result.metrics
    assert metrics is not None
    document = run_json(scenario, result, seed=seed)
    document["mode"] = "timed"
    if document["trace"] is not None:
        for event, count, duration in zip(
            document["trace"], metrics.counts, metrics.durations, strict=True
        ):
            event["duration"] = duration
            event["count"] = count
    document["metrics"] = {
        "makespan_ns": metrics.makespan_ns,
        "cores": metrics.cores,
        "utilisation": round(metrics.utilisation, 6),
        "threads": {
            name: {
                "running_ns": m.running_ns,
                "gil_wait_ns": m.gil_wait_ns,
                "io_wait_ns": m.io_wait_ns,
                "ready_ns": m.ready_ns,
                "lock_wait_ns": m.lock_wait_ns,
                "blocked_ns": m.blocked_ns,
                "ops": m.ops,
                "finished_ns": m.finished_ns,
            }
            for name, m in metrics.threads
        },
        "gil": {"switches": metrics.switches, "drop_requests": metrics.drop_requests},
    }
    return document

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

from refsim.model import Runtime, Scenario
from refsim.trace import Anomaly, RunResult, TraceEvent

__all__ = ["agrees", "print_run", "replay_command", "run_json", "verdict"]

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
    possible = ", ".join(sorted(k.value for k in claimed))
    if not claimed:
        if not found:
            return f"as the scenario claims, no anomaly can happen under {runtime}."
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
        return f"as the scenario claims, {possible} can happen under {runtime}."
    extra = ", ".join(sorted(k.value for k in result.anomaly_kinds - claimed))
    return (
        f"unexpected: the scenario claims only {possible} can happen under {runtime}, but "
        f"this run found {extra}."
    )


def replay_command(
    file: str, result: RunResult, scenario: Scenario, *, program: str = "refsim"
) -> str:
    """The command that replays ``result`` exactly."""
    # Schedules are names, stars, digits and spaces: double quotes read best and work in
    # every shell; the path gets whatever quoting it needs.
    command = f'{program} run {shlex.quote(file)} --schedule "{result.schedule}"'
    if result.runtime is not scenario.runtime:
        command += f" --runtime {result.runtime.value}"
    return command


def _value_header(scenario: Scenario) -> str:
    if scenario.objects and scenario.variables:
        return "refcount/value"
    return "value" if scenario.variables else "refcount"


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


def _print_trace(console: Console, scenario: Scenario, result: RunResult) -> None:
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
    indent = " " * (widths[0] + 1)
    start = 0
    for index, event in enumerate(result.trace):
        if event.step in by_step:
            console.print(_segment(rows[start : index + 1], headers, widths, start == 0))
            for anomaly in by_step[event.step]:
                _print_anomaly_line(console, indent, anomaly)
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
        _print_trace(console, scenario, result)
        console.print()
    if not result.finished:
        console.print(
            f"[bold yellow]stopped:[/] the step budget ran out after {result.steps} steps "
            f"before every thread finished (raise it with --max-steps)"
        )
    console.print(Text("final state: ", style="bold") + Text(_final_line(result)))
    if result.anomalies:
        console.print(Text(f"anomalies ({len(result.anomalies)}):", style="bold"))
        for anomaly in result.anomalies:
            where = "end" if anomaly.step is None else f"step {anomaly.step}"
            line = Text(f"  {where:<9} ")
            line.append(f"{anomaly.kind.value:<15}", style="red")
            line.append(anomaly.message)
            console.print(line)
    else:
        console.print(Text("anomalies: ", style="bold") + Text("none"))
    console.print(verdict(scenario, result))
    console.print()
    console.print(Text("replay: ", style="bold") + Text(replay_command(file, result, scenario)))


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

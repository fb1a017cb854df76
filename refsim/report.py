"""Reports: a run as text for a terminal (rich). Its JSON document (CLI.md) is
:func:`refsim.render.json.run_json`, which imports no rich.

It reads only the run result and the scenario; it runs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from refsim.budget import Limit
from refsim.claims import agrees, judge_run
from refsim.engine import run_length
from refsim.errors import visible
from refsim.model import Runtime, Scenario, format_ns
from refsim.narrate import blocked_notes
from refsim.render.commands import replay_command
from refsim.render.fit import Fit, blocks, narrow
from refsim.render.limits import ANOMALY_ROWS, REPLAY_RUNS, RUN_ROWS, TRACE_ROWS
from refsim.render.text import and_words, command_line, hanging, plural
from refsim.render.verdict import verdict_text
from refsim.trace import Anomaly, RunResult, TraceEvent

__all__ = [
    "RUN_ROWS",
    "TRACE_ROWS",
    "agrees",
    "and_words",
    "fitted",
    "legend",
    "plural",
    "print_run",
    "print_timed_run",
    "print_trace",
    "short_schedule",
    "start_line",
    "timed_cells",
    "timed_summary",
    "trace_cells",
    "trace_columns",
    "value_header",
]

_COLUMNS = (
    "step", "thread", "op", "micro-step", "register", "local", "shared", "{value}", "true refs",
)  # fmt: skip
"""The trace table's columns; ``local`` and ``shared`` (free-threaded's two counts) and
any value column that no row uses are left out."""


def value_header(scenario: Scenario) -> str:
    """The trace table's value column: ``refcount``, ``value`` or ``refcount/value``."""
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


_MEANINGS = {
    "register": "the thread's private copy of the value it is updating",
    "local": "the owner's count, which only the owner writes",
    "shared": "the count every other thread updates atomically",
    "refcount": "the word in memory",
    "value": "the variable in memory",
    "refcount/value": "the word in memory",
    "true refs": "the references that really exist",
}


def _cell(value: int | None, hidden: bool = False) -> str:
    if value is None:
        return ""
    return "?" if hidden else str(value)


def _row(event: TraceEvent, quiz: bool) -> tuple[str, ...]:
    local, shared = event.counts if event.counts is not None else (None, None)
    return (
        str(event.step),
        event.thread,
        event.op,
        event.micro,
        _cell(event.register, quiz),
        _cell(local, quiz),
        _cell(shared, quiz),
        _cell(event.value, quiz),
        _cell(event.true_refs, quiz),
    )


_RIGHT = (
    "step", "register", "local", "shared", "refcount", "value", "refcount/value", "true refs",
)  # fmt: skip


def _segment(
    rows: Sequence[tuple[str, ...]],
    headers: Sequence[str],
    widths: Sequence[int],
    header: bool,
    right: Sequence[str] = _RIGHT,
) -> Table:
    table = Table(box=None, show_header=header, header_style="bold", pad_edge=False)
    for name, width in zip(headers, widths, strict=True):
        table.add_column(
            name, justify="right" if name in right else "left", min_width=width,
            max_width=width, overflow="fold",
        )  # fmt: skip
    for row in rows:
        table.add_row(*row)
    return table


def fitted(
    headers: Sequence[str], rows: Sequence[tuple[str, ...]], right: Sequence[str], width: int
) -> RenderableType:
    """A table of ``rows`` that fits the console: its columns narrowed, widest first, so
    that a cell wraps between words; where it cannot, a block of lines per row
    (refsim.render.fit)."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in headers:
        table.add_column(name, justify="right" if name in right else "left")
    for row in rows:
        table.add_row(*row)
    return Fit(table)


def trace_columns(scenario: Scenario, result: RunResult) -> list[str]:
    """The trace table's columns for this run: a value column no row uses is left out (a
    scenario of locks only has no refcounts, one of variables only no true refs)."""
    return trace_cells(scenario, result)[0]


def trace_cells(
    scenario: Scenario | None, result: RunResult, *, quiz: bool = False
) -> tuple[list[str], list[tuple[str, ...]]]:
    """The trace table as text: its columns (:func:`trace_columns`) and a row of cells per
    trace event; ``quiz`` shows every value as ``?``. Without the ``scenario`` the run's
    events name the value column: ``refcount`` when only objects have values."""
    assert result.trace is not None
    header = value_header(scenario) if scenario is not None else _header_of(result)
    names = [c.format(value=header) for c in _COLUMNS]
    rows = [_row(e, False) for e in result.trace]
    keep = [i for i in range(len(names)) if i < 4 or any(r[i] for r in rows)]
    if quiz:
        rows = [_row(e, True) for e in result.trace]
    return [names[i] for i in keep], [tuple(r[i] for i in keep) for r in rows]


def _header_of(result: RunResult) -> str:
    """The value column's header from a run's events: an object's have true refs."""
    assert result.trace is not None
    valued = [e for e in result.trace if e.value is not None]
    objects = any(e.true_refs is not None for e in valued)
    others = any(e.true_refs is None for e in valued)
    return "refcount/value" if objects and others else "value" if others else "refcount"


def legend(columns: Sequence[str]) -> str | None:
    """What the trace table's value columns mean, for the columns it has."""
    parts = [f"{name}: {_MEANINGS[name]}" for name in columns if name in _MEANINGS]
    return f"({'; '.join(parts)})" if parts else None


def print_trace(
    console: Console, scenario: Scenario, result: RunResult, *, quiz: bool = False
) -> None:
    """The trace table, with each anomaly's sentence under the step where it happened.
    ``quiz``: every register, refcount, true refs and value is ``?``, and the anomalies
    are withheld, for a class to fill in."""
    assert result.trace is not None
    headers, rows = trace_cells(scenario, result, quiz=quiz)
    widths = narrow(headers, rows, console.width - 2 * (len(headers) - 1))
    by_step: dict[int, list[Anomaly]] = {}
    for anomaly in () if quiz else result.anomalies:
        if anomaly.step is not None:
            by_step.setdefault(anomaly.step, []).append(anomaly)
    notes: dict[int, list[str]] = {}
    for note in blocked_notes(scenario, result):
        assert note.step is not None
        notes.setdefault(note.step, []).append(note.text)
    indent = 2 if widths is None else min(widths[0] + 1, 8)

    def segment(part: Sequence[tuple[str, ...]], first: bool) -> None:
        if widths is None:  # too narrow for the columns: a block of lines per step
            if not first:
                console.print()
            for line in blocks(headers, part):
                console.print(line)
        else:
            console.print(_segment(part, headers, widths, first))

    start = 0
    for index, event in enumerate(result.trace):
        if event.step in by_step or event.step in notes:
            segment(rows[start : index + 1], start == 0)
            for anomaly in by_step.get(event.step, ()):
                console.print(_anomaly_line(indent, anomaly))
            for said in notes.get(event.step, ()):
                line = Text(said, style="dim")
                console.print(hanging([(Text("…", style="dim"), line)], indent=indent, gap=1))
            start = index + 1
    if start < len(rows) or not rows:
        segment(rows[start:], start == 0)


def _anomaly_line(indent: int, anomaly: Anomaly) -> RenderableType:
    text = Text(f"{anomaly.kind.value}: ", style="bold red")
    text.append(anomaly.message)
    return hanging([(Text("!", style="bold red"), text)], indent=indent, gap=1)


def _final_line(result: RunResult, quiz: bool = False) -> str:
    true_refs = dict(result.true_refs)
    parts = []
    for name, value in result.final:
        if name in true_refs:
            refs = "?" if quiz else true_refs[name]
            if quiz:
                parts.append(f"{name} refcount ? or freed (true refs ?)")
            elif value == "freed":
                parts.append(f"{name} freed (true refs {refs})")
            else:
                parts.append(f"{name} refcount {value} (true refs {refs})")
        else:
            parts.append(f"{name} = {'?' if quiz else value}")
    return ", ".join(parts) or "(no objects or variables)"


def start_line(scenario: Scenario) -> str:
    """The state before the first step: each object's refcount (true refs the same), each
    variable, each lock free."""
    parts = [f"{name} refcount {n} (true refs {n})" for name, n in scenario.objects]
    parts += [f"{name} = {n}" for name, n in scenario.variables]
    parts += [f"lock {name} free" for name in scenario.locks]
    return ", ".join(parts) or "(no objects, variables or locks)"


def print_run(
    console: Console,
    scenario: Scenario,
    result: RunResult,
    *,
    file: str,
    source: str,
    show_trace: bool = True,
    quiz: bool = False,
) -> None:
    """Print one run: header, trace table with anomaly sentences, final state, anomalies,
    the verdict against ``expect:`` and the replay command. ``source`` says where the
    schedule came from (``"--schedule"``, ``"seed 7"``). ``quiz``: predict-then-reveal,
    every value shown as ``?`` and the anomalies withheld (the same run without ``quiz``
    is the answer key)."""
    preemptions = "preemption" if result.preemptions == 1 else "preemptions"
    head = Text()
    head.append(scenario.name, style="bold")
    if scenario.part_of is not None:
        head.append(f"  process {scenario.part_of}")
    head.append(f"  runtime {result.runtime}  ·  {result.steps} steps, ")
    head.append(f"{result.preemptions} {preemptions}")
    if quiz:
        head.append("  ·  quiz")
    console.print(head)
    console.print(hanging([(f"schedule ({source}):", _schedule_text(result, REPLAY_RUNS))], gap=1))
    if result.completed_from is not None:
        console.print(
            Text(
                f"  (the given schedule ran out at step {result.completed_from}; "
                f"refsim continued without preemptions)"
            )
        )
    if quiz:
        console.print(Text("at the start: ", style="bold") + Text(start_line(scenario)))
    console.print()
    if show_trace and result.trace is not None:
        print_trace(console, scenario, result, quiz=quiz)
        if len(result.trace) < result.steps:
            console.print(Text(_cut_trace(result), style="dim"))
        console.print()
    if not result.finished:
        console.print(Text("stopped: ", style="bold yellow") + Text(_stopped(scenario, result)))
    replay = replay_command(file, result, scenario)
    if quiz:
        console.print(Text("final state: ", style="bold") + Text(_final_line(result, quiz=True)))
        console.print(
            Text("anomalies: ", style="bold") + Text("? (which ones happen, and at which step?)")
        )
        console.print()
        console.print(Text("Fill in every ?; the same run without --quiz has the answers:"))
        console.print(Padding(Text(visible(replay)), (0, 0, 0, 2)))
        return
    _print_findings(console, scenario, result)
    console.print()
    if len(result.schedule.runs) <= REPLAY_RUNS:
        command_line(console, "replay: ", replay)
    else:
        console.print(
            Text(
                f"replay: the schedule has {len(result.schedule.runs):,} runs, too many for a "
                f"command line: the same options make the same run, and --json prints the "
                f"schedule whole."
            )
        )


def _schedule_text(result: RunResult, most: int) -> str:
    """A run's schedule, or its first runs and how many there are when it has more than
    ``most``."""
    runs = len(result.schedule.runs)
    if runs <= most:
        return str(result.schedule)
    first = " ".join(str(result.schedule).split()[:8])
    return f"{first} … ({runs:,} runs; --json prints it whole)"


def _cut_trace(result: RunResult) -> str:
    assert result.trace is not None
    more = result.steps - len(result.trace)
    return (
        f"… and {more:,} more micro-steps, not shown: the table shows the first "
        f"{len(result.trace):,} (--trace shows them all; --json > FILE writes every step as "
        f"it runs; --max-steps N stops the run sooner)"
    )


def _stopped(scenario: Scenario, result: RunResult) -> str:
    """Which budget stopped the run, and how long the whole run is."""
    whole = run_length(scenario, result.runtime)
    rest = f"; the whole run has {whole:,} micro-steps" if whole > result.steps else ""
    if result.stopped == "steps":
        return (
            f"the step budget ran out after {result.steps:,} steps before every thread "
            f"finished{rest} (raise it with --max-steps)"
        )
    option = Limit(result.stopped).option
    return (
        f"the {result.stopped} budget ({option}) ran out after {result.steps:,} steps, before "
        f"every thread finished{rest}: raise {option}, or stop sooner with --max-steps N"
    )


def _print_findings(console: Console, scenario: Scenario, result: RunResult) -> None:
    """The final state, every anomaly with its step, and the verdict against ``expect:``."""
    console.print(Text("final state: ", style="bold") + Text(_final_line(result)))
    if result.anomalies:
        console.print(Text(f"anomalies ({len(result.anomalies):,}):", style="bold"))
        rows = []
        for anomaly in result.anomalies[:ANOMALY_ROWS]:
            where = "end" if anomaly.step is None else f"step {anomaly.step}"
            rows.append((where, Text(anomaly.kind.value, style="red"), anomaly.message))
        if len(result.anomalies) > ANOMALY_ROWS:
            rest = result.anomalies[ANOMALY_ROWS:]
            kinds = sorted({a.kind.value for a in rest})
            more = f"{len(rest):,} more ({', '.join(kinds)}; --json lists them all)"
            rows.append(("…", Text(""), more))
        grid = Table.grid(padding=(0, 1, 0, 0))
        grid.add_column(no_wrap=True, min_width=9)
        grid.add_column(no_wrap=True, min_width=15)
        grid.add_column()
        for where, kind, message in rows:
            grid.add_row(where, kind, message)
        console.print(Padding(Fit(grid), (0, 0, 0, 2)))
    else:
        console.print(Text("anomalies: ", style="bold") + Text("none"))
    verdict = judge_run(scenario, result)
    console.print(verdict_text(verdict, retry="try another --seed or --schedule"))


# -- timed runs ----------------------------------------------------------------------------

_LONG_SCHEDULE = 40
"""Schedules of more runs than this are summarised in text (``--json`` has them whole)."""


def short_schedule(schedule: str, limit: int) -> str:
    """``schedule`` whole if it fits in ``limit`` characters, else cut at a run and ended
    with `` …``."""
    return schedule if len(schedule) <= limit else schedule[:limit].rsplit(" ", 1)[0] + " …"


def _timed_rows(result: RunResult) -> list[tuple[str, ...]]:
    assert result.trace is not None and result.metrics is not None
    rows: list[tuple[str, ...]] = []
    counts, durations = result.metrics.counts, result.metrics.durations
    for event, count, duration in zip(result.trace, counts, durations, strict=True):
        step = str(event.step) if count == 1 else f"{event.step - count + 1}-{event.step}"
        micro = event.micro if count == 1 else f"{event.micro} ×{count:,}"
        value = _cell(event.value)
        if event.counts is not None:
            # Free-threaded's two counts, in the refcount's cell: two columns more would
            # not fit 80 beside the time and the duration.
            value += " = {}+{}".format(*event.counts)
        rows.append(
            (
                step,
                format_ns(event.time),
                event.thread,
                event.op,
                micro,
                format_ns(duration),
                _cell(event.register),
                value,
                _cell(event.true_refs),
            )
        )
    return rows


_SPLIT = (
    "(refcount = local+shared: the owner's count, which only the owner writes, plus the "
    "count every other thread updates atomically)"
)
"""Under the timed trace of a free-threaded run: what ``3 = 2+1`` means."""


def _print_timed_trace(console: Console, scenario: Scenario, result: RunResult) -> None:
    """The timed trace table: the controlled one's columns (those some row uses) with
    each micro-step's time and duration."""
    headers = ["step", "time", "thread", "op", "micro-step", "took", "register"]
    headers += [value_header(scenario), "true refs"]
    rows = _timed_rows(result)
    keep = [i for i in range(len(headers)) if i < 6 or any(r[i] for r in rows)]
    right = [headers[i] for i in (0, 1, 5, 6, 7, 8)]
    kept = [tuple(r[i] for i in keep) for r in rows]
    console.print(fitted([headers[i] for i in keep], kept, right, console.width))
    assert result.trace is not None
    if any(event.counts is not None for event in result.trace):
        console.print(Text(_SPLIT, style="dim"))


def timed_summary(result: RunResult, width: int) -> RenderableType:
    """Per thread: time running, waiting for the GIL, on I/O, ready, on locks, blocked on
    the other waiting primitives (a column shown only when some thread was); ops done."""
    columns, rows = timed_cells(result)
    return fitted(columns, rows, columns[1:], width)


def timed_cells(result: RunResult) -> tuple[list[str], list[tuple[str, ...]]]:
    """:func:`timed_summary`'s columns and rows, as text."""
    assert result.metrics is not None
    blocked = any(m.blocked_ns for _, m in result.metrics.threads)
    columns = ["thread", "running", "GIL wait", "I/O wait", "ready", "lock wait"]
    columns += ["blocked"] * blocked + ["ops", "done at"]
    rows = []
    for name, m in result.metrics.threads:
        done = "never" if m.finished_ns is None else format_ns(m.finished_ns)
        cells = [
            name, format_ns(m.running_ns), format_ns(m.gil_wait_ns), format_ns(m.io_wait_ns),
            format_ns(m.ready_ns), format_ns(m.lock_wait_ns),
        ]  # fmt: skip
        cells += [format_ns(m.blocked_ns)] * blocked + [f"{m.ops:,}", done]
        rows.append(tuple(cells))
    return columns, rows


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
    schedule = _schedule_text(result, _LONG_SCHEDULE)
    console.print(hanging([("schedule:", schedule)], gap=1))
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
    console.print(timed_summary(result, console.width))
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
    elif len(result.schedule.runs) <= _LONG_SCHEDULE:
        command_line(console, "replay (controlled mode): ", replay_command(file, result, scenario))
    else:
        console.print(
            "replay: the schedule in --json's schedule field replays this run in controlled "
            "mode (refsim run FILE --schedule ...)"
        )

"""``refsim FILE`` / ``refsim story FILE``: the whole lesson of one scenario.

Five parts, in order: the scenario; how often each outcome happens (the explorer's table,
exact when the state space is small enough, else sampled, else unavailable); the shortest
way it goes wrong (a trace table, then the steps in plain sentences from
:mod:`refsim.narrate`, then what that means in a real process); what the GIL changes (the
scenario explored under every runtime); and the commands to go further.
"""

from __future__ import annotations

import argparse
import shlex
import textwrap
from dataclasses import dataclass
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from refsim.cli.common import (
    EXIT_BUDGET,
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    UsageError,
    add_limits,
    add_runtime,
    console,
    load,
    write_json,
)
from refsim.cli.compare import Row, compare, compare_json, compare_table
from refsim.cli.explore import count_cell, exploration_json, percent
from refsim.cli.plot import check_output, write_output
from refsim.costs import settings
from refsim.engine import run
from refsim.explore import DEFAULT_MAX_STATES, StateBudgetExceeded, explore, reachable
from refsim.model import AnomalyKind, Op, Runtime, Scenario
from refsim.narrate import RUNTIME_WORDS, Sentence, consequences, gil_lesson, narrate
from refsim.plot import FORMATS
from refsim.report import (
    and_words,
    format_ns,
    plural,
    print_trace,
    replay_command,
    run_json,
    timed_summary,
)
from refsim.timed import run_timed
from refsim.trace import Exploration, OutcomeStats, RunResult

__all__ = ["COMMAND"]

SAMPLE_RUNS = 1000
"""Runs of the fair random scheduler sampled when the exact count runs out of states."""


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    add_runtime(p)
    p.add_argument("--json", action="store_true", help="print the story as one JSON document")
    p.add_argument(
        "--brief", action="store_true",
        help="only how often each outcome happens and what the GIL changes",
    )  # fmt: skip
    p.add_argument(
        "--plot", metavar="OUT",
        help="also write the failing interleaving's figure to OUT (PNG, SVG or PDF)",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="let --plot overwrite OUT")
    add_limits(p)


# -- gathering ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Story:
    """Everything the story tells, gathered before anything is printed."""

    scenario: Scenario
    file: str
    runtime: Runtime
    tables: dict[Runtime, Exploration | None]
    """Each runtime's outcome table; ``None`` when it could not be counted or sampled."""
    failing: RunResult | None
    """The failing interleaving under ``runtime``, run again with its trace."""
    failing_in: Scenario
    """What ``failing`` is a run of: the scenario, or the process of it that fails."""
    reach: dict[Runtime, frozenset[AnomalyKind] | None]
    """Each runtime's reachable anomaly kinds: from its table, else from a reachability
    search (exact, without counts); ``None`` when neither fits the state budget."""
    timed: dict[Runtime, RunResult] | None
    """For a scenario with ``timing:``, one timed run (seed 0) under each runtime."""
    rows: tuple[Row, ...] | None
    """For a scenario with ``timing:``, ``refsim compare``'s rows."""

    @property
    def table(self) -> Exploration | None:
        return self.tables[self.runtime]

    def reachable(self, runtime: Runtime) -> frozenset[AnomalyKind] | None:
        return self.reach[runtime]


def _explore(scenario: Scenario, runtime: Runtime) -> Exploration | None:
    # A timed scenario's compute stretches run millions of bytecodes: sampling runs them
    # one micro-step at a time and would not finish, so only untimed scenarios sample.
    sample = None if scenario.timing is not None else SAMPLE_RUNS
    try:
        return explore(scenario, runtime=runtime, max_states=DEFAULT_MAX_STATES, sample=sample)
    except StateBudgetExceeded:
        return None


def _worst(table: Exploration) -> OutcomeStats | None:
    """The outcome the story tells: the one with the most kinds of anomaly beyond a lost
    update (the fullest failure), then the fewest preemptions, then the shortest."""
    failing = [s for s in table.outcomes if s.outcome.anomalies]
    if not failing:
        return None

    def key(s: OutcomeStats) -> tuple[int, int, int]:
        kinds = set(s.outcome.anomalies) - {AnomalyKind.LOST_UPDATE}
        return (-len(kinds), s.preemptions, len(s.witness))

    return min(failing, key=key)


def _reachable(
    scenario: Scenario, runtime: Runtime, table: Exploration | None
) -> frozenset[AnomalyKind] | None:
    if table is not None:
        return table.kinds
    try:
        return reachable(scenario, runtime=runtime, max_states=DEFAULT_MAX_STATES).kinds
    except StateBudgetExceeded:
        return None


def _union(kinds: list[frozenset[AnomalyKind] | None]) -> frozenset[AnomalyKind] | None:
    """The kinds some process reaches; ``None`` if some process could not be searched."""
    known = [k for k in kinds if k is not None]
    return frozenset().union(*known) if len(known) == len(kinds) else None


def _gather(scenario: Scenario, file: str, runtime: Runtime) -> _Story:
    order = [runtime] + [r for r in Runtime if r is not runtime]
    parts = scenario.per_process()
    # Processes share no memory, so each is explored on its own; a file with several has
    # no one table of its interleavings, and its story tells the first process that fails.
    part_tables = {r: [_explore(part, r) for part in parts] for r in order}
    tables = {r: part_tables[r][0] if len(parts) == 1 else None for r in order}
    reach = {
        r: _union([_reachable(part, r, t) for part, t in zip(parts, part_tables[r], strict=True)])
        for r in order
    }
    failing, failing_in = None, scenario
    for part, table in zip(parts, part_tables[runtime], strict=True):
        worst = None if table is None else _worst(table)
        if worst is not None:
            failing, failing_in = run(part, runtime=runtime, schedule=worst.witness), part
            break
    timed = rows = None
    if scenario.timing is not None:
        timed = {r: run_timed(scenario, runtime=r, keep_trace=False) for r in Runtime}
        rows = compare(scenario)
    return _Story(scenario, file, runtime, tables, failing, failing_in, reach, timed, rows)


# -- exit status ----------------------------------------------------------------------------


def _status(story: _Story) -> int:
    """1 when something reachable is not claimed (or a claim fails), else 3 when a table
    could not be built, else 0."""
    scenario = story.scenario
    unknown = False
    for runtime in Runtime:
        found = story.reachable(runtime)
        if found is None:
            unknown = True
            continue
        claimed = scenario.held_to(runtime)
        if claimed is None:
            continue
        table = story.tables[runtime]
        complete = table is None or table.exhaustive
        if found - claimed or (complete and claimed - found):
            return EXIT_DISAGREES
    return EXIT_BUDGET if unknown else EXIT_OK


# -- words ----------------------------------------------------------------------------------


OPS_SHOWN = 6
"""The most op groups a thread's line shows before it is cut short."""


def _ops(ops: tuple[Op, ...]) -> str:
    """A thread's program, runs of one op written once with a count, cut short when long."""
    parts: list[str] = []
    index = 0
    while index < len(ops):
        end = index
        while end + 1 < len(ops) and ops[end + 1] == ops[index]:
            end += 1
        times = end - index + 1
        parts.append(str(ops[index]) + (f" (×{times})" if times > 1 else ""))
        index = end + 1
    if len(parts) > OPS_SHOWN:
        parts = parts[: OPS_SHOWN - 1] + [f"… ({len(ops):,} ops in all)"]
    return ", ".join(parts)


def _found_words(kinds: frozenset[AnomalyKind] | None) -> str:
    if kinds is None:
        return "too many states to search"
    if kinds:
        return f"these anomalies can happen: {and_words(sorted(k.value for k in kinds))}"
    return "no interleaving reaches any anomaly"


def _table_headline(story: _Story) -> str:
    table = story.table
    kinds = story.reachable(story.runtime)
    groups = story.scenario.process_groups()
    if len(groups) > 1:
        names = ", ".join(name for name, _ in groups)
        return (
            f"its threads run in {len(groups)} processes ({names}), which share no memory, so "
            f"each is explored on its own (`refsim explore FILE --process NAME` counts one): "
            f"{_found_words(kinds)}"
        )
    if table is None:
        why = (
            f"too many interleavings to count (more than {DEFAULT_MAX_STATES:,} distinct "
            f"states: the long compute stretches), and too long to sample"
        )
        if kinds is None:
            return f"unavailable: {why}"
        return (
            f"{why}; but every reachable state was searched (a compute or I/O step touches "
            f"nothing shared, so its place in the interleaving cannot change the outcome): "
            f"{_found_words(kinds)}"
        )
    if not table.exhaustive:
        return (
            f"sampled, not exact: {table.interleavings:,} runs of the fair random scheduler "
            f"(too many states to count every interleaving)"
        )
    return f"exact: every one of {plural(table.interleavings, 'interleaving')} counted"


def _outcome_table(table: Exploration) -> Table:
    grid = Table(box=None, header_style="bold", pad_edge=False)
    grid.add_column("outcome")
    count = "interleavings" if table.exhaustive else "runs"
    grid.add_column(count, justify="right", no_wrap=True)
    grid.add_column("share", justify="right", no_wrap=True)
    for s in table.outcomes:
        grid.add_row(str(s.outcome), count_cell(s.count), percent(s.share))
    return grid


def _runtime_table(story: _Story) -> Table:
    grid = Table(box=None, header_style="bold", pad_edge=False)
    grid.add_column("runtime")
    grid.add_column("can it go wrong?")
    grid.add_column("interleavings", justify="right", no_wrap=True)
    for runtime in Runtime:
        table = story.tables[runtime]
        kinds = story.reachable(runtime)
        if kinds is None:
            grid.add_row(runtime.value, "unknown (too many states to search)", "")
            continue
        answer = "yes: " + ", ".join(sorted(k.value for k in kinds)) if kinds else "no"
        if table is not None and not table.exhaustive:
            answer += " (sampled: maybe more)"
        if len(story.scenario.process_groups()) > 1:
            count = "by process"
        elif table is None:
            count = "too many to count"
        else:
            count = count_cell(table.interleavings) if table.exhaustive else "sampled"
        grid.add_row(runtime.value, answer, count)
    return grid


def _commands(story: _Story) -> list[tuple[str, str]]:
    """(what, command) pairs to go further."""
    file = shlex.quote(story.file)
    override = story.runtime is not story.scenario.runtime
    flag = f" --runtime {story.runtime.value}" if override else ""
    lines: list[tuple[str, str]] = []
    if story.failing is not None:
        schedule = story.failing.schedule
        part = story.failing_in.part_of
        process = "" if part is None else f" --process {part}"
        lines.append(("replay it", replay_command(story.file, story.failing, story.failing_in)))
        lines.append(
            ("plot it", f'refsim plot {file} --schedule "{schedule}"{process}{flag} -o '
                        f"{story.scenario.name}.png")
        )  # fmt: skip
    if story.table is not None:
        lines.append(("every outcome, with a witness", f"refsim explore {file}{flag}"))
    if story.scenario.timing is not None:
        lines.append(("the runtimes in simulated time", f"refsim compare {file}"))
        lines.append(("one run in simulated time", f"refsim run {file} --timed{flag}"))
    else:
        # A few micro-steps take nanoseconds: their timings say nothing about the GIL.
        lines.append(("the GIL's other cost, in time", "refsim cpu_bound"))
    return lines


# -- printing -------------------------------------------------------------------------------


def _heading(c: Console, number: int, title: str) -> None:
    c.print()
    c.print(Text(f"{number}. {title}", style="bold"))


def _print_scenario(c: Console, story: _Story) -> None:
    scenario = story.scenario
    c.print(Text(f"1. The scenario: {scenario.name}", style="bold"))
    if scenario.description:
        c.print(textwrap.fill(" ".join(scenario.description.split()), width=88))
    c.print()
    rows = [(f"thread {t.name}", _ops(t.ops)) for t in scenario.threads]
    rows += [
        (f"object {name}", f"refcount {value} at the start") for name, value in scenario.objects
    ]
    rows += [(f"variable {name}", f"{value} at the start") for name, value in scenario.variables]
    rows += [(f"lock {name}", "free at the start") for name in scenario.locks]
    if len(scenario.process_groups()) > 1:
        rows += [
            (f"process {name}", f"{', '.join(threads)}: its own GIL and its own objects")
            for name, threads in scenario.process_groups()
        ]
    if scenario.timing is not None:
        rows.append(("timing", _timing_words(scenario)))
    runtime = story.runtime
    chosen = "" if runtime is scenario.runtime else " (--runtime)"
    rows.append(("runtime", f"{runtime}{chosen}: {RUNTIME_WORDS[runtime]}"))
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        c.print(f"{label:<{width}}  {text}")


def _timing_words(scenario: Scenario) -> str:
    """``2 cores, COMPUTE costs 10µs, switch interval 5ms``: what the file sets."""
    timing = scenario.timing
    assert timing is not None
    full = settings(timing)
    parts = [plural(full.cores, "core")]
    parts += [f"{kind.value} costs {format_ns(ns)}" for kind, ns in timing.costs]
    if timing.jitter:
        parts.append(f"jitter {timing.jitter:g}")
    parts.append(f"switch interval {format_ns(full.switch_interval)}")
    return ", ".join(parts) + " (in simulated time: `refsim run --timed`)"


def _print_outcomes(c: Console, story: _Story, number: int) -> None:
    _heading(c, number, f"How often each outcome happens (runtime {story.runtime})")
    table = story.table
    c.print(_table_headline(story))
    if table is not None:
        c.print(_outcome_table(table))


def _print_failing(c: Console, story: _Story) -> None:
    _heading(c, 3, "The shortest way it goes wrong")
    result = story.failing
    if result is None:
        kinds = story.reachable(story.runtime)
        if kinds is None:
            c.print("Not known: there are too many interleavings to find one.")
        elif kinds:
            c.print(
                f"{and_words(sorted(k.value for k in kinds))} can happen, but there are too many "
                f"interleavings to pick the shortest: `refsim search` finds and shrinks one."
            )
        else:
            c.print(f"No interleaving goes wrong under {story.runtime}.")
        if story.timed is not None:
            _print_time(c, story, story.timed[story.runtime])
        return
    names = [k.value for k in result.outcome.anomalies]
    scenario = story.failing_in
    where = "" if scenario.part_of is None else f" (in process {scenario.part_of})"
    c.print(
        f"The fewest preemptions that end in {and_words(names)}{where}: schedule "
        f"{result.schedule}, {plural(result.steps, 'step')}, "
        f"{plural(result.preemptions, 'preemption')} (a preemption: the scheduler switches "
        f"away from a thread that could have gone on)."
    )
    c.print()
    print_trace(c, scenario, result)
    if scenario.objects or scenario.variables:
        c.print(_LEGEND)
    c.print()
    c.print(Text("Step by step:", style="bold"))
    for sentence in narrate(scenario, result):
        where = "end" if sentence.step is None else f"step {sentence.step}"
        c.print(f"  {where:>8}  {sentence.text}")
    c.print()
    c.print(Text("In a real CPython process:", style="bold"))
    for line in consequences(scenario, result):
        c.print(f"  - {line}.")


def _print_time(c: Console, story: _Story, result: RunResult) -> None:
    """Where the time goes in one timed run: this scenario's lesson is about time."""
    metrics = result.metrics
    assert metrics is not None
    timing = settings(story.scenario.timing)
    c.print(
        f"This scenario is about time, not races. In simulated time (seed 0, "
        f"{plural(metrics.cores, 'core')}) the run takes {format_ns(metrics.makespan_ns)}, "
        f"with the cores busy {metrics.utilisation:.0%} of it; each thread's time went to:"
    )
    c.print()
    c.print(timed_summary(result))
    if result.runtime is Runtime.GIL:
        switches = "switch" if metrics.switches == 1 else "switches"
        c.print(
            f"GIL: {metrics.switches:,} {switches} between threads, "
            f"{plural(metrics.drop_requests, 'drop request')} (switch interval "
            f"{format_ns(timing.switch_interval)})"
        )
    c.print(
        "(running: on a core; GIL wait: ready but another thread holds the GIL; I/O wait: "
        "in a blocking call, the GIL released)"
    )


_LEGEND = (
    "(register: the thread's private copy of the value it is updating; refcount or value: "
    "the word in memory; true refs: the references that really exist)"
)


def _print_gil(c: Console, story: _Story, number: int) -> None:
    _heading(c, number, "What the GIL changes")
    if story.rows is None:
        c.print(_runtime_table(story))
    else:
        c.print(compare_table(story.rows))
        c.print(
            "(speedup: over running the threads one after another; `refsim compare` has "
            "the details)"
        )
    c.print()
    c.print(_lesson(story))


def _lesson(story: _Story) -> str:
    words = gil_lesson(story.scenario, {r: story.reachable(r) for r in Runtime})
    if story.rows is None or story.timed is None:
        return words
    lesson = f"{words} {_time_lesson(story.rows)}"
    convoy = _convoy(story.timed[Runtime.GIL], story.timed[Runtime.ATOMIC])
    return lesson if convoy is None else f"{lesson} {convoy}"


CONVOY = 3.0
"""How many times later a thread must finish under gil than under atomic for the story to
call it a convoy."""


def _convoy(gil: RunResult, atomic: RunResult) -> str | None:
    """The thread the GIL delays most, when it is delayed far more than the run as a whole:
    an I/O-bound thread that waits for the GIL after each blocking call (the convoy)."""
    assert gil.metrics is not None and atomic.metrics is not None
    worst = None
    for (name, slow), (_, fast) in zip(gil.metrics.threads, atomic.metrics.threads, strict=True):
        if slow.finished_ns is None or fast.finished_ns is None or not fast.finished_ns:
            continue
        ratio = slow.finished_ns / fast.finished_ns
        if worst is None or ratio > worst[0]:
            worst = (ratio, name, slow, fast)
    overall = gil.metrics.makespan_ns / max(atomic.metrics.makespan_ns, 1)
    if worst is None or worst[0] < CONVOY * overall:
        return None
    ratio, name, slow, fast = worst
    return (
        f"But look at {name}: it finishes at {format_ns(slow.finished_ns or 0)} under gil "
        f"against {format_ns(fast.finished_ns or 0)} under atomic ({ratio:.0f} times later), "
        f"because after each blocking call it must wait for the CPU-bound thread to be "
        f"asked to drop the GIL ({format_ns(slow.gil_wait_ns)} of GIL wait in all): the "
        f"convoy effect."
    )


def _time_lesson(rows: tuple[Row, ...]) -> str:
    """What the GIL costs in time, from ``refsim compare``'s rows."""
    by = {row.label: row for row in rows}
    gil, atomic = by["gil"], by["atomic"]
    processes = by["gil, a process per thread"]
    if gil.speedup < 1.2 and atomic.speedup >= 1.5:
        cost = (
            f"In time, the GIL costs it its parallelism: under gil the threads take "
            f"{format_ns(gil.makespan_ns)}, no faster than one after another "
            f"({gil.speedup:.2f}×), because only the thread holding the GIL runs bytecodes; "
            f"without it (atomic) they take {format_ns(atomic.makespan_ns)} "
            f"({atomic.speedup:.2f}×)"
        )
    elif gil.speedup >= 1.5:
        cost = (
            f"In time, the threads overlap even under the GIL: {format_ns(gil.makespan_ns)} "
            f"against {format_ns(gil.sequential_ns)} one after another "
            f"({gil.speedup:.2f}×), because a thread waiting on I/O drops the GIL"
        )
    else:
        cost = (
            f"In time, the runtimes hardly differ: {format_ns(gil.makespan_ns)} under gil, "
            f"{format_ns(atomic.makespan_ns)} under atomic"
        )
    grouped = by.get("gil, the file's processes")
    files = (
        ""
        if grouped is None
        else f", and the processes as the file groups them {format_ns(grouped.makespan_ns)} "
        f"({grouped.speedup:.2f}×)"
    )
    return (
        f"{cost}; a process per thread, each with its own GIL, takes "
        f"{format_ns(processes.makespan_ns)} ({processes.speedup:.2f}×, process starts "
        f"included){files}."
    )


def _print_commands(c: Console, story: _Story) -> None:
    _heading(c, 5, "Go further")
    for what, command in _commands(story):
        c.print(f"  {what + ':':<32}{command}")


def _print_story(c: Console, story: _Story, brief: bool) -> None:
    if brief:
        c.print(Text(story.scenario.name, style="bold"))
        _print_outcomes(c, story, 1)
        _print_gil(c, story, 2)
        return
    _print_scenario(c, story)
    _print_outcomes(c, story, 2)
    _print_failing(c, story)
    _print_gil(c, story, 4)
    _print_commands(c, story)


# -- JSON -----------------------------------------------------------------------------------


def _scenario_json(story: _Story) -> dict[str, Any]:
    scenario = story.scenario
    return {
        "name": scenario.name,
        "description": scenario.description,
        "runtime": story.runtime.value,
        "threads": {t.name: [str(op) for op in t.ops] for t in scenario.threads},
        "objects": dict(scenario.objects),
        "variables": dict(scenario.variables),
        "locks": list(scenario.locks),
    }


def _sentence_json(sentence: Sentence) -> dict[str, Any]:
    return {"step": sentence.step, "text": sentence.text}


def _failing_json(story: _Story) -> dict[str, Any] | None:
    result = story.failing
    if result is None:
        return None
    scenario = story.failing_in
    return {
        "run": run_json(scenario, result, seed=None),
        "process": scenario.part_of,
        "preemptions": result.preemptions,
        "story": [_sentence_json(s) for s in narrate(scenario, result)],
        "meaning": list(consequences(scenario, result)),
    }


def _gil_json(story: _Story) -> list[dict[str, Any]]:
    rows = []
    for runtime in Runtime:
        table = story.tables[runtime]
        kinds = story.reachable(runtime)
        rows.append(
            {
                "runtime": runtime.value,
                "anomalies": None if kinds is None else sorted(k.value for k in kinds),
                "exhaustive": None if table is None else table.exhaustive,
                "interleavings": None if table is None else table.interleavings,
            }
        )
    return rows


def _story_json(story: _Story, brief: bool) -> dict[str, Any]:
    table = story.table
    kind = "unavailable" if table is None else "exact" if table.exhaustive else "sampled"
    document: dict[str, Any] = {
        "scenario": _scenario_json(story),
        "outcomes": {
            "table": kind,
            "exploration": None if table is None else exploration_json(table),
        },
        "failing": _failing_json(story),
        "gil": {"runtimes": _gil_json(story), "lesson": _lesson(story)},
        "timed": None if story.rows is None else compare_json(story.scenario, story.rows, 0),
        "commands": [{"what": what, "command": command} for what, command in _commands(story)],
    }
    if brief:
        document = {key: document[key] for key in ("outcomes", "gil", "timed")}
        document["scenario"] = story.scenario.name
    return document


# -- the command ----------------------------------------------------------------------------


def _write_plot(path: str, story: _Story, force: bool, err: TextIO) -> None:
    """The failing interleaving's figure; for a timed scenario where nothing goes wrong,
    the figure of its timed run (where the time goes) instead."""
    from refsim.plot import INSTALL_HINT, draw_run, draw_timed, matplotlib_available, save_figure

    if not matplotlib_available():
        raise UsageError(f"--plot needs matplotlib: {INSTALL_HINT}")
    scenario = story.scenario
    if story.failing is not None:
        fig = draw_run(story.failing, scenario=story.failing_in)
        what = f"the failing interleaving {story.failing.schedule}"
    elif story.timed is not None:
        result = run_timed(scenario, runtime=story.runtime)
        processes = [name for name, _ in scenario.process_groups()]
        fig = draw_timed(result, threads=scenario.thread_names, processes=processes)
        what = f"{scenario.name} under {story.runtime} in simulated time, seed 0"
    else:
        raise UsageError(f"--plot {path}: no interleaving goes wrong, so there is nothing to plot")
    write_output(path, lambda tmp: save_figure(fig, tmp), force=force, option="--plot")
    err.write(f"wrote {path}: {what}\n")


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.plot is not None:
        check_output(args.plot, force=args.force, option="--plot", suffixes=FORMATS)
    scenario, _ = load(args.file, args)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    story = _gather(scenario, args.file, runtime)
    if args.json:
        write_json(out, _story_json(story, args.brief))
    else:
        _print_story(console(out), story, args.brief)
    if args.plot is not None:
        _write_plot(args.plot, story, args.force, err)
    return _status(story)


COMMAND = Command(
    "story", "tell the whole story of a scenario: outcomes, what goes wrong, the GIL",
    _arguments, _execute,
)  # fmt: skip

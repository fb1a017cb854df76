"""``refsim FILE`` / ``refsim story FILE``: the whole lesson of one scenario.

Five parts, in order: the scenario; how often each outcome happens (the explorer's table,
exact when the state space is small enough, else sampled, else unavailable); the shortest
way it goes wrong (a trace table, then the steps in plain sentences from
:mod:`refsim.narrate`, then what that means in a real process); what the GIL changes (the
scenario explored under every runtime); and the commands to go further.
"""

from __future__ import annotations

import argparse
import json
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
)
from refsim.cli.explore import exploration_json, outcome_words, percent
from refsim.cli.plot import check_output, write_output
from refsim.engine import run
from refsim.explore import DEFAULT_MAX_STATES, StateBudgetExceeded, explore
from refsim.model import AnomalyKind, Op, Runtime, Scenario
from refsim.narrate import RUNTIME_WORDS, Sentence, consequences, gil_lesson, narrate
from refsim.report import _print_trace, replay_command, run_json
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

    @property
    def table(self) -> Exploration | None:
        return self.tables[self.runtime]

    def reachable(self, runtime: Runtime) -> frozenset[AnomalyKind] | None:
        table = self.tables[runtime]
        if table is None:
            return None
        return frozenset(k for s in table.outcomes for k in s.outcome.anomalies)


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


def _gather(scenario: Scenario, file: str, runtime: Runtime) -> _Story:
    order = [runtime] + [r for r in Runtime if r is not runtime]
    tables = {r: _explore(scenario, r) for r in order}
    table = tables[runtime]
    worst = None if table is None else _worst(table)
    failing = None
    if worst is not None:
        failing = run(scenario, runtime=runtime, schedule=worst.witness)
    return _Story(scenario, file, runtime, tables, failing)


# -- exit status ----------------------------------------------------------------------------


def _status(story: _Story) -> int:
    """1 when something reachable is not claimed (or a claim fails), else 3 when a table
    could not be built, else 0."""
    scenario = story.scenario
    unknown = False
    for runtime in Runtime:
        table = story.tables[runtime]
        if table is None:
            unknown = True
            continue
        claimed = scenario.expected(runtime)
        if claimed is None:
            if runtime is not scenario.runtime:
                continue
            claimed = frozenset()
        found = story.reachable(runtime) or frozenset()
        complete = table.exhaustive and table.preemption_bound is None
        if found - claimed or (complete and claimed - found):
            return EXIT_DISAGREES
    return EXIT_BUDGET if unknown else EXIT_OK


# -- words ----------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


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


def _table_headline(table: Exploration | None, scenario: Scenario) -> str:
    if table is None:
        return (
            f"unavailable: the exact count needs more than {DEFAULT_MAX_STATES:,} distinct "
            f"states, and its long compute stretches make sampled runs too slow"
        )
    if not table.exhaustive:
        return (
            f"sampled, not exact: {table.interleavings:,} runs of the fair random scheduler "
            f"(too many states to count every interleaving)"
        )
    return f"exact: every one of {_plural(table.interleavings, 'interleaving')} counted"


def _outcome_table(table: Exploration) -> Table:
    grid = Table(box=None, header_style="bold", pad_edge=False)
    grid.add_column("outcome")
    count = "interleavings" if table.exhaustive else "runs"
    grid.add_column(count, justify="right", no_wrap=True)
    grid.add_column("share", justify="right", no_wrap=True)
    for s in table.outcomes:
        grid.add_row(outcome_words(s.outcome), f"{s.count:,}", percent(s.share))
    return grid


def _runtime_table(story: _Story) -> Table:
    grid = Table(box=None, header_style="bold", pad_edge=False)
    grid.add_column("runtime")
    grid.add_column("can it go wrong?")
    grid.add_column("interleavings", justify="right", no_wrap=True)
    for runtime in Runtime:
        table = story.tables[runtime]
        kinds = story.reachable(runtime)
        if table is None or kinds is None:
            grid.add_row(runtime.value, "unknown (too many states to count)", "")
            continue
        answer = "yes: " + ", ".join(sorted(k.value for k in kinds)) if kinds else "no"
        if not table.exhaustive:
            answer += " (sampled: maybe more)"
        count = f"{table.interleavings:,}" if table.exhaustive else "sampled"
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
        lines.append(("replay it", replay_command(story.file, story.failing, story.scenario)))
        lines.append(
            ("plot it", f'refsim plot {file} --schedule "{schedule}"{flag} -o '
                        f"{story.scenario.name}.png")
        )  # fmt: skip
    if story.table is not None:
        lines.append(("every outcome, with a witness", f"refsim explore {file}{flag}"))
    lines.append(("the runtimes in simulated time", f"refsim compare {file}"))
    if story.scenario.timing is not None:
        lines.append(("one run in simulated time", f"refsim run {file} --timed{flag}"))
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
    runtime = story.runtime
    chosen = "" if runtime is scenario.runtime else " (--runtime)"
    rows.append(("runtime", f"{runtime}{chosen}: {RUNTIME_WORDS[runtime]}"))
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        c.print(f"{label:<{width}}  {text}")


def _print_outcomes(c: Console, story: _Story, number: int) -> None:
    _heading(c, number, f"How often each outcome happens (runtime {story.runtime})")
    table = story.table
    c.print(_table_headline(table, story.scenario))
    if table is not None:
        c.print(_outcome_table(table))


def _print_failing(c: Console, story: _Story) -> None:
    _heading(c, 3, "The shortest way it goes wrong")
    result = story.failing
    scenario = story.scenario
    if result is None:
        if story.table is None:
            c.print("Not known: there are too many interleavings to find one.")
        else:
            c.print(f"No interleaving goes wrong under {story.runtime}.")
        if scenario.timing is not None:
            c.print(
                "This scenario is about time, not races: `refsim compare` and "
                "`refsim run --timed` show where the time goes."
            )
        return
    kinds = [k.value for k in result.outcome.anomalies]
    c.print(
        f"The fewest preemptions that end in {_and(kinds)}: schedule {result.schedule}, "
        f"{_plural(result.steps, 'step')}, {_plural(result.preemptions, 'preemption')} (a "
        f"preemption: the scheduler switches away from a thread that could have gone on)."
    )
    c.print()
    _print_trace(c, scenario, result)
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


_LEGEND = (
    "(register: the thread's private copy of the value it is updating; refcount or value: "
    "the word in memory; true refs: the references that really exist)"
)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _print_gil(c: Console, story: _Story, number: int) -> None:
    _heading(c, number, "What the GIL changes")
    c.print(_runtime_table(story))
    c.print()
    c.print(_lesson(story))


def _lesson(story: _Story) -> str:
    return gil_lesson(story.scenario, {r: story.reachable(r) for r in Runtime})


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
    return {
        "run": run_json(story.scenario, result, seed=None),
        "preemptions": result.preemptions,
        "story": [_sentence_json(s) for s in narrate(story.scenario, result)],
        "meaning": list(consequences(story.scenario, result)),
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
        "commands": [{"what": what, "command": command} for what, command in _commands(story)],
    }
    if brief:
        document = {key: document[key] for key in ("outcomes", "gil")}
        document["scenario"] = story.scenario.name
    return document


# -- the command ----------------------------------------------------------------------------


def _write_plot(path: str, story: _Story, force: bool, err: TextIO) -> None:
    from refsim.plot import INSTALL_HINT, draw_run, matplotlib_available, save_figure

    if not matplotlib_available():
        raise UsageError(f"--plot needs matplotlib: {INSTALL_HINT}")
    if story.failing is None:
        raise UsageError(f"--plot {path}: no interleaving goes wrong, so there is nothing to plot")
    fig = draw_run(story.failing, threads=story.scenario.thread_names)
    write_output(path, lambda tmp: save_figure(fig, tmp), force=force, option="--plot")
    err.write(f"wrote {path}: the failing interleaving {story.failing.schedule}\n")


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.plot is not None:
        check_output(args.plot, force=args.force, option="--plot")
    scenario, _ = load(args.file, args)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    story = _gather(scenario, args.file, runtime)
    if args.json:
        json.dump(_story_json(story, args.brief), out)
        out.write("\n")
    else:
        _print_story(console(out), story, args.brief)
    if args.plot is not None:
        _write_plot(args.plot, story, args.force, err)
    return _status(story)


COMMAND = Command(
    "story", "tell the whole story of a scenario: outcomes, what goes wrong, the GIL",
    _arguments, _execute,
)  # fmt: skip

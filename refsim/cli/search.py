"""``refsim search FILE``: Hypothesis searches for a schedule that reaches an anomaly and
shrinks it; the minimal failing run is printed as ``refsim run`` prints it.

Exit status (CLI.md): found, 0 when the run's anomalies are all claimed by the scenario's
``expect:`` for that runtime, else 1 (an anomaly nothing expected). Nothing found: 3 when
the step budget (``--max-steps``) stopped some run before it ended, as ``run`` does, since
what such a run would have reached is unknown; else 0 when nothing was to be found (the
claims for that runtime are ``[]``, or absent, or do not include the kind asked for), else
3: the claims say it can happen, and the budget ran out before the search could show it.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from refsim.claims import agrees, judge_nothing_found, nothing_to_find
from refsim.cli.budget import add_budget
from refsim.cli.common import (
    EXIT_BUDGET,
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    add_limits,
    add_process,
    add_runtime,
    anomaly_kind,
    load,
    one_process,
    whole,
    write_json,
)
from refsim.engine import DEFAULT_MAX_STEPS
from refsim.model import AnomalyKind, Runtime, Scenario
from refsim.render.commands import replay_command
from refsim.render.json import run_json
from refsim.render.words import plural
from refsim.search import DEFAULT_MAX_EXAMPLES, SearchReport, search_report

__all__ = ["COMMAND"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    p.add_argument(
        "--want", type=anomaly_kind, metavar="KIND",
        help=f"search for this anomaly kind ({', '.join(k.value for k in AnomalyKind)}); "
        "default: any anomaly",
    )  # fmt: skip
    add_runtime(p)
    add_process(p)
    p.add_argument(
        "--max-examples", type=whole(), default=DEFAULT_MAX_EXAMPLES, metavar="N",
        help=f"try at most N schedules before giving up (default {DEFAULT_MAX_EXAMPLES:,})",
    )  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help="seed of the search: the same seed finds the same run (default 0)",
    )  # fmt: skip
    p.add_argument(
        "--json", action="store_true", help="print one JSON document (shape: docs/cli.md)"
    )
    p.add_argument(
        "--max-steps", type=whole(), default=DEFAULT_MAX_STEPS, metavar="N",
        help=f"micro-step budget of each run (default {DEFAULT_MAX_STEPS:,})",
    )  # fmt: skip
    add_budget(p)
    add_limits(p)


def _what(report: SearchReport) -> str:
    return "an anomaly" if report.want is None else report.want.value


def _undecided(report: SearchReport) -> bool:
    """True when nothing was found and a budget stopped the search (time, memory) or some
    run before it ended (steps): what lay past it is unknown, so the search decides nothing."""
    return report.run is None and (report.stopped is not None or report.cut > 0)


def _budget_words(report: SearchReport, max_steps: int) -> str:
    """Why a search that a budget cut short decides nothing (:func:`_undecided`)."""
    if report.stopped is not None:
        return (
            f"{report.stopped} ran out after {plural(report.examples, 'example')}, and a "
            f"schedule not tried may reach an anomaly, so the claims for {report.runtime} are "
            f"neither shown nor refuted (raise {report.stopped.option})."
        )
    if report.cut == report.examples:
        runs = "every run was cut short"
    else:
        runs = f"{report.cut:,} of the {report.examples:,} runs were cut short"
    return (
        f"the step budget decided nothing: {runs} by --max-steps {max_steps:,}, and an "
        f"anomaly may lie past it, so the claims for {report.runtime} are neither shown nor "
        f"refuted (raise --max-steps)."
    )


def _summary(report: SearchReport) -> str:
    examples = "example" if report.examples == 1 else "examples"
    preemptions = "preemption" if report.run and report.run.preemptions == 1 else "preemptions"
    if report.run is not None:
        fewest = " (the fewest possible)" if report.minimal else ""
        if report.stopped is not None:
            fewest = (
                f" before {report.stopped} ran out: maybe not the fewest (raise "
                f"{report.stopped.option} to shrink it further)"
            )
        return (
            f"search (seed {report.seed}): reached {_what(report)} in {report.examples:,} "
            f"{examples}, then shrank it in {report.shrink_runs:,} runs to "
            f"{report.run.preemptions} {preemptions}{fewest}."
        )
    nothing = (
        f"search (seed {report.seed}): no schedule reached {_what(report)} in "
        f"{report.examples:,} {examples}"
    )
    if report.stopped is not None:
        return (
            f"{nothing}: {report.stopped} ran out before the {report.max_examples:,} asked "
            f"for (raise {report.stopped.option}, or ask for fewer with --max-examples)."
        )
    if report.cut:
        return (
            f"{nothing}, and {report.cut:,} of them were stopped by --max-steps before the "
            f"run ended: raise --max-steps."
        )
    return f"{nothing} (budget {report.max_examples:,}; raise it with --max-examples)."


def _json(scenario: Scenario, report: SearchReport, file: str, max_steps: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        "scenario": report.scenario,
        "runtime": report.runtime.value,
        "want": None if report.want is None else report.want.value,
        "seed": report.seed,
        "max_examples": report.max_examples,
        "found": report.found,
        "examples": report.examples,
        "shrink_runs": report.shrink_runs,
        "cut": report.cut,
        "stopped": None if report.stopped is None else report.stopped.value,
        "schedule": None,
        "steps": None,
        "preemptions": None,
        "minimal": report.minimal,
        "anomalies": [],
        "final": None,
        "agrees": None
        if _undecided(report)
        else nothing_to_find(scenario, report.runtime, report.want),
        "budget_exceeded": (
            {"max_steps": max_steps} if report.run is None and report.cut > 0 else None
        ),
        "replay": None,
    }
    if report.run is not None:
        run = run_json(scenario, report.run, seed=None)
        document.update(
            schedule=run["schedule"], steps=run["steps"], preemptions=run["preemptions"],
            anomalies=run["anomalies"], final=run["final"], agrees=run["agrees"],
            replay=replay_command(file, report.run, scenario),
        )  # fmt: skip
    return document


def _print(out: TextIO, scenario: Scenario, report: SearchReport, args: argparse.Namespace) -> None:
    """The search for people: what it did, then the run it found or why it found none
    (rich is imported here: ``--json`` needs none of it)."""
    from rich.text import Text

    from refsim.cli.console import console
    from refsim.render.verdict import verdict_text
    from refsim.report import print_run

    screen = console(out)
    screen.print(Text(_summary(report)))
    screen.print()
    if report.run is not None:
        source = f"search, seed {report.seed}"
        print_run(screen, scenario, report.run, file=args.file, source=source)
    elif _undecided(report):
        screen.print(
            Text("stopped: ", style="bold yellow") + Text(_budget_words(report, args.max_steps))
        )
    else:
        verdict = judge_nothing_found(scenario, report.runtime)
        screen.print(verdict_text(verdict, want=report.want))


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    scenario, file = load(args.file, args)
    scenario = one_process(scenario, args, file)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    report = search_report(
        scenario, want=args.want, runtime=runtime, max_examples=args.max_examples,
        seed=args.seed, max_steps=args.max_steps, meter=args.meter,
    )  # fmt: skip
    if args.json:
        write_json(out, _json(scenario, report, args.file, args.max_steps))
    else:
        _print(out, scenario, report, args)
    if report.run is not None:
        return EXIT_OK if agrees(scenario, report.run) else EXIT_DISAGREES
    if _undecided(report):
        return EXIT_BUDGET
    return EXIT_OK if nothing_to_find(scenario, report.runtime, report.want) else EXIT_BUDGET


COMMAND = Command(_arguments, _execute)

"""``refsim explore FILE`` (the outcome table) and ``refsim check FILE...`` (the claims).

Both drive the explorer through :mod:`refsim.claims` (the one reading of ``expect:``);
this module parses options, shows progress, calls the renderers and turns the verdicts
into exit statuses. The terminal's renderers (rich) are imported only when the output is
for people: ``--json`` writes its document without them.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from refsim.claims import check, judge_exploration
from refsim.cli.budget import add_budget
from refsim.cli.common import (
    EXIT_BUDGET,
    EXIT_DISAGREES,
    EXIT_OK,
    EXIT_USAGE,
    Command,
    UsageError,
    add_limits,
    add_process,
    add_runtime,
    load,
    one_process,
    print_scenario_error,
    shown,
    whole,
    write_json,
)
from refsim.errors import ScenarioError
from refsim.explore import DEFAULT_MAX_STATES, ExplorationStopped, explore
from refsim.model import Runtime
from refsim.render.budget import exploration_helps, exploration_stopped_lines
from refsim.render.json import checked_json, exploration_json, stopped_json

__all__ = ["CHECK", "EXPLORE"]


def _add_budget(p: argparse.ArgumentParser, *, beyond: str) -> None:
    p.add_argument(
        "--max-states", type=whole(), default=DEFAULT_MAX_STATES, metavar="N",
        help=f"the most distinct states the exact count may visit (default "
        f"{DEFAULT_MAX_STATES:,}); beyond it: {beyond}",
    )  # fmt: skip


def _explore_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    add_runtime(p)
    add_process(p)
    p.add_argument(
        "--preemption-bound", type=whole(least=0), default=None, metavar="K",
        help="count only the interleavings with at most K preemptions",
    )  # fmt: skip
    _add_budget(p, beyond="exit status 3, or a sample with --sample")
    p.add_argument(
        "--sample", type=whole(), default=None, metavar="N",
        help="if a budget (states, time, memory) runs out, show a table sampled from N "
        "seeded runs of the fair random scheduler instead (clearly marked: not exact; the "
        "exact count gets three quarters of the time, the sample the rest)",
    )  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help="with --sample: run i uses seed N+i (default 0), as `refsim run --seed` does",
    )  # fmt: skip
    p.add_argument(
        "--json", action="store_true", help="print one JSON document (shape: docs/cli.md)"
    )
    add_budget(p)
    add_limits(p)


def _check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files", metavar="FILE", nargs="+", help="scenario files, or bundled scenarios' names"
    )
    _add_budget(p, beyond="the claim's verdict is unknown, exit status 3")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    add_budget(p)
    add_limits(p)


def _execute_explore(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    scenario, file = load(args.file, args)
    scenario = one_process(scenario, args, file)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    if args.sample is not None and args.preemption_bound is not None:
        raise UsageError(
            "--sample cannot be combined with --preemption-bound: the fair random "
            "scheduler's runs preempt freely, so a sample cannot respect the bound"
        )
    try:
        exploration = explore(
            scenario, runtime=runtime, preemption_bound=args.preemption_bound,
            max_states=args.max_states, sample=args.sample, seed=args.seed, meter=args.meter,
        )  # fmt: skip
    except ExplorationStopped as error:
        helps = exploration_helps(args.sample is not None)
        err.write("\n".join(exploration_stopped_lines(error, shown(args.file), helps=helps)))
        err.write("\n")
        if args.json:
            # Still one document on stdout, saying that there is no table, and why.
            write_json(out, {
                "scenario": scenario.name, "runtime": runtime.value, "exhaustive": False,
                "interleavings": None, "outcomes": [], "agrees": None,
                "budget_exceeded": stopped_json(error),
            })  # fmt: skip
        return EXIT_BUDGET
    cut = exploration.requested is not None and exploration.interleavings < exploration.requested
    if args.json:
        document = exploration_json(exploration)
        document["agrees"] = judge_exploration(scenario, exploration).holds
        write_json(out, document)
        status = EXIT_OK if document["agrees"] else EXIT_DISAGREES
    else:
        from refsim.cli.console import console
        from refsim.render.explore import print_exploration

        verdict = print_exploration(console(out), scenario, exploration, file=args.file)
        status = EXIT_OK if verdict.holds else EXIT_DISAGREES
    if cut:
        assert exploration.requested is not None
        err.write(
            f"error: {shown(args.file)}: the budget ran out after {exploration.interleavings:,} "
            f"of the {exploration.requested:,} sampled runs asked for: the table above is "
            f"theirs. To go further: raise --max-seconds (or --max-memory), or ask for fewer "
            f"runs.\n"
        )
        return EXIT_BUDGET
    return status


def _execute_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.json:
        from refsim.cli.console import console
        from refsim.render.explore import print_check_summary, print_checked

        screen = console(out)
    bad = failed = unknown = total = 0
    files: list[dict[str, Any]] = []
    for index, name in enumerate(args.files):
        try:
            scenario, _ = load(name, args)
        except ScenarioError as error:
            bad += 1
            print_scenario_error(error, err)
            files.append({"file": name, "scenario": None, "error": str(error), "claims": []})
            continue
        share = args.meter.fair(len(args.files) - index)
        checked = check(scenario, max_states=args.max_states, meter=share)
        total += len(checked)
        failed += sum(1 for c in checked if c.verdict is not None and not c.verdict.holds)
        unknown += sum(1 for c in checked if c.verdict is None)
        if args.json:
            claims = checked_json(name, scenario, checked)
            files.append({"file": name, "scenario": scenario.name, "error": None, "claims": claims})
        else:
            if index:
                screen.print()
            print_checked(screen, name, scenario, checked, args.max_states)
    status = (
        EXIT_USAGE if bad else EXIT_DISAGREES if failed else EXIT_BUDGET if unknown else EXIT_OK
    )
    if args.json:
        write_json(out, {"ok": status == EXIT_OK, "files": files})
    else:
        print_check_summary(screen, total, len(args.files) - bad, failed, unknown, bad)
    return status


EXPLORE = Command(_explore_arguments, _execute_explore)
CHECK = Command(_check_arguments, _execute_check)

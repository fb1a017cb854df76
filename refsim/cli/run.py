"""``refsim run FILE``: one controlled run, printed as a trace table or as JSON."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

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
    parse_schedule,
)
from refsim.engine import DEFAULT_MAX_STEPS, run
from refsim.errors import ScheduleError
from refsim.model import Runtime, Schedule
from refsim.report import agrees, print_run, run_json

__all__ = ["COMMAND"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--schedule", metavar="S",
        help='replay this schedule, e.g. "T1 T2*3 T1*2" (a short prefix is completed '
        "without preemptions)",
    )  # fmt: skip
    how.add_argument(
        "--seed", type=int, default=None, metavar="N",
        help="seed of the fair random scheduler (default 0)",
    )  # fmt: skip
    add_runtime(p)
    p.add_argument("--json", action="store_true", help="print one JSON document (CLI.md)")
    p.add_argument(
        "--no-trace", action="store_true",
        help="do not keep or print the trace (for big runs): summary only",
    )  # fmt: skip
    p.add_argument(
        "--max-steps", type=int, default=DEFAULT_MAX_STEPS, metavar="N",
        help=f"stop after N micro-steps, exit status 3 (default {DEFAULT_MAX_STEPS:,})",
    )  # fmt: skip
    add_limits(p)


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    scenario, file = load(args.file, args)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    seed: int | None = None
    schedule: Schedule | None = None
    if args.schedule is not None:
        schedule = parse_schedule(args.schedule)
        source = "--schedule"
    else:
        seed = 0 if args.seed is None else args.seed
        source = f"seed {seed}"
    try:
        result = run(
            scenario, runtime=runtime, schedule=schedule, seed=seed or 0,
            keep_trace=not args.no_trace, max_steps=args.max_steps,
        )  # fmt: skip
    except ScheduleError as error:
        raise UsageError(f"{file}: --schedule: {error}") from None
    if args.json:
        json.dump(run_json(scenario, result, seed=seed), out)
        out.write("\n")
    else:
        print_run(console(out), scenario, result, file=args.file, source=source)
    if not result.finished:
        return EXIT_BUDGET
    return EXIT_OK if agrees(scenario, result) else EXIT_DISAGREES


COMMAND = Command("run", "run a scenario once and print its trace", _arguments, _execute)

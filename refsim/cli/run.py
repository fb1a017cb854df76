"""``refsim run FILE``: one run, controlled (a chooser picks each micro-step) or timed
(``--timed``: simulated time decides), printed as a trace table or as JSON."""

from __future__ import annotations

import argparse
from typing import TextIO

from refsim.cli.common import (
    EXIT_BUDGET,
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    UsageError,
    add_limits,
    add_process,
    add_runtime,
    add_schedule,
    add_timing,
    console,
    load,
    one_process,
    parse_schedule,
    timed_only,
    whole,
    write_json,
)
from refsim.cli.plot import check_output, write_chrome_trace
from refsim.costs import settings
from refsim.engine import DEFAULT_MAX_STEPS, run
from refsim.errors import ScheduleError
from refsim.model import Runtime, Scenario, Schedule
from refsim.report import TRACE_ROWS, agrees, print_run, print_timed_run, run_json, timed_json
from refsim.timed import run_timed

__all__ = ["COMMAND"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    add_schedule(p, what="replay")
    add_runtime(p)
    add_process(p)
    p.add_argument(
        "--json", action="store_true", help="print one JSON document (shape: docs/cli.md)"
    )
    p.add_argument(
        "--no-trace", action="store_true",
        help="do not keep or print the trace (for big runs): summary only",
    )  # fmt: skip
    p.add_argument(
        "--max-steps", type=whole(), default=None, metavar="N",
        help=f"stop a controlled run after N micro-steps, exit status 3 (default "
        f"{DEFAULT_MAX_STEPS:,})",
    )  # fmt: skip
    p.add_argument(
        "--timed", action="store_true",
        help="run in simulated time (costs, cores, the GIL's switch interval); --seed "
        "seeds the jitter",
    )  # fmt: skip
    add_timing(p)
    p.add_argument(
        "--trace", action="store_true",
        help=f"with --timed: print the trace table even past {TRACE_ROWS} rows",
    )  # fmt: skip
    p.add_argument(
        "--trace-out", metavar="FILE",
        help="also write the run as Chrome Trace Event JSON (ui.perfetto.dev, chrome://tracing)",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="let --trace-out overwrite FILE")
    add_limits(p)


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    timed_only(args, "cores", "switch_interval", "trace")
    scenario, file = load(args.file, args)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    if args.trace_out is not None:
        if args.timed or args.no_trace:
            flag = "--timed" if args.timed else "--no-trace"
            raise UsageError(f"--trace-out exports the trace of a controlled run: drop {flag}")
        check_output(args.trace_out, force=args.force, option="--trace-out")
    scenario = one_process(scenario, args, file, timed=True)
    if args.timed:
        return _execute_timed(args, scenario, runtime, out)
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
            keep_trace=not args.no_trace, max_steps=args.max_steps or DEFAULT_MAX_STEPS,
        )  # fmt: skip
    except ScheduleError as error:
        raise UsageError(f"{file}: --schedule: {error}") from None
    if args.json:
        write_json(out, run_json(scenario, result, seed=seed))
    else:
        print_run(console(out), scenario, result, file=args.file, source=source)
    if args.trace_out is not None:
        write_chrome_trace(args.trace_out, result, scenario, force=args.force,
                           option="--trace-out")  # fmt: skip
        err.write(f"wrote {args.trace_out}: open it in ui.perfetto.dev or chrome://tracing\n")
    if not result.finished:
        return EXIT_BUDGET
    return EXIT_OK if agrees(scenario, result) else EXIT_DISAGREES


def _execute_timed(
    args: argparse.Namespace, scenario: Scenario, runtime: Runtime, out: TextIO
) -> int:
    if args.schedule is not None:
        raise UsageError("--schedule replays a controlled run; a timed run's schedule comes "
                         "from time: drop --timed to replay it")  # fmt: skip
    if args.max_steps is not None:
        raise UsageError(
            "--max-steps bounds a controlled run; a timed run has no step budget (a compute "
            "stretch of any length is one event): drop one of them"
        )
    seed = 0 if args.seed is None else args.seed
    result = run_timed(
        scenario, runtime=runtime, seed=seed, keep_trace=not args.no_trace, cores=args.cores,
        switch_interval=args.switch_interval,
    )  # fmt: skip
    if args.json:
        write_json(out, timed_json(scenario, result, seed=seed))
    else:
        interval = args.switch_interval or settings(scenario.timing).switch_interval
        print_timed_run(
            console(out), scenario, result, file=args.file, seed=seed,
            switch_interval=interval, trace=True if args.trace else None,
        )  # fmt: skip
    return EXIT_OK if agrees(scenario, result) else EXIT_DISAGREES


COMMAND = Command("run", "run a scenario once and print its trace", _arguments, _execute)

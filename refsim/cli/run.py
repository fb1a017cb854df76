"""``refsim run FILE``: one run, controlled (a chooser picks each micro-step) or timed
(``--timed``: simulated time decides), printed as a trace table or as JSON; ``--quiz``
hides its values for a class to predict; ``--quantum 1..10`` sweeps the round-robin
time slice, one line per quantum.

The terminal's renderers (:mod:`refsim.report`, rich) are imported only when the output
is for people: ``--json`` writes its document without them.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from refsim.claims import agrees
from refsim.cli.budget import add_budget
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
    load,
    one_process,
    parse_schedule,
    shown,
    timed_only,
    whole,
    write_json,
)
from refsim.cli.output import check_output, write_chrome_trace
from refsim.costs import settings
from refsim.engine import DEFAULT_MAX_STEPS, run, run_length
from refsim.errors import ScheduleError
from refsim.model import Runtime, Scenario, Schedule
from refsim.render.budget import stopped_option, timed_stopped_lines
from refsim.render.json import RunJsonStream, sweep_json, timed_json
from refsim.render.limits import RUN_ROWS, TRACE_ROWS
from refsim.scheduling import QuantumChooser
from refsim.timed import TimedRunStopped, run_timed
from refsim.trace import RunResult

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
        "--quantum", type=_quantum, default=None, metavar="N",
        help="round-robin in the order threads are declared, N micro-steps a turn, as a "
        "timer interrupt preempts a thread (with --seed: each turn 1..N at random); "
        "A..B runs once per quantum from A to B and prints one line each",
    )  # fmt: skip
    p.add_argument(
        "--quiz", action="store_true",
        help="predict-then-reveal: every register, refcount, true refs and value shown as ?, "
        "the anomalies withheld (the same command without --quiz is the answer key)",
    )  # fmt: skip
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
        help=f"print the whole trace table, however long (else the first {RUN_ROWS:,} "
        f"micro-steps of a run, or up to {TRACE_ROWS} rows of a timed run's)",
    )  # fmt: skip
    p.add_argument(
        "--trace-out", metavar="FILE",
        help="also write the run as Chrome Trace Event JSON (ui.perfetto.dev, chrome://tracing)",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="let --trace-out overwrite FILE")
    add_budget(p)
    add_limits(p)


MAX_QUANTUM = 1_000_000
"""The largest quantum (and the widest sweep) ``--quantum`` accepts."""


def _quantum(text: str) -> tuple[int, int]:
    """``--quantum``'s value: ``N``, or ``A..B`` for a sweep from A to B."""
    first, dots, last = text.partition("..")
    number = whole(most=MAX_QUANTUM)
    low = number(first)
    high = number(last) if dots else low
    if high < low:
        raise argparse.ArgumentTypeError(f"{text!r}: A..B needs A at most B")
    return low, high


def _refuse(args: argparse.Namespace) -> None:
    """Options that do not go together, with why."""
    if args.quantum is not None:
        if args.schedule is not None:
            raise UsageError("--quantum makes the schedule; --schedule replays one: give one")
        if args.timed:
            raise UsageError(
                "--quantum picks the threads of a controlled run; a timed run's schedule comes "
                "from time (its GIL switch interval is --switch-interval)"
            )
    if args.quiz:
        low, high = args.quantum or (0, 0)
        for given, flag in (
            (args.json, "--json"),
            (args.timed, "--timed"),
            (args.no_trace, "--no-trace"),
            (high > low, "a --quantum sweep"),
        ):
            if given:
                raise UsageError(f"--quiz hides one run's trace for a class: drop {flag}")
    if args.trace_out is not None and (args.timed or args.no_trace):
        flag = "--timed" if args.timed else "--no-trace"
        raise UsageError(f"--trace-out exports the trace of a controlled run: drop {flag}")
    if (
        args.trace_out is not None
        and args.quantum is not None
        and args.quantum[0] < args.quantum[1]
    ):
        raise UsageError("--trace-out exports one run: give one --quantum, not a sweep")


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    timed_only(args, "cores", "switch_interval")
    _refuse(args)
    scenario, file = load(args.file, args)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    if args.trace_out is not None:
        check_output(args.trace_out, force=args.force, option="--trace-out")
    scenario = one_process(scenario, args, file, timed=True)
    if args.timed:
        return _execute_timed(args, scenario, runtime, out, err)
    if args.quantum is not None and args.quantum[0] < args.quantum[1]:
        return _sweep(args, scenario, runtime, out)
    seed: int | None = None
    schedule: Schedule | None = None
    chooser: QuantumChooser | None = None
    if args.schedule is not None:
        schedule = parse_schedule(args.schedule)
        source = "--schedule"
    elif args.quantum is not None:
        chooser = QuantumChooser(args.quantum[0], seed=args.seed)
        source = f"--quantum {args.quantum[0]}" + (
            "" if args.seed is None else f", seed {args.seed}"
        )
    else:
        seed = 0 if args.seed is None else args.seed
        source = f"seed {seed}"
    stream = None
    if args.json:
        if schedule is not None:
            # A schedule may name a thread that cannot run at some step: find out before
            # the document starts, so that stdout never holds half of one.
            _replay(scenario, runtime, schedule, args, file, keep_trace=False)
        stream = RunJsonStream(out, scenario.name, runtime, trace=not args.no_trace)
    # The table shows the run's first RUN_ROWS micro-steps (all with --trace); a Chrome
    # trace needs every one; --json writes each as it happens and keeps none (unless the
    # Chrome trace keeps them anyway).
    limit = None if args.trace or args.trace_out is not None else RUN_ROWS
    streaming = stream is not None and not args.no_trace and args.trace_out is None
    result = _replay(
        scenario, runtime, schedule, args, file, keep_trace=not args.no_trace, seed=seed or 0,
        chooser=chooser, trace_limit=limit,
        on_event=stream.event if stream is not None and streaming else None,
    )  # fmt: skip
    if stream is not None:
        if not streaming:
            for event in result.trace or ():
                stream.event(event)
        more: dict[str, object] = {"seed": seed}
        if chooser is not None:
            more.update(quantum=chooser.quantum, seed=args.seed)
        stream.finish(scenario, result, **more)
    else:
        from refsim.cli.console import console
        from refsim.report import print_run

        print_run(console(out), scenario, result, file=args.file, source=source, quiz=args.quiz)
    if args.trace_out is not None:
        write_chrome_trace(args.trace_out, result, scenario, force=args.force,
                           option="--trace-out")  # fmt: skip
        written = shown(args.trace_out)
        err.write(f"wrote {written}: open it in ui.perfetto.dev or chrome://tracing\n")
    if not result.finished:
        if args.json:  # the document says so too; the terminal says it here
            err.write(f"error: {shown(args.file)}: the run stopped: {_stopped_words(result)}\n")
        return EXIT_BUDGET
    return EXIT_OK if agrees(scenario, result) else EXIT_DISAGREES


def _replay(
    scenario: Scenario,
    runtime: Runtime,
    schedule: Schedule | None,
    args: argparse.Namespace,
    file: str,
    **options: Any,
) -> RunResult:
    """:func:`refsim.engine.run` with the options' budgets; a schedule that cannot be
    replayed is a UsageError."""
    try:
        return run(
            scenario, runtime=runtime, schedule=schedule, meter=args.meter,
            max_steps=args.max_steps or DEFAULT_MAX_STEPS, **options,
        )  # fmt: skip
    except ScheduleError as error:
        raise UsageError(f"{file}: --schedule: {error}") from None


def _stopped_words(result: RunResult) -> str:
    assert result.stopped is not None
    return (
        f"the {result.stopped.removesuffix('s')} budget ({stopped_option(result)}) ran out "
        f"after {result.steps:,} micro-steps"
    )


def _sweep(args: argparse.Namespace, scenario: Scenario, runtime: Runtime, out: TextIO) -> int:
    """``--quantum A..B``: one run per quantum, one line each."""
    from refsim.sweep import sweep

    low, high = args.quantum
    runs = sweep(
        scenario, range(low, high + 1), runtime=runtime, seed=args.seed,
        max_steps=args.max_steps or DEFAULT_MAX_STEPS, meter=args.meter,
    )  # fmt: skip
    if args.json:
        write_json(out, sweep_json(scenario, runs, runtime=runtime, seed=args.seed))
    else:
        from refsim.cli.console import console
        from refsim.render.quantum import print_sweep

        print_sweep(console(out), scenario, runs, runtime=runtime, seed=args.seed, file=args.file)
    if not all(result.finished for _, result in runs):
        return EXIT_BUDGET
    return EXIT_OK if all(agrees(scenario, result) for _, result in runs) else EXIT_DISAGREES


def _execute_timed(
    args: argparse.Namespace, scenario: Scenario, runtime: Runtime, out: TextIO, err: TextIO
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
    try:
        result = run_timed(
            scenario, runtime=runtime, seed=seed, keep_trace=not args.no_trace, cores=args.cores,
            switch_interval=args.switch_interval, meter=args.meter,
        )  # fmt: skip
    except TimedRunStopped as error:
        total = run_length(scenario, runtime)
        err.write("\n".join(timed_stopped_lines(error, shown(args.file), total=total)) + "\n")
        return EXIT_BUDGET
    if args.json:
        write_json(out, timed_json(scenario, result, seed=seed))
    else:
        from refsim.cli.console import console
        from refsim.report import print_timed_run

        interval = args.switch_interval or settings(scenario.timing).switch_interval
        print_timed_run(
            console(out), scenario, result, file=args.file, seed=seed,
            switch_interval=interval, trace=True if args.trace else None,
        )  # fmt: skip
    return EXIT_OK if agrees(scenario, result) else EXIT_DISAGREES


COMMAND = Command(_arguments, _execute)

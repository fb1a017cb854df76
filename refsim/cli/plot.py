"""``refsim plot FILE -o OUT``: the figure of one run (PNG, SVG or PDF by OUT's suffix), its
Chrome trace (``.json``), with ``--outcomes`` the exploration's outcome shares, or with
``--timed`` the thread states of a run in simulated time.

Output files are written by :mod:`refsim.cli.output`: never clobbered by accident, never
half written, never left behind.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from refsim.budget import Meter
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
)
from refsim.cli.output import check_output, write_chrome_trace, write_output
from refsim.engine import run, run_length
from refsim.errors import ScheduleError
from refsim.model import Runtime, Scenario, Schedule, count_text, format_ns
from refsim.plot import FORMATS, INSTALL_HINT, matplotlib_available
from refsim.render.budget import (
    exploration_helps,
    exploration_stopped_lines,
    stopped_option,
    timed_stopped_lines,
)
from refsim.report import plural, short_schedule
from refsim.schema import parse_duration
from refsim.timed import TimedRunStopped

if TYPE_CHECKING:
    from refsim.compare import TimedRun, Way

__all__ = [
    "COMMAND",
    "check_figure_output",
    "compare_figure",
    "runtimes_option",
    "window_option",
    "write_timed_figure",
]

DEFAULT_PLOT_STEPS = 5_000
"""A figure of more micro-steps than this shows nothing a reader can follow."""


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT",
        help=f"the file to write: a figure ({', '.join(FORMATS)}) or, for .json, the run's "
        "Chrome trace (Perfetto, chrome://tracing)",
    )  # fmt: skip
    add_schedule(p, what="draw")
    p.add_argument(
        "--outcomes", action="store_true",
        help="draw the exploration's outcome shares instead of one run",
    )  # fmt: skip
    p.add_argument(
        "--timed", action="store_true",
        help="draw a run in simulated time: each thread's state over time and who holds "
        "the GIL; --seed seeds the jitter",
    )  # fmt: skip
    add_timing(p)
    p.add_argument(
        "--window", type=window_option, default=None, metavar="A..B",
        help="with --timed: draw the stretch of the run from A to B, e.g. 0ms..30ms (A.. to "
        "the end, ..B from the start)",
    )  # fmt: skip
    p.add_argument(
        "--runtimes", type=runtimes_option, default=None, metavar="R,R...",
        help="with --timed: a run under each runtime, one above the other on one time axis, "
        "e.g. gil,atomic; gil:processes puts each thread in a process of its own, "
        "gil:threads all in one",
    )  # fmt: skip
    add_runtime(p)
    add_process(p)
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.add_argument(
        "--dpi", type=_dpi, default=100, metavar="N",
        help="resolution of a PNG, 10 to 1,200 (default 100; 200 for print)",
    )  # fmt: skip
    p.add_argument(
        "--max-steps", type=whole(), default=DEFAULT_PLOT_STEPS, metavar="N",
        help=f"draw at most N micro-steps; a longer run is cut there, exit status 3 "
        f"(default {DEFAULT_PLOT_STEPS:,})",
    )  # fmt: skip
    p.add_argument(
        "--preemption-bound", type=whole(least=0), default=None, metavar="K",
        help="with --outcomes: count only interleavings with at most K preemptions",
    )  # fmt: skip
    p.add_argument(
        "--max-states", type=whole(), default=None, metavar="N",
        help="with --outcomes: the exploration's state budget (exit status 3 beyond it)",
    )  # fmt: skip
    p.add_argument(
        "--sample", type=whole(), default=None, metavar="N",
        help="with --outcomes: estimate from N seeded random runs when exact counting "
        "would exceed the budget",
    )  # fmt: skip
    add_budget(p)
    add_limits(p)


def _duration_in(text: str, what: str) -> int:
    """A duration for ``--window``: a unit is needed (``30`` could mean anything) but for 0."""
    text = text.strip()
    if text.isdigit() and int(text) != 0:
        raise argparse.ArgumentTypeError(
            f"{what} {text!r} needs a unit: {text}ms, {text}us, {text}s or {text}ns"
        )
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{what}: {error}") from None


def window_option(text: str) -> tuple[int, int | None]:
    """``--window A..B``: from A to B (ns); ``A..`` runs to the end (``None``), ``..B``
    starts at 0."""
    first, dots, last = text.partition("..")
    if not dots or ".." in last:
        raise argparse.ArgumentTypeError(
            f"expected START..END, e.g. 0ms..30ms (START.. to the end, ..END from 0), not {text!r}"
        )
    start = _duration_in(first, "the start") if first.strip() else 0
    end = _duration_in(last, "the end") if last.strip() else None
    if end is not None and end <= start:
        raise argparse.ArgumentTypeError(
            f"the window {text} ends before it starts: give START..END with END later"
        )
    return start, end


_PLACES = ("threads", "processes")


def runtimes_option(text: str) -> tuple[Way, ...]:
    """``--runtimes gil,atomic,gil:processes``: two or more distinct runs."""
    from refsim.compare import Way

    names = [r.value for r in Runtime]
    found: list[Way] = []
    for word in text.split(","):
        runtime, colon, place = word.strip().partition(":")
        if runtime not in names:
            close = difflib.get_close_matches(runtime, names, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise argparse.ArgumentTypeError(
                f"{runtime!r} is not a runtime{hint}: give some of {', '.join(names)}, "
                "separated by commas"
            )
        if colon and place not in _PLACES:
            close = difflib.get_close_matches(place, _PLACES, n=1)
            hint = f" (did you mean {runtime}:{close[0]}?)" if close else ""
            raise argparse.ArgumentTypeError(
                f"{word.strip()!r}: after the colon comes threads (every thread in one "
                f"process) or processes (a process per thread), not {place!r}{hint}"
            )
        way = Way(Runtime(runtime), place if colon else "file")
        if way in found:
            raise argparse.ArgumentTypeError(f"{way} is named twice in {text!r}")
        found.append(way)
    if len(found) < 2:
        raise argparse.ArgumentTypeError(
            f"--runtimes compares two or more runs, e.g. gil,atomic, not {text!r} "
            "(for one, use --runtime)"
        )
    return tuple(found)


def _dpi(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not 10 <= value <= 1200:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be from 10 to 1,200 dots per inch, not {text}")
    return value


def _require_matplotlib() -> None:
    if not matplotlib_available():
        raise UsageError(
            f"refsim plot draws figures with matplotlib, which is not installed: "
            f"{INSTALL_HINT} (a .json output, the Chrome trace, needs nothing more)"
        )


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    check_output(args.output, force=args.force, option="-o")
    suffix = Path(args.output).suffix.lower()
    if suffix not in (*FORMATS, ".json"):
        raise UsageError(
            f"-o {args.output}: the suffix says what to write: {', '.join(FORMATS)} for a "
            "figure, .json for the run's Chrome trace"
        )
    if args.outcomes and suffix == ".json":
        raise UsageError("--outcomes draws a figure: use a .png, .svg or .pdf output "
                         "(`refsim explore --json` prints the outcome table as JSON)")  # fmt: skip
    if args.outcomes and (args.schedule is not None):
        raise UsageError("--outcomes counts every interleaving: it takes no --schedule")
    for option in ("preemption_bound", "max_states", "sample"):
        if getattr(args, option) is not None and not args.outcomes:
            raise UsageError(f"--{option.replace('_', '-')} goes with --outcomes")
    _check_timed(args, suffix)
    if suffix != ".json":
        _require_matplotlib()
    scenario, file = load(args.file, args)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    scenario = one_process(scenario, args, file, timed=True)
    if args.timed:
        return _plot_timed(args, scenario, runtime, out, err)
    if args.outcomes:
        return _plot_outcomes(args, scenario, runtime, out, err)
    if args.max_steps < 1:
        raise UsageError(f"--max-steps must be at least 1, not {args.max_steps}")
    schedule: Schedule | None = None
    if args.schedule is not None:
        schedule = parse_schedule(args.schedule)
    seed = 0 if args.seed is None else args.seed
    try:
        result = run(
            scenario, runtime=runtime, schedule=schedule, seed=seed, max_steps=args.max_steps,
            meter=args.meter,
        )  # fmt: skip
    except ScheduleError as error:
        raise UsageError(f"{file}: --schedule: {error}") from None
    schedule_text = short_schedule(str(result.schedule), 60)
    what = (
        f"{result.scenario} under {result.runtime}, schedule {schedule_text} "
        f"({plural(result.steps, 'step')}, {plural(result.preemptions, 'preemption')}; "
        f"anomalies: {', '.join(k.value for k in result.outcome.anomalies) or 'none'})"
    )
    if suffix == ".json":
        write_chrome_trace(args.output, result, scenario, force=args.force)
        out.write(f"wrote {shown(args.output)}: the Chrome trace of {what}; open it in "
                  "ui.perfetto.dev or chrome://tracing\n")  # fmt: skip
    else:
        from refsim.plot import draw_run, save_figure

        fig = draw_run(result, scenario=scenario, dpi=args.dpi)
        write_output(args.output, lambda tmp: save_figure(fig, tmp), force=args.force)
        out.write(f"wrote {shown(args.output)}: {what}\n")
    if not result.finished:
        err.write(
            f"the run was cut after {result.steps:,} steps ({stopped_option(result)}); the "
            f"figure shows them\n"
        )
        return EXIT_BUDGET
    return EXIT_OK if agrees(scenario, result) else EXIT_DISAGREES


def _check_timed(args: argparse.Namespace, suffix: str) -> None:
    """Refuse the options that do not go with (or without) ``--timed``."""
    timed_only(args, "cores", "switch_interval", "window", "runtimes")
    if not args.timed:
        return
    if args.runtimes is not None and args.runtime is not None:
        raise UsageError("--runtimes gives each run its runtime: it does not go with --runtime")
    if args.runtimes is not None and args.process is not None:
        raise UsageError("--runtimes draws every process of the file (or gil:threads, "
                         "gil:processes): it does not go with --process")  # fmt: skip
    if args.schedule is not None:
        raise UsageError("--schedule replays a controlled run; a timed run's schedule comes "
                         "from time: drop --timed to replay it")  # fmt: skip
    if args.outcomes:
        raise UsageError("--outcomes counts the interleavings of controlled runs: it does "
                         "not go with --timed")  # fmt: skip
    if suffix == ".json":
        raise UsageError("--timed draws a figure: use a .png, .svg or .pdf output")


def _plot_timed(
    args: argparse.Namespace, scenario: Scenario, runtime: Runtime, out: TextIO, err: TextIO
) -> int:
    from refsim.compare import Way, timed_ways

    seed = 0 if args.seed is None else args.seed
    try:
        runs = timed_ways(
            scenario, args.runtimes or (Way(runtime, "file"),), seed=seed, cores=args.cores,
            switch_interval=args.switch_interval, meter=args.meter,
        )  # fmt: skip
    except TimedRunStopped as error:
        total = run_length(scenario, runtime)
        lines = timed_stopped_lines(error, shown(args.file), total=total)
        err.write("\n".join([*lines, "    No figure written."]) + "\n")
        return EXIT_BUDGET
    window = write_timed_figure(
        args.output, runs, scenario, window=args.window, force=args.force, dpi=args.dpi
    )
    if len(runs) == 1:
        metrics = runs[0].result.metrics
        assert metrics is not None  # a timed run always measures
        what = (
            f"{scenario.name} under {runs[0].result.runtime} in simulated time, seed {seed} "
            f"({format_ns(metrics.makespan_ns)}, {metrics.switches:,} GIL switches, "
            f"{plural(metrics.drop_requests, 'drop request')})"
        )
    else:
        what = _makespans(scenario, seed, runs)
    if args.window is not None:
        what += f"; window {format_ns(window[0])} to {format_ns(window[1])}"
    out.write(f"wrote {shown(args.output)}: {what}\n")
    agreed = all(agrees(scenario, r.result) for r in runs)
    return EXIT_OK if agreed else EXIT_DISAGREES


def _makespans(scenario: Scenario, seed: int, runs: Sequence[TimedRun]) -> str:
    """``leak in simulated time, seed 0: gil 1.2ms; atomic 1.1ms``."""
    spans = "; ".join(f"{r.label} {format_ns(r.makespan_ns)}" for r in runs)
    return f"{scenario.name} in simulated time, seed {seed}: {spans}"


def check_figure_output(path: str, *, force: bool, option: str) -> None:
    """Refuse (UsageError), before any work, a figure output that cannot be written: an
    existing file without ``force``, a wrong suffix, or matplotlib missing."""
    check_output(path, force=force, option=option, suffixes=FORMATS)
    _require_matplotlib()


def compare_figure(
    path: str,
    scenario: Scenario,
    *,
    seed: int,
    force: bool,
    option: str = "--plot",
    meter: Meter | None = None,
) -> str:
    """``refsim compare --plot``: the run of each row, timed, one above the other; returns
    the line that says what was written."""
    from refsim.compare import timed_rows

    runs = timed_rows(scenario, seed=seed, meter=meter)
    write_timed_figure(path, runs, scenario, window=None, force=force, dpi=100, option=option)
    return f"wrote {shown(path)}: {_makespans(scenario, seed, runs)}"


def write_timed_figure(
    path: str, runs: Sequence[TimedRun], scenario: Scenario, *,
    window: tuple[int, int | None] | None, force: bool, dpi: float, option: str = "-o",
) -> tuple[int, int]:  # fmt: skip
    """Draw ``runs`` (one run, or several one above the other) and write the figure to
    ``path`` (see :func:`write_output`); return the window shown, in ns. A window that
    starts after every run has ended is refused (UsageError); one that ends after them
    is cut where the longest ends."""
    from refsim.plot import draw_comparison, save_figure

    longest = max(r.makespan_ns for r in runs)
    start, end = window if window is not None else (0, None)
    if start >= longest:
        raise UsageError(
            f"--window {format_ns(start)}..: the run ends at {format_ns(longest)}, before the "
            "window starts"
        )
    span = (start, longest if end is None else min(end, longest))
    fig = draw_comparison(runs, threads=scenario.thread_names,
                          window=span if window is not None else None, dpi=dpi)  # fmt: skip
    write_output(path, lambda tmp: save_figure(fig, tmp), force=force, option=option)
    return span


def _plot_outcomes(
    args: argparse.Namespace, scenario: Scenario, runtime: Runtime, out: TextIO, err: TextIO
) -> int:
    from refsim.explore import DEFAULT_MAX_STATES, ExplorationStopped, explore
    from refsim.plot import draw_outcomes, save_figure

    try:
        exploration = explore(
            scenario, runtime=runtime, preemption_bound=args.preemption_bound,
            max_states=args.max_states or DEFAULT_MAX_STATES, sample=args.sample,
            seed=args.seed or 0, meter=args.meter,
        )  # fmt: skip
    except ExplorationStopped as error:
        helps = exploration_helps(args.sample is not None)
        lines = exploration_stopped_lines(error, shown(args.file), helps=helps)
        err.write("\n".join([*lines, "    No figure written."]) + "\n")
        return EXIT_BUDGET
    except ValueError as error:
        raise UsageError(str(error)) from None
    fig = draw_outcomes(exploration, dpi=args.dpi)
    write_output(args.output, lambda tmp: save_figure(fig, tmp), force=args.force)
    how = "interleavings" if exploration.exhaustive else "sampled runs"
    out.write(
        f"wrote {shown(args.output)}: the outcomes of {exploration.scenario} under "
        f"{exploration.runtime} ({plural(len(exploration.outcomes), 'outcome')} over "
        f"{count_text(exploration.interleavings)} {how})\n"
    )
    return EXIT_OK


COMMAND = Command(_arguments, _execute)

"""``refsim compare FILE``: the same scenario under each runtime, safety and speed side by
side (:func:`refsim.compare.compare` gathers it; :mod:`refsim.render.compare` prints it,
imported only when the output is for people: ``--json`` needs no rich)."""

from __future__ import annotations

import argparse
from typing import TextIO

from refsim.cli.budget import add_budget
from refsim.cli.common import (
    EXIT_BUDGET,
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    UsageError,
    add_limits,
    load,
    shown,
    write_json,
)
from refsim.compare import agrees, compare
from refsim.engine import run_length
from refsim.render.budget import timed_stopped_lines, unknown_line
from refsim.render.json import compare_json
from refsim.timed import TimedRunStopped

__all__ = ["COMMAND"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    p.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help="seed of the timed runs' jitter and of any sampling (default 0)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--plot", metavar="OUT", default=None,
        help="also draw each row's timed run, one above the other on one time axis "
        "(.png, .svg or .pdf)",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="with --plot: overwrite OUT if it exists")
    add_budget(p)
    add_limits(p)


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.plot is not None:
        from refsim.cli.plot import check_figure_output

        check_figure_output(args.plot, force=args.force, option="--plot")
    elif args.force:
        raise UsageError("--force goes with --plot OUT: it lets the figure replace OUT")
    scenario, _ = load(args.file, args)
    rows = compare(scenario, seed=args.seed, meter=args.meter)
    if args.json:
        write_json(out, compare_json(scenario, rows, args.seed))
    else:
        from refsim.cli.console import console
        from refsim.render.compare import print_comparison

        print_comparison(console(out), scenario, rows, args.seed)
    if args.plot is not None:
        from refsim.cli.plot import compare_figure

        try:
            wrote = compare_figure(
                args.plot, scenario, seed=args.seed, force=args.force, meter=args.meter
            )
        except TimedRunStopped as error:
            total = run_length(scenario)
            lines = timed_stopped_lines(error, shown(args.file), total=total)
            err.write("\n".join([*lines, "    No figure written."]) + "\n")
            return EXIT_BUDGET
        (err if args.json else out).write(wrote + "\n")
    verdicts = [agrees(scenario, row) for row in rows]
    if False in verdicts:
        return EXIT_DISAGREES
    unknown = [row for row in rows if not row.known]
    if unknown:
        if args.json:  # the text output says it under its table
            err.write(f"{unknown_line(unknown)}\n")
        return EXIT_BUDGET
    return EXIT_OK


COMMAND = Command(_arguments, _execute)

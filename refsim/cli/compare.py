"""``refsim compare FILE``: the same scenario under each runtime, safety and speed side by
side (:func:`refsim.compare.compare` gathers it; :mod:`refsim.render.compare` prints it)."""

from __future__ import annotations

import argparse
from typing import TextIO

from refsim.cli.common import (
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    UsageError,
    add_limits,
    console,
    load,
    write_json,
)
from refsim.compare import agrees, compare
from refsim.render.compare import print_comparison
from refsim.render.json import compare_json

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
    add_limits(p)


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from refsim.cli.plot import check_figure_output, compare_figure

    if args.plot is not None:
        check_figure_output(args.plot, force=args.force, option="--plot")
    elif args.force:
        raise UsageError("--force goes with --plot OUT: it lets the figure replace OUT")
    scenario, _ = load(args.file, args)
    rows = compare(scenario, seed=args.seed)
    if args.json:
        write_json(out, compare_json(scenario, rows, args.seed))
    else:
        print_comparison(console(out), scenario, rows, args.seed)
    if args.plot is not None:
        wrote = compare_figure(args.plot, scenario, seed=args.seed, force=args.force)
        (err if args.json else out).write(wrote + "\n")
    return EXIT_OK if all(agrees(scenario, row) for row in rows) else EXIT_DISAGREES


COMMAND = Command(
    "compare",
    "the same scenario under each runtime: safety and speed side by side",
    _arguments,
    _execute,
)

"""``refsim compare FILE``: the same scenario under each runtime, safety and speed side by
side (:func:`refsim.compare.compare` gathers it; :mod:`refsim.render.compare` prints it)."""

from __future__ import annotations

import argparse
from typing import TextIO

from refsim.cli.common import (
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
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
    add_limits(p)


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    scenario, _ = load(args.file, args)
    rows = compare(scenario, seed=args.seed)
    if args.json:
        write_json(out, compare_json(scenario, rows, args.seed))
    else:
        print_comparison(console(out), scenario, rows, args.seed)
    return EXIT_OK if all(agrees(scenario, row) for row in rows) else EXIT_DISAGREES


COMMAND = Command(
    "compare",
    "the same scenario under each runtime: safety and speed side by side",
    _arguments,
    _execute,
)

"""``refsim FILE`` / ``refsim story FILE``: the whole lesson of one scenario.

:func:`refsim.story.gather` builds the story; :mod:`refsim.render.story` tells it on a
terminal and :mod:`refsim.render.json` as JSON. This module parses the options, writes
the figure ``--plot`` asks for, and turns the claims' verdicts into the exit status.
The terminal's renderers (rich) are imported only when the output is for people.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from refsim.budget import Meter
from refsim.cli.budget import add_budget
from refsim.cli.common import (
    EXIT_BUDGET,
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    UsageError,
    add_limits,
    add_runtime,
    load,
    shown,
    write_json,
)
from refsim.cli.output import check_output, write_output
from refsim.model import Runtime
from refsim.plot import FORMATS
from refsim.render.json import story_json
from refsim.story import Story, figure_run, gather

__all__ = ["COMMAND"]


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
    add_budget(p)
    add_limits(p)


def _write_plot(path: str, story: Story, force: bool, err: TextIO, meter: Meter) -> None:
    """The failing interleaving's figure; for a timed scenario where nothing goes wrong,
    the figure of its timed run (where the time goes) instead."""
    from refsim.plot import INSTALL_HINT, draw_run, draw_timed, matplotlib_available, save_figure

    if not matplotlib_available():
        raise UsageError(f"--plot needs matplotlib: {INSTALL_HINT}")
    found = figure_run(story, meter=meter)
    if found is None:
        raise UsageError(f"--plot {path}: no interleaving goes wrong, so there is nothing to plot")
    result, scenario = found
    if result.metrics is None:
        fig = draw_run(result, scenario=scenario)
        what = f"the failing interleaving {result.schedule}"
    else:
        processes = [name for name, _ in scenario.process_groups()]
        fig = draw_timed(result, threads=scenario.thread_names, processes=processes)
        what = f"{scenario.name} under {story.runtime} in simulated time, seed 0"
    write_output(path, lambda tmp: save_figure(fig, tmp), force=force, option="--plot")
    err.write(f"wrote {shown(path)}: {what}\n")


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.plot is not None:
        check_output(args.plot, force=args.force, option="--plot", suffixes=FORMATS)
    scenario, _ = load(args.file, args)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    story = gather(scenario, args.file, runtime, meter=args.meter)
    if args.json:
        write_json(out, story_json(story, brief=args.brief))
    else:
        from refsim.cli.console import console
        from refsim.render.story import print_story

        print_story(console(out), story, brief=args.brief)
    if args.plot is not None:
        _write_plot(args.plot, story, args.force, err, args.meter)
    agrees = story.agrees
    return EXIT_DISAGREES if agrees is False else EXIT_BUDGET if agrees is None else EXIT_OK


COMMAND = Command(_arguments, _execute)

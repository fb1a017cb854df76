"""What every command shares: exit statuses, options, loading a scenario, errors.

Every command line imports this module (``refsim --version`` too), so it imports nothing
heavy at the top: the loader (pydantic, YAML) and the scenario schema are imported by the
functions that load a scenario or check an option's value, when they are called. The
console commands print through is :mod:`refsim.cli.console` (rich).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from refsim.errors import SHOWN, ScenarioError, rest_line, visible
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule, ScheduleSyntaxError

__all__ = [
    "EXIT_BUDGET",
    "EXIT_DISAGREES",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "UsageError",
    "add_limits",
    "add_process",
    "add_runtime",
    "add_schedule",
    "add_timing",
    "anomaly_kind",
    "load",
    "one_process",
    "parse_schedule",
    "print_scenario_error",
    "shown",
    "timed_only",
    "whole",
    "write_json",
]

EXIT_OK, EXIT_DISAGREES, EXIT_USAGE, EXIT_BUDGET = 0, 1, 2, 3


class UsageError(Exception):
    """Bad input found after argument parsing; printed as ``error: ...`` with status 2."""


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its arguments and what it does (its name and help line are in the
    table of commands, :data:`refsim.cli.COMMANDS`, which imports it only when chosen).

    ``execute(args, out, err)`` returns the exit status.
    """

    add_arguments: Callable[[argparse.ArgumentParser], None]
    execute: Callable[[argparse.Namespace, TextIO, TextIO], int]


def write_json(out: TextIO, document: object, *, indent: int | None = None) -> None:
    """``document`` as one JSON document and a newline on ``out``.

    Python refuses to write an int of more than 4,300 digits as text (a guard against
    slow parsing of untrusted input); an exact count of interleavings can be longer (1,600
    threads have 1,600! interleavings), and JSON has no such limit."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        json.dump(document, out, indent=indent)
    finally:
        sys.set_int_max_str_digits(limit)
    out.write("\n")


def anomaly_kind(text: str) -> AnomalyKind:
    """An option's type: an anomaly kind (``double_free`` is read as ``double-free``)."""
    folded = text.strip().lower().replace("_", "-")
    for kind in AnomalyKind:
        if kind.value == folded:
            return kind
    kinds = [k.value for k in AnomalyKind]
    close = difflib.get_close_matches(folded, kinds, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise argparse.ArgumentTypeError(
        f"unknown anomaly kind {text!r}{hint}; the kinds are {', '.join(kinds)}"
    )


def add_limits(parser: argparse.ArgumentParser) -> None:
    """The options that raise the loader's size limits."""
    from refsim.loader import Limits

    defaults = Limits()
    parser.add_argument(
        "--max-bytes", type=whole(most=2**31), default=defaults.max_bytes, metavar="N",
        help=f"largest scenario file accepted, in bytes (default {defaults.max_bytes:,})",
    )  # fmt: skip
    parser.add_argument(
        "--max-ops", type=whole(most=10**9), default=defaults.max_ops, metavar="N",
        help="most ops over all threads after expanding `repeat` and `count` "
        f"(default {defaults.max_ops:,})",
    )  # fmt: skip


def runtime_name(text: str) -> str:
    """``--runtime``'s value, checked: a runtime's name, else an error that says which
    runtime was likely meant (``nogil``: ``free-threaded``)."""
    names = [r.value for r in Runtime]
    if text in names:
        return text
    from refsim.schema import closest_runtime

    close = closest_runtime(text)
    hint = f"did you mean {close!r}? " if close else ""
    raise argparse.ArgumentTypeError(
        f"unknown runtime {text!r}: {hint}the runtimes are {', '.join(names)}"
    )


def add_runtime(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime", type=runtime_name, metavar="RUNTIME",
        help="override the file's runtime: " + ", ".join(r.value for r in Runtime),
    )  # fmt: skip


def add_process(parser: argparse.ArgumentParser) -> None:
    """``--process NAME``: one process of a file that groups its threads (``processes:``)."""
    parser.add_argument(
        "--process", metavar="NAME",
        help="the file's process NAME alone (a file with processes: has one controlled run, "
        "and one exploration, per process: they share no memory)",
    )  # fmt: skip


def one_process(
    scenario: Scenario, args: argparse.Namespace, file: str, *, timed: bool = False
) -> Scenario:
    """The process ``--process`` names, or the scenario itself when it has one process.

    Controlled mode runs one process at a time: a file with several gets a UsageError that
    names them, rather than a run as if its processes shared memory. ``timed``: the
    command has ``--timed``, whose runs keep every process side by side, so with
    ``--timed`` and no ``--process`` the whole scenario is kept."""
    groups = [name for name, _ in scenario.process_groups()]
    chosen: str | None = args.process
    if chosen is None:
        if len(groups) == 1 or (timed and args.timed):
            return scenario
        raise UsageError(
            f"{file}: its threads run in {len(groups)} processes (processes:), which share no "
            f"memory, so they are run and explored one at a time: pick one with --process "
            f"NAME ({', '.join(groups)})"
            + (", or run them all in simulated time with --timed" if timed else "")
        )
    if chosen not in groups:
        close = difflib.get_close_matches(chosen, groups, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(
            f"{file}: --process {chosen}: no such process{hint}; its processes are "
            f"{', '.join(groups)}"
        )
    return scenario.process(chosen)


def add_schedule(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--schedule S`` or ``--seed N``: which run ``what`` (e.g. "replay", "draw the run of")."""
    how = parser.add_mutually_exclusive_group()
    how.add_argument(
        "--schedule", metavar="S",
        help=f'{what} this schedule, e.g. "T1 T2*3 T1*2" (a short prefix is completed '
        "without preemptions)",
    )  # fmt: skip
    how.add_argument(
        "--seed", type=int, default=None, metavar="N",
        help=f"{what} the run the fair random scheduler makes with seed N (default 0)",
    )  # fmt: skip


def add_timing(parser: argparse.ArgumentParser) -> None:
    """``--cores N`` and ``--switch-interval D``: a timed run's machine (with ``--timed``)."""
    parser.add_argument(
        "--cores", type=whole(), default=None, metavar="N",
        help="with --timed: CPUs that run threads (overrides the file's timing.cores)",
    )  # fmt: skip
    parser.add_argument(
        "--switch-interval", type=_duration, default=None, metavar="D",
        help="with --timed: the GIL's switch interval, e.g. 1ms (default: the file's, or 5ms)",
    )  # fmt: skip


def timed_only(args: argparse.Namespace, *options: str) -> None:
    """Refuse (UsageError) any of ``options`` (``switch_interval``) given without --timed,
    rather than ignore it."""
    if args.timed:
        return
    for option in options:
        if getattr(args, option) not in (None, False):
            raise UsageError(f"--{option.replace('_', '-')} goes with --timed")


def whole(*, least: int = 1, most: int | None = None) -> Callable[[str], int]:
    """An option's type: a whole number (``1000``, ``1_000`` or ``1,000``) from ``least``
    to ``most``."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least:,}, not {value:,}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most:,}, not {value:,}")
        return value

    return parse


def _duration(text: str) -> int:
    from refsim.schema import parse_duration

    try:
        ns = parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if ns == 0:
        raise argparse.ArgumentTypeError("the switch interval must be greater than zero")
    return ns


def load(file: str, args: argparse.Namespace) -> tuple[Scenario, str]:
    """Load FILE (a path, or a bundled scenario's name) with the limits in ``args``.

    Returns the scenario and the name to show in messages: FILE as the user wrote it, so a
    bundled scenario reads ``leak``, not a path into the installed package."""
    if not file:
        raise UsageError("FILE is empty: give a scenario file, or a bundled scenario's name")
    from refsim.bundled import load_file
    from refsim.loader import Limits

    limits = Limits(max_bytes=args.max_bytes, max_ops=args.max_ops)
    return load_file(file, limits=limits, meter=getattr(args, "meter", None)), file


def parse_schedule(text: str) -> Schedule:
    """``--schedule``'s text as a Schedule, or a UsageError pointing at the mistake."""
    try:
        return Schedule.parse(text)
    except ScheduleSyntaxError as error:
        caret = " " * (error.column - 1) + "^"
        raise UsageError(
            f"--schedule: {error.message}\n    {text}\n    {caret}\n"
            '    a schedule is thread names with optional counts, e.g. "T1*3 T2 T1"'
        ) from None


def shown(text: str) -> str:
    """``text`` with its control characters made visible, line by line: a message may
    quote a path or an option the user typed."""
    return "\n".join(visible(line) for line in text.split("\n"))


def print_scenario_error(error: ScenarioError, err: TextIO) -> None:
    """Each mistake (the first 100, then a line for the rest), then how many there are."""
    for diagnostic in error.diagnostics[:SHOWN]:
        err.write(f"{shown(str(diagnostic))}\n")
    rest = rest_line(error.diagnostics)
    if rest is not None:
        err.write(f"{shown(rest)}\n")
    count = len(error.diagnostics)
    err.write(f"{count:,} error{'s' if count != 1 else ''}\n")

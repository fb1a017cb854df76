"""The command line: ``refsim`` and ``python -m refsim`` (CLI.md is the contract).

Each subcommand is a :class:`~refsim.cli.common.Command` in its own module; this module
parses arguments, dispatches (a bare ``refsim FILE`` is ``refsim story FILE``, the lesson),
and turns mistakes into exit status 2 with a plain message, never a traceback. Exit
statuses: 0 agrees with the scenario's claims, 1 it does not, 2 bad input or usage, 3 a
budget ran out; 141 the reader of the output went away, 143 (129) SIGTERM (SIGHUP).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from refsim import __version__
from refsim.budget import BudgetExceeded, Meter
from refsim.cli import compare, course, explore, files, html, play, plot, real, run, search, story
from refsim.cli.budget import EXIT_INTERRUPTED, budget_of, progress_shown
from refsim.cli.common import (
    EXIT_BUDGET,
    EXIT_USAGE,
    Command,
    UsageError,
    print_scenario_error,
    shown,
)
from refsim.cli.output import Terminated, terminable
from refsim.cli.streams import EXIT_BROKEN_PIPE, prepare, silence
from refsim.errors import ScenarioError
from refsim.loader import ReadingStopped
from refsim.render.budget import (
    interrupted_line,
    out_of_memory_lines,
    reading_stopped_lines,
    stopped_lines,
)

__all__ = ["COMMANDS", "main"]

COMMANDS: tuple[Command, ...] = (
    story.COMMAND,
    run.COMMAND,
    explore.EXPLORE,
    explore.CHECK,
    plot.COMMAND,
    search.COMMAND,
    compare.COMMAND,
    play.COMMAND,
    html.COMMAND,
    files.VALIDATE,
    files.LIST,
    files.SCHEMA,
    real.COMMAND,
    course.COMMAND,
)


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser, and each command's own (to report a mistake against it)."""
    parser = argparse.ArgumentParser(
        prog="refsim",
        description="Simulate threads racing on CPython reference counts, and see why the "
        "GIL exists. `refsim FILE` tells FILE's whole story (the same as `refsim story FILE`).",
        epilog="Start with `refsim leak` (a bundled scenario; `refsim list` shows them all). "
        "Exit status: 0 agrees with the scenario's expect: claims, 1 an unexpected "
        "anomaly, 2 bad input or usage, 3 a budget ran out, 130 interrupted (Ctrl-C), 141 "
        "the reader of the output went away.",
    )
    parser.add_argument("--version", action="version", version=f"refsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = {}
    for command in COMMANDS:
        commands[command.name] = sub.add_parser(command.name, help=command.help)
        command.add_arguments(commands[command.name])
    return parser, commands


def _is_story(words: Sequence[str], names: set[str]) -> bool:
    """True for ``refsim FILE [options]``, also with the options first (``refsim --brief
    leak``): no command named, and some word that is not an option, to be FILE."""
    if not words or words[0] in names or words[0] in ("-h", "--help", "--version"):
        return False
    return any(not word.startswith("-") for word in words)


def _unknown(parser: argparse.ArgumentParser, extra: Sequence[str]) -> NoReturn:
    """Refuse arguments ``parser`` does not take, with its usage and a "did you mean"."""
    options = [o for o in parser._option_string_actions if o.startswith("--")]
    hints = []
    for word in extra:
        close = difflib.get_close_matches(word.split("=")[0], options, n=1)
        if word.startswith("-") and close:
            hints.append(f" (did you mean {close[0]}?)")
    parser.error(f"unrecognized arguments: {' '.join(extra)}{''.join(hints[:1])}")


def _subject(args: argparse.Namespace) -> str:
    """What the command works on, for messages: FILE, or the files."""
    files = getattr(args, "files", None) or [getattr(args, "file", "")]
    return shown(" ".join(str(f) for f in files))


def _doing(args: argparse.Namespace) -> str:
    """The progress line's label: ``refsim explore leak``."""
    return f"refsim {args.command} {_subject(args)}".rstrip()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Standard output and error take any text (:mod:`refsim.cli.streams`); a reader that
    closes the pipe early ends the run quietly with status 141; SIGTERM and SIGHUP remove
    any partial output file and end it with 128 + the signal (:mod:`refsim.cli.output`)."""
    out, err = sys.stdout, sys.stderr
    for stream in (out, err):
        prepare(stream)
    try:
        with terminable():
            status = _main(argv, out, err)
            out.flush()  # a closed pipe shows here, not in the interpreter's last flush
            err.flush()
            return status
    except BrokenPipeError:  # `refsim explore ... | head`: the reader has what it wanted
        silence()
        return EXIT_BROKEN_PIPE
    except Terminated as ended:
        return 128 + ended.signum


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    names = {command.name for command in COMMANDS}
    if _is_story(words, names):
        words.insert(0, "story")  # `refsim FILE` is `refsim story FILE`: the lesson
    parser, commands = _parser()
    args, extra = parser.parse_known_args(words)
    if extra:
        _unknown(commands.get(args.command or "", parser), extra)
    if args.command is None:
        parser.print_help(err)  # nothing to do is a usage error: its help goes to stderr
        return EXIT_USAGE
    command = next(c for c in COMMANDS if c.name == args.command)
    meter = args.meter = Meter(budget_of(args))
    try:
        with progress_shown(meter, err, _doing(args)):
            return command.execute(args, out, err)
    except KeyboardInterrupt:
        # Ctrl-C: one line, no traceback; output files are written beside their names and
        # moved into place only when whole, so nothing is left at an output path.
        err.write(interrupted_line(meter) + "\n")
        return EXIT_INTERRUPTED
    except MemoryError:
        err.write("\n".join(out_of_memory_lines(meter)) + "\n")
        return EXIT_BUDGET
    except ReadingStopped as error:
        err.write("\n".join(reading_stopped_lines(error)) + "\n")
        return EXIT_BUDGET
    except BudgetExceeded as error:  # one the command did not report itself
        err.write("\n".join(stopped_lines(error, _subject(args))) + "\n")
        return EXIT_BUDGET
    except ScenarioError as error:
        print_scenario_error(error, err)
        return EXIT_USAGE
    except UsageError as error:
        err.write(f"error: {shown(str(error))}\n")
        return EXIT_USAGE

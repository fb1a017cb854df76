"""The command line: ``refsim`` and ``python -m refsim`` (CLI.md is the contract).

Each subcommand is a :class:`~refsim.cli.common.Command` in its own module; this module
parses arguments, dispatches (a bare ``refsim FILE`` is ``refsim story FILE``, the lesson),
and turns mistakes into exit status 2 with a plain message, never a traceback. Exit
statuses: 0 agrees with the scenario's claims, 1 it does not, 2 bad input or usage, 3 a
budget ran out; 141 the reader of the output went away, 143 (129) SIGTERM (SIGHUP).

**Start-up.** The commands are listed in :data:`COMMANDS`, a table of names, help lines
and the module each command lives in; a command's module is imported only when it is the
one chosen. The parser is built in two stages: the top-level parser knows every command's
name and help line (all that ``refsim --help`` shows), and only the chosen command's
parser gets its arguments, just before the arguments are parsed. ``refsim --version``
and ``refsim --help`` therefore import no command, and ``refsim explore FILE --json``
imports only what exploring and writing JSON need (no SimPy, Hypothesis, matplotlib or
rich): tests/test_startup.py holds each command line to the modules it may import, and
docs/benchmarks.md has the times. The help, the usage and every error message are those
of one parser with every command in it.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn, TextIO

from refsim import __version__
from refsim.budget import BudgetExceeded, Meter
from refsim.cli.budget import EXIT_INTERRUPTED, budget_of, interruptible, progress_shown
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
from refsim.render.budget import (
    interrupted_line,
    out_of_memory_lines,
    reading_stopped_lines,
    stopped_lines,
)

__all__ = ["COMMANDS", "Listed", "main"]


@dataclass(frozen=True, slots=True)
class Listed:
    """A command as the top-level parser lists it: its ``name``, its ``help`` line, and
    where its :class:`~refsim.cli.common.Command` lives, as ``"module:NAME"`` in
    ``refsim.cli`` (``"explore:CHECK"`` is ``refsim.cli.explore.CHECK``)."""

    name: str
    help: str
    home: str

    def command(self) -> Command:
        """The command itself, its module imported now (once: Python keeps it)."""
        module, _, attribute = self.home.partition(":")
        found: Command = getattr(importlib.import_module(f"refsim.cli.{module}"), attribute)
        return found


COMMANDS: tuple[Listed, ...] = (
    Listed(
        "story",
        "tell the whole story of a scenario: outcomes, what goes wrong, the GIL",
        "story:COMMAND",
    ),
    Listed("run", "run a scenario once and print its trace", "run:COMMAND"),
    Listed(
        "explore",
        "count every interleaving exactly: the outcome table, with a witness for each outcome",
        "explore:EXPLORE",
    ),
    Listed(
        "check",
        "verify each scenario's expect: claims by exploring every interleaving",
        "explore:CHECK",
    ),
    Listed(
        "plot",
        "draw a run (or the outcome shares) as a figure, or export its Chrome trace",
        "plot:COMMAND",
    ),
    Listed(
        "search",
        "search for a schedule that reaches an anomaly, shrunk to the fewest preemptions",
        "search:COMMAND",
    ),
    Listed(
        "compare",
        "the same scenario under each runtime: safety and speed side by side",
        "compare:COMMAND",
    ),
    Listed(
        "play",
        "be the scheduler: pick the thread for each micro-step, undo, ask for the odds",
        "play:COMMAND",
    ),
    Listed(
        "html",
        "write one self-contained page: the story, the figure, step-through, the scheduler game",
        "html:COMMAND",
    ),
    Listed("validate", "check scenario files without running them", "files:VALIDATE"),
    Listed("list", "the bundled scenarios, one line each", "files:LIST"),
    Listed("schema", "print the JSON Schema of scenario files", "files:SCHEMA"),
    Listed(
        "real",
        "measure on this machine what the model predicts, the model's figure beside each",
        "real:COMMAND",
    ),
    Listed("course", "copy the course's exercises into DIR, to edit and check", "course:COMMAND"),
)
"""Every command, in the order ``refsim --help`` lists them."""


def _parser(
    ready: Sequence[Listed],
) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser, with every command's name and help line, and each command's
    own parser (to report a mistake against it); only the parsers of the commands in
    ``ready`` have their arguments (``main`` readies the chosen one: the others are never
    used then)."""
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
    for listed in COMMANDS:
        commands[listed.name] = sub.add_parser(listed.name, help=listed.help)
    for listed in ready:
        listed.command().add_arguments(commands[listed.name])
    return parser, commands


def _chosen(words: Sequence[str]) -> Listed | None:
    """The command ``words`` (after :func:`_with_story`) run, if any: their first word,
    when it names one. argparse chooses the same: before a command's name, ``refsim``
    takes only ``-h`` and ``--version``, which end the parse where they stand, and words
    that do not start with a command's name are either all options (no command) or a
    story. tests/test_startup.py holds the two to agreement."""
    return next((c for c in COMMANDS if words and c.name == words[0]), None)


def _with_story(words: Sequence[str]) -> list[str]:
    """``words``, with ``story`` first for ``refsim FILE [options]``, also with the options
    first (``refsim --brief leak``): no command named, and some word that is not an
    option, to be FILE. `refsim FILE` is `refsim story FILE`: the lesson."""
    names = {listed.name for listed in COMMANDS}
    if not words or words[0] in names or words[0] in ("-h", "--help", "--version"):
        return list(words)
    if any(not word.startswith("-") for word in words):
        return ["story", *words]
    return list(words)


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
    except ModuleNotFoundError as missing:
        package = (missing.name or "").partition(".")[0]
        if package not in _REQUIRED:
            raise
        err.write(
            f"error: refsim needs the package {_REQUIRED[package]}, which this Python "
            f"({sys.executable}) does not have: install refsim with pip, which brings its "
            "dependencies (pip install refsim)\n"
        )
        return EXIT_USAGE


_REQUIRED = {"simpy": "simpy", "yaml": "PyYAML", "pydantic": "pydantic", "rich": "rich",
             "hypothesis": "hypothesis"}  # fmt: skip
"""refsim's dependencies (pyproject.toml), by the name they are imported as: each is
imported when a command first needs it, so a Python without one fails there."""


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    words = _with_story(sys.argv[1:] if argv is None else argv)
    chosen = _chosen(words)
    parser, commands = _parser([] if chosen is None else [chosen])
    args, extra = parser.parse_known_args(words)
    assert args.command == (chosen and chosen.name), (args.command, chosen)
    if extra:
        _unknown(commands.get(args.command or "", parser), extra)
    if chosen is None:
        parser.print_help(err)  # nothing to do is a usage error: its help goes to stderr
        return EXIT_USAGE
    command = chosen.command()
    meter = args.meter = Meter(budget_of(args))
    try:
        with interruptible(), progress_shown(meter, err, _doing(args)):
            return command.execute(args, out, err)
    except KeyboardInterrupt:
        # Ctrl-C: one line, no traceback; output files are written beside their names and
        # moved into place only when whole, so nothing is left at an output path.
        err.write(interrupted_line(meter) + "\n")
        return EXIT_INTERRUPTED
    except MemoryError:
        err.write("\n".join(out_of_memory_lines(meter)) + "\n")
        return EXIT_BUDGET
    except BudgetExceeded as error:  # one the command did not report itself
        err.write("\n".join(_budget_lines(error, args)) + "\n")
        return EXIT_BUDGET
    except ScenarioError as error:
        print_scenario_error(error, err)
        return EXIT_USAGE
    except UsageError as error:
        err.write(f"error: {shown(str(error))}\n")
        return EXIT_USAGE


def _budget_lines(error: BudgetExceeded, args: argparse.Namespace) -> list[str]:
    """What a budget that ran out where no command reported it says: while a scenario
    file was read (the loader's own message, with how far it got), or else anywhere."""
    # Imported here, not at the top: `refsim --version` and `refsim --help` read no file.
    from refsim.loader import ReadingStopped

    if isinstance(error, ReadingStopped):
        return reading_stopped_lines(error)
    return stopped_lines(error, _subject(args))

"""Start-up: each command line imports what it uses and nothing more (issue 16).

The command line lists its commands in a table (``refsim.cli.COMMANDS``) and imports a
command's module only when it is chosen; ``import refsim`` imports a public name on
first use. These tests run command lines in a fresh interpreter and compare the heavy
modules it imported with the modules that command needs; and they hold the parser that
has only the chosen command's arguments to the one that has every command's, on any
command line.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import refsim
from refsim import cli

ROOT = Path(__file__).parent.parent

WATCHED = (
    "cffi",
    "hypothesis",
    "matplotlib",
    "pydantic",
    "rich",
    "simpy",
    "yaml",
    "refsim.compare",
    "refsim.engine",
    "refsim.explore",
    "refsim.loader",
    "refsim.page",
    "refsim.play",
    "refsim.plot.run_figure",
    "refsim.real",
    "refsim.render.html",
    "refsim.report",
    "refsim.search",
    "refsim.story",
    "refsim.timed",
)
"""The libraries and the parts of refsim worth not importing: each costs a start-up
tens of milliseconds, or more."""

_RUN = """
import contextlib, io, json, sys
from refsim.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()):
    try:
        status = main(sys.argv[1:])
    except SystemExit as exit:
        status = exit.code
watched = json.loads(sys.stdin.read())
print(json.dumps([status, len(out.getvalue()) > 0, sorted(m for m in watched if m in sys.modules)]))
"""


def imported(*argv: str) -> tuple[int, bool, set[str]]:
    """``refsim ARGV...`` in a fresh interpreter: its exit status, whether it printed on
    standard output, and the WATCHED modules it imported."""
    found = subprocess.run(
        [sys.executable, "-c", _RUN, *argv],
        input=json.dumps(WATCHED),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    status, printed, modules = json.loads(found.stdout)
    return status, printed, set(modules)


LOADING = {"pydantic", "yaml", "refsim.loader"}
"""What reading a scenario file takes: the schema (pydantic) and YAML."""
EXPLORING = LOADING | {"refsim.explore"}
RUNNING = EXPLORING | {"simpy", "refsim.engine", "refsim.timed"}
"""What a run takes: the engine and the timed model (SimPy), and the claims' explorer."""
TELLING = RUNNING | {"refsim.story", "refsim.compare", "refsim.search"}
"""What the story takes: every runtime's outcomes, the search for a failing run (its
module, not Hypothesis, unless the explorer cannot count) and the comparison."""

COUNTER = "scenarios/counter.yaml"
TINY_COUNTER = ["counter", "--threads", "2", "--increments", "100", "--repeat", "1"]
EXPERIMENTS = {"refsim.real", "refsim.explore", "refsim.timed", "simpy"}
"""What ``refsim real`` takes: the experiments, and the explorer and the timed model for
refsim's side of each row (no scenario file: no pydantic, no YAML)."""

IMPORTS: list[tuple[list[str], int, set[str]]] = [
    (["--version"], 0, set()),
    (["--help"], 0, set()),
    (["explore", COUNTER, "--json"], 0, EXPLORING),
    (["check", COUNTER, "--json"], 0, EXPLORING),
    (["run", COUNTER, "--json"], 0, RUNNING),
    (["run", "scenarios/cpu_bound.yaml", "--timed", "--json"], 0, RUNNING),
    (["run", COUNTER, "--quantum", "1..3", "--json"], 0, RUNNING),
    (["story", COUNTER, "--json"], 0, TELLING),
    (["list", "--json"], 0, LOADING),
    (["validate", COUNTER, "--json"], 0, LOADING),
    (["schema"], 0, LOADING),
    (["compare", COUNTER, "--json"], 0, RUNNING | {"refsim.compare"}),
    (
        ["search", COUNTER, "--json"],
        0,
        RUNNING - {"refsim.timed"} | {"refsim.search", "hypothesis"},
    ),
    (["real", *TINY_COUNTER, "--json"], 0, EXPERIMENTS),
    # The same commands for people import rich (and the run's report): the check above sees it.
    (["check", COUNTER], 0, EXPLORING | {"rich"}),
    (["explore", COUNTER], 0, EXPLORING | {"rich"}),
    (["run", COUNTER], 0, RUNNING | {"rich", "refsim.report"}),
    (["story", COUNTER], 0, TELLING | {"rich", "refsim.report"}),
    (["list"], 0, LOADING | {"rich"}),
    (["validate", COUNTER], 0, LOADING),  # a line per file: plain text
    (["real", *TINY_COUNTER], 0, EXPERIMENTS | {"rich"}),
]
"""Command lines, their exit status, and the WATCHED modules they import."""


@pytest.mark.parametrize(
    ("argv", "status", "expected"), IMPORTS, ids=[" ".join(a) for a, _, _ in IMPORTS]
)
def test_a_command_line_imports_what_it_uses(
    argv: list[str], status: int, expected: set[str]
) -> None:
    """``explore --json`` and ``check`` import no SimPy, Hypothesis, matplotlib, cffi, page
    writer, game, experiments or comparison; no command with ``--json`` (nor ``schema``)
    imports rich; the same commands for people show that the check sees what a command
    does import."""
    assert (status, True, expected) == imported(*argv)


def test_import_refsim_imports_nothing_until_a_name_is_used() -> None:
    code = (
        "import sys, refsim\n"
        "before = sorted(m for m in sys.modules if m.startswith('refsim'))\n"
        "refsim.Schedule\n"
        "print(before, 'refsim.model' in sys.modules, 'refsim.engine' in sys.modules)\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "['refsim', 'refsim.lazy'] True False\n" == found.stdout


def test_the_public_names_are_the_same_objects_as_in_their_modules() -> None:
    explore, search, engine, model = (
        importlib.import_module(f"refsim.{name}")
        for name in ("explore", "search", "engine", "model")
    )
    expected = [explore.explore, search.search, engine.run, model.Schedule]
    assert sorted(refsim.__all__) == dir(refsim)
    assert expected == [refsim.explore, refsim.search, refsim.run, refsim.Schedule]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        refsim.nothing  # noqa: B018 (the attribute access is the test)


def test_importing_a_module_named_like_a_function_keeps_the_function() -> None:
    """``refsim.explore`` and ``refsim.search`` are functions, as they were when the package
    imported everything at once, whichever is imported first."""
    code = (
        "import refsim.explore, refsim.search, refsim\n"
        "print(callable(refsim.explore), callable(refsim.search), refsim.explore.__module__)\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "True True refsim.explore\n" == found.stdout


def test_every_listed_command_is_found_where_the_table_says() -> None:
    names = [listed.name for listed in cli.COMMANDS]
    homes = {listed.home for listed in cli.COMMANDS}
    assert len(names) == len(set(names)) == len(homes)
    for listed in cli.COMMANDS:
        assert isinstance(listed.command(), cli.Command), listed


# -- the lazy parser reads every command line as the whole parser does ---------------------

WORDS = [
    *(listed.name for listed in cli.COMMANDS),
    *["leak", "scenarios/counter.yaml", "-h", "--help", "--version", "--ver", "--he"],
    *["--json", "--bogus", "-x", "--", "-", "-1", "--max-states", "3", "--max-st", "x"],
    *["--brief", "--runtime", "gil", "nogil", "--seed", "--schedule", "T1", "--bogus=list"],
]


def _parsed(parser: argparse.ArgumentParser, words: list[str]) -> tuple[Any, ...]:
    """What ``parser`` makes of ``words``: the exit status when it ends the program (help,
    version, a usage error), what it printed, and the options and leftovers it read."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args, extra = parser.parse_known_args(words)
        except SystemExit as exit:
            return exit.code, out.getvalue(), err.getvalue()
    return None, vars(args), extra


@given(st.lists(st.sampled_from(WORDS), max_size=5))
def test_the_parser_of_the_chosen_command_alone_reads_words_as_the_whole_parser(
    given_words: list[str],
) -> None:
    words = cli._with_story(given_words)
    chosen = cli._chosen(words)
    whole, _ = cli._parser(cli.COMMANDS)
    alone, _ = cli._parser([] if chosen is None else [chosen])
    assert _parsed(whole, words) == _parsed(alone, words)


def test_the_whole_parser_is_what_the_check_above_compares_with() -> None:
    """The property above can fail: without its arguments, a command's parser reads
    ``explore leak --json`` otherwise."""
    words = ["explore", "leak", "--json"]
    whole, _ = cli._parser(cli.COMMANDS)
    bare, _ = cli._parser([])
    assert _parsed(whole, words) != _parsed(bare, words)


JSON_WITHOUT_RICH = [
    ["run", COUNTER, "--json"],
    ["run", "scenarios/cpu_bound.yaml", "--timed", "--json"],
    ["story", "scenarios/leak.yaml", "--json"],
    ["list", "--json"],
    ["validate", COUNTER, "scenarios/nothing.yaml", "--json"],
    ["schema"],
]


@pytest.mark.parametrize("argv", JSON_WITHOUT_RICH, ids=" ".join)
def test_json_is_the_same_without_rich_installed(argv: list[str]) -> None:
    """A Python without rich writes every ``--json`` document, byte for byte the one a
    Python with rich writes (and the same exit status)."""
    script = "import sys; from refsim.cli import main; sys.exit(main(sys.argv[1:]))"
    found = [
        subprocess.run(
            [sys.executable, "-c", hide + script, *argv],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        for hide in ("", "import sys; sys.modules['rich'] = None; ")
    ]
    with_rich, without = [(f.returncode, f.stdout, f.stderr) for f in found]
    assert with_rich == without
    assert with_rich[1].startswith(("{", "[")), with_rich


def test_validate_for_people_is_the_same_without_rich_installed() -> None:
    """A scenario file's check, the command a pre-commit hook runs, needs only what
    loading the file needs: its line per file is the same without rich."""
    script = "import sys; from refsim.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = ["validate", "scenarios/leak.yaml", "scenarios/nothing.yaml"]
    found = [
        subprocess.run(
            [sys.executable, "-c", hide + script, *argv],
            capture_output=True, text=True, cwd=ROOT, check=False,
            env={**os.environ, "COLUMNS": "40"},
        )
        for hide in ("", "import sys; sys.modules['rich'] = None; ")
    ]  # fmt: skip
    with_rich, without = [(f.returncode, f.stdout, f.stderr) for f in found]
    assert with_rich == without
    assert (2, "scenarios/leak.yaml: ok (leak: 2\nthreads, 2 ops, runtime unsafe)\n") == (
        without[0],
        without[1],
    )


def test_a_python_without_a_dependency_gets_a_message_not_a_traceback() -> None:
    # As if rich were not installed: None in sys.modules makes its import fail.
    script = "import sys; sys.modules['rich'] = None; from refsim.cli import main; "
    script += "sys.exit(main(['list']))"
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    expected = (
        f"error: refsim needs the package rich, which this Python ({sys.executable}) does "
        "not have: install refsim with pip, which brings its dependencies (pip install refsim)\n"
    )
    assert (2, "", expected) == (found.returncode, found.stdout, found.stderr)

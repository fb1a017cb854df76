"""Output fit for a terminal (and a projector): every line fits the width, and text from
a scenario file or a path prints exactly as written, whatever it contains."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from cli_runner import flat, repo_root  # noqa: F401 (a fixture)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from refsim.cli import main
from tests.strategies import path_parts, untrusted_text, yaml_quoted

ROOT = Path(__file__).parent.parent
BUNDLED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))


@contextlib.contextmanager
def at(root: Path, width: int | None, stdin: str = "") -> Iterator[None]:
    """Run from ``root`` with ``COLUMNS=width`` (unset for None) and ``stdin`` as input."""
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if width is not None:
        environ["COLUMNS"] = str(width)
    cwd = Path.cwd()
    os.chdir(root)
    try:
        with (
            mock.patch.dict(os.environ, environ, clear=True),
            mock.patch("sys.stdin", io.StringIO(stdin)),
        ):
            yield
    finally:
        os.chdir(cwd)


def refsim(
    *argv: str, width: int | None = None, stdin: str = "", root: Path = ROOT
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with at(root, width, stdin), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as exc:
            status = int(str(exc.code))
    return status, out.getvalue(), err.getvalue()


def longest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


# -- width ----------------------------------------------------------------------------------

COMMANDS: list[tuple[tuple[str, ...], str]] = [
    (("leak",), ""),
    (("double_free",), ""),
    (("deadlock", "--brief"), ""),
    (("counter",), ""),
    (("cpu_bound",), ""),
    (("explore", "double_free"), ""),
    (("explore", "premature_free", "--max-states", "100", "--sample", "200"), ""),
    (("check", "leak", "borrowed", "cpu_bound"), ""),
    (("run", "premature_free", "--seed", "4"), ""),
    (("run", "double_free", "--seed", "2", "--quiz"), ""),
    (("run", "leak", "--quantum", "1..6"), ""),
    (("run", "convoy", "--timed", "--no-trace"), ""),
    (("run", "io_then_transform", "--timed"), ""),
    (("compare", "leak"), ""),
    (("compare", "cpu_bound"), ""),
    (("io_then_transform", "--brief"), ""),
    (("play", "counter_locked"), "T1\n?\nT2\nT1*9\nu\nT1\nT2*9\n"),
    (("play", "leak", "--quantum", "2", "--goal", "leak"), "\n?\na\n"),
    (("list",), ""),
    (("validate", "leak", "deadlock"), ""),
]


@functools.cache
def wide(argv: tuple[str, ...], stdin: str) -> str:
    """What ``argv`` prints with room for everything on one line."""
    return refsim(*argv, width=400, stdin=stdin)[1]


BLANK_COLUMNS = {"register"}
"""Headers of columns that may be blank in every row (play's board: no thread holds a
value): a row as a block of lines shows only the cells that hold something."""


def dropped(narrow: str, everything: str) -> list[str]:
    """The words of ``everything`` that ``narrow`` does not show: every word must be
    there, perhaps wrapped within (so the spaces and line breaks are left out)."""
    shown = re.sub(r"\s", "", narrow)
    words = set(everything.split()) - BLANK_COLUMNS
    return sorted(word for word in words if word not in shown)


@settings(max_examples=60)
@given(st.integers(20, 200), st.sampled_from(COMMANDS))
def test_no_line_is_wider_than_the_terminal_and_nothing_is_left_out(
    width: int, command: tuple[tuple[str, ...], str]
) -> None:
    """Issue 19: at 20 columns explore dropped its outcome column and run its refcounts;
    rich crops what does not fit, so a line too long never shows, but a word missing
    does."""
    argv, stdin = command
    status, out, _ = refsim(*argv, width=width, stdin=stdin)
    # A cell is never cut short either ("… (10 ops in all)" is a summary, not a cut).
    assert (True, [], [], []) == (
        status in (0, 1),
        [line for line in out.splitlines() if len(line) > width],
        re.findall(r"\w…", out),
        dropped(out, wide(argv, stdin)),
    )


@pytest.mark.parametrize(("argv", "stdin"), COMMANDS, ids=lambda v: " ".join(v) if v else "")
def test_at_20_columns_nothing_is_left_out(argv: tuple[str, ...], stdin: str) -> None:
    status, out, _ = refsim(*argv, width=20, stdin=stdin)
    assert (True, True, []) == (
        status in (0, 1), longest(out) <= 20, dropped(out, wide(argv, stdin))
    )  # fmt: skip


NINE = [
    ("leak",), ("run", "leak"), ("explore", "leak"), ("check", "leak"), ("compare", "leak"),
    ("search", "leak"), ("play", "leak"), ("validate", "leak"), ("list",),
]  # fmt: skip


@pytest.mark.parametrize("argv", NINE, ids=" ".join)
def test_columns_0_means_80_and_1_means_20(argv: tuple[str, ...]) -> None:
    """Issue 19: COLUMNS=0 made 7 of 9 commands print nothing and exit 0; at COLUMNS=1
    run dropped its step and thread."""
    outputs = [refsim(*argv, width=w, stdin="T1\n")[:2] for w in (0, 80, 1, 20)]
    assert (outputs[1], outputs[3], True) == (outputs[0], outputs[2], len(outputs[0][1]) > 0)


def test_at_20_columns_a_run_shows_each_step_whole() -> None:
    _, out, _ = refsim("run", "leak", "--schedule", "T1 T2*3 T1*2", width=20)
    step = "step 1\nthread T1\nop decref\nobj\nmicro-step LOAD\nregister 2\nrefcount 2\ntrue refs 2"
    assert step in "\n".join(" ".join(line.split()) for line in out.splitlines())


@pytest.mark.parametrize("width", [40, 57, 80, 133, 200])
def test_a_search_fits_its_width(width: int) -> None:
    # Not in the property above: the search runs Hypothesis itself.
    _, out, _ = refsim("search", "double_free", "--want", "double-free", width=width)
    assert longest(out) <= width


@pytest.mark.slow
@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("width", [40, 80, 200])
def test_every_story_fits_its_width(name: str, width: int) -> None:
    _, out, _ = refsim(name, width=width)
    assert longest(out) <= width


def test_off_a_terminal_the_width_is_80() -> None:
    _, out, _ = refsim("leak")
    assert 80 == longest(out)


@pytest.mark.parametrize("columns", ["0", "-3", "wide", ""])
def test_an_unusable_columns_means_80(columns: str) -> None:
    with mock.patch.dict(os.environ, {"COLUMNS": columns}):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(["leak"])
    assert 80 == longest(out.getvalue())


def test_explore_double_free_at_80_columns_shows_every_witness_whole() -> None:
    _, out, _ = refsim("explore", "double_free", "--json")
    import json

    witnesses = [o["witness"] for o in json.loads(out)["outcomes"]]
    _, text, _ = refsim("explore", "double_free", width=80)
    lines = text.splitlines()
    assert [] == [w for w in witnesses if not any(w in line for line in lines)]
    assert 80 >= longest(text)


def test_a_description_keeps_its_paragraphs() -> None:
    _, out, _ = refsim("io_then_transform", width=80)
    description = out.split("\n\nthread F1")[0]
    # One paragraph in the file: one paragraph on the screen, wrapped.
    assert (1, True) == (description.count("\n\n") + 1, longest(description) <= 80)


# -- hostile text ---------------------------------------------------------------------------

HOSTILE = """\
name: hostile
description: "lst = [item], [bold]b[/bold] and [/x] :smile: and \\\\[escaped].\\n\\nA second \
paragraph: an escape \\e[2J\\e]0;PWNED\\a, a C1 \\x9b, a bell \\a and a NUL \\0."
objects:
  obj: 2
threads:
  T1: [decref obj]
  T2: [decref obj]
"""

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "[cs101]"
    folder.mkdir()
    (folder / "h.yaml").write_text(HOSTILE, encoding="utf-8")
    return root


HOSTILE_COMMANDS: list[tuple[tuple[str, ...], str, bool]] = [
    (("[cs101]/h.yaml",), "", True),
    (("story", "[cs101]/h.yaml", "--brief"), "", False),
    (("run", "[cs101]/h.yaml", "--schedule", "T1 T2*3 T1*2"), "", True),
    (("run", "[cs101]/h.yaml", "--quiz"), "", True),
    (("run", "[cs101]/h.yaml", "--quantum", "1..3"), "", True),
    (("explore", "[cs101]/h.yaml"), "", True),
    (("check", "[cs101]/h.yaml"), "", True),
    (("search", "[cs101]/h.yaml"), "", True),
    (("compare", "[cs101]/h.yaml"), "", False),
    (("play", "[cs101]/h.yaml"), "T1\nT2*3\n[/x] \x1b[2J\nT1*2\n", True),
    (("validate", "[cs101]/h.yaml"), "", True),
]
"""(argv, standard input, whether the output names the file)."""


@pytest.mark.parametrize(
    ("argv", "stdin", "named"),
    HOSTILE_COMMANDS,
    ids=[" ".join(argv) for argv, _, _ in HOSTILE_COMMANDS],
)
def test_hostile_text_prints_literally_and_harmlessly(
    hostile: Path, argv: tuple[str, ...], stdin: str, named: bool
) -> None:
    status, out, err = refsim(*argv, stdin=stdin, root=hostile)
    # The scenario has no claims: its own runtime is held to no anomaly, and it leaks.
    assert (True, "Traceback" in err) == (status in (0, 1), False)
    assert ([], []) == (CONTROL.findall(out), CONTROL.findall(err))
    assert named == ("[cs101]" in out)
    if argv[0].startswith("["):  # the story shows the description
        text = flat(out)
        assert "lst = [item], [bold]b[/bold] and [/x] :smile: and \\[escaped]." in text
        assert "A second paragraph: an escape ␛[2J␛]0;PWNED␇, a C1 \ufffd, a bell ␇" in text


ISSUE_NAME = 'name: "ok\\e]0;PWNED\\a\\e[2J"\nobjects: {obj: 1}\nthreads:\n  T1: [incref obj]\n'
"""Issue 19's file: a name that would retitle the terminal and clear the screen."""


@pytest.mark.parametrize("argv", [("validate",), ("run",), ("story",), ("explore",)], ids=str)
def test_a_name_that_would_drive_the_terminal_is_refused_at_load(
    argv: tuple[str, ...], tmp_path: Path
) -> None:
    (tmp_path / "t.yaml").write_text(ISSUE_NAME, encoding="utf-8")
    status, out, err = refsim(*argv, "t.yaml", root=tmp_path)
    assert (2, "", [], []) == (status, out, CONTROL.findall(out), CONTROL.findall(err))
    assert [
        "t.yaml:1:10: error: name: the name holds an escape (U+001B); a name is printed on "
        "every screen, on one line, so it may hold no control characters",
        '    name: "ok\\e]0;PWNED\\a\\e[2J"',
        "             ^",
    ] == err.splitlines()[:3]


def test_a_bundled_name_with_markup_is_refused_plainly() -> None:
    status, out, err = refsim("run", "[/x]")
    assert (2, "", True, False) == (status, out, "[/x]" in err, "Traceback" in err)


def test_the_bundled_scenarios_folder_is_not_needed(tmp_path: Path) -> None:
    shutil.copy(ROOT / "scenarios" / "leak.yaml", tmp_path / "[a].yaml")
    status, out, _ = refsim("run", "[a].yaml", "--seed", "1", root=tmp_path)
    assert (0, True) == (status, "refsim run '[a].yaml' --schedule" in flat(out))


ESCAPED = "x\x1b[2Jy"
"""A folder name that would clear the screen, were it printed as it is."""


@pytest.mark.parametrize(
    "argv",
    [
        ("story",),
        ("run", "--seed", "1"),
        ("run", "--schedule", "T1 T9"),
        ("explore",),
        ("check",),
        ("play",),
        ("validate",),
    ],
    ids=lambda argv: " ".join(argv),
)
def test_a_path_with_an_escape_never_reaches_the_terminal(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    (tmp_path / ESCAPED).mkdir()
    shutil.copy(ROOT / "scenarios" / "leak.yaml", tmp_path / ESCAPED / "l.yaml")
    command, *options = argv
    path = f"{ESCAPED}/l.yaml"
    status, out, err = refsim(command, path, *options, stdin="T1*3\nT2*4\n", root=tmp_path)
    assert (True, [], []) == (status in (0, 2), CONTROL.findall(out), CONTROL.findall(err))
    assert "x␛[2Jy" in out + err


def test_a_figure_of_a_hostile_scenario_is_written_and_named_literally(hostile: Path) -> None:
    pytest.importorskip("matplotlib")
    argv = ("plot", "[cs101]/h.yaml", "-o", "[cs101]/run.png", "--force")
    status, out, err = refsim(*argv, root=hostile)
    said = out + err
    assert (1, True) == (status, said.startswith("wrote [cs101]/run.png: hostile"))
    assert (hostile / "[cs101]" / "run.png").read_bytes().startswith(b"\x89PNG")


# -- no control character reaches the terminal, whatever the file holds -----------------------

TERMINAL_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
"""What must never be written to a terminal: C0 (but the line break), DEL, C1, and a
lone surrogate (a raw byte of a path that is not UTF-8)."""

_PROGRAM = "objects: {obj: 2}\nthreads:\n  T1: [decref obj]\n  T2: [decref obj]\n"


def _every_command(file: str, out: str) -> list[tuple[tuple[str, ...], str]]:
    """Every command that reads a scenario file (and writes no page), with its input."""
    return [
        ((file,), ""),
        (("story", file, "--brief"), ""),
        (("run", file, "--schedule", "T1 T2*3 T1*2"), ""),
        (("run", file, "--quiz"), ""),
        (("run", file, "--quantum", "1..2"), ""),
        (("run", file, "--seed", "1", "--trace-out", out + ".json"), ""),
        (("run", file, "--timed"), ""),
        (("explore", file), ""),
        (("check", file), ""),
        (("search", file, "--max-examples", "10"), ""),
        (("compare", file), ""),
        (("plot", file, "-o", out + "-trace.json"), ""),
        (("validate", file), ""),
    ]


# `refsim search` runs Hypothesis itself: a nested @given, on purpose.
@settings(max_examples=12, suppress_health_check=[HealthCheck.nested_given])
@given(
    name=st.none()
    | st.text(st.characters(exclude_categories=("C",)), max_size=12)
    | untrusted_text,
    description=untrusted_text,
    folder=path_parts,
    stem=path_parts,
    typed=untrusted_text,
)
def test_no_text_from_a_scenario_file_writes_a_control_character_to_the_terminal(
    name: str | None, description: str, folder: str, stem: str, typed: str
) -> None:
    """Issue 19: names, descriptions and paths with C0 or C1 control characters (an
    escape that retitles the terminal, one that clears it) reached the terminal raw."""
    text = "" if name is None else f"name: {yaml_quoted(name)}\n"
    text += f"description: {yaml_quoted(description)}\n{_PROGRAM}"
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / folder).mkdir()
        path = root / folder / f"{stem}.yaml"
        path.write_text(text, encoding="utf-8")
        file = os.path.join(folder, f"{stem}.yaml")
        runs = _every_command(file, os.path.join(folder, stem))
        runs.append((("play", file), f"T1\n{typed}\nT2*3\nT1*2\n"))
        said = {}
        for argv, stdin in runs:
            status, out, err = refsim(*argv, stdin=stdin, root=root)
            said[argv[0] + " " + " ".join(argv[2:])] = (status, TERMINAL_CONTROL.findall(out + err))
        event("loaded" if said["validate "][0] == 0 else "refused")
    assert {k: (v[0], []) for k, v in said.items()} == said


def test_a_figure_of_a_file_named_with_control_characters_draws_every_glyph(
    tmp_path: Path,
) -> None:
    """A scenario without `name:` is named after its file; a control character in that
    name (its symbol has no glyph in matplotlib's font) becomes U+FFFD."""
    pytest.importorskip("matplotlib")
    text = (ROOT / "scenarios" / "leak.yaml").read_text(encoding="utf-8")
    unnamed = "\n".join(line for line in text.splitlines() if not line.startswith("name:"))
    (tmp_path / "y\x1b]0;T\x07.yaml").write_text(unnamed, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph 9243 missing from font(s) DejaVu Sans"
        status, out, _ = refsim("plot", "y\x1b]0;T\x07.yaml", "-o", "y.png", root=tmp_path)
    assert (0, True) == (status, out.startswith("wrote y.png: y\ufffd]0;T\ufffd under unsafe,"))

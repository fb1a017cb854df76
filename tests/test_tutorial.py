"""The course in docs/tutorial/: every chapter has real output, a figure, an exercise and
its solution; every exercise is unsolved as given and solved by its solution, as
``refsim check`` judges; and every relative link in the docs leads somewhere.

An exercise is a scenario file whose ``expect:`` claims state the goal. As given, at
least one claim fails (``refsim check`` exits 1); the reader edits the file until
``refsim check`` exits 0. The solution, in ``solutions/`` under the same name, is one
such edit.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_runner import refsim, repo_root  # noqa: F401 (a fixture)
from test_docs import BLOCK

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
TUTORIAL = DOCS / "tutorial"
CHAPTERS = sorted(TUTORIAL.glob("[0-9][0-9]-*.md"))
EXERCISES = sorted((TUTORIAL / "exercises").glob("*.yaml"))
HOWTOS = sorted((DOCS / "howto").glob("*.md"))
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("**/*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)\s]+)\)")

pytestmark = pytest.mark.usefixtures("repo_root")


def _ids(path: Path) -> str:
    return path.stem


def test_the_course_has_its_chapters() -> None:
    expected = [
        "01-reference-counting",
        "02-three-steps",
        "03-lost-updates",
        "04-premature-frees",
        "05-leaks",
        "06-the-gil",
        "07-what-the-gil-does-not-protect",
        "08-cpu-io-processes",
        "09-other-pythons",
        "10-finding-races",
    ]
    assert expected == [chapter.stem for chapter in CHAPTERS]


def test_the_how_to_pages_exist() -> None:
    expected = [
        "notebook",
        "pytest",
        "replay-and-plot",
        "share-a-page",
        "teach-with-play",
        "write-a-scenario",
    ]
    assert expected == [page.stem for page in HOWTOS]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_ids)
def test_a_chapter_links_its_exercise_and_solution(chapter: Path) -> None:
    text = chapter.read_text(encoding="utf-8")
    targets = {m["target"] for m in LINK.finditer(text)}
    expected = {f"exercises/{chapter.stem}.yaml", f"solutions/{chapter.stem}.yaml"}
    assert expected <= targets
    assert (TUTORIAL / "exercises" / f"{chapter.stem}.yaml").is_file()
    assert (TUTORIAL / "solutions" / f"{chapter.stem}.yaml").is_file()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_ids)
def test_a_chapter_shows_real_output_and_a_figure(chapter: Path) -> None:
    text = chapter.read_text(encoding="utf-8")
    commands = [m["command"] for m in BLOCK.finditer(text)]
    figures = [m["target"] for m in IMAGE.finditer(text)]
    assert commands, f"{chapter.name} shows no refsim command with its output"
    assert figures, f"{chapter.name} shows no figure"
    for figure in figures:
        assert (chapter.parent / figure).is_file(), f"{chapter.name}: no such figure {figure}"


@pytest.mark.parametrize("exercise", EXERCISES, ids=_ids)
def test_an_exercise_is_unsolved_as_given(
    exercise: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = refsim(capsys, "check", str(exercise.relative_to(ROOT)))
    assert (1, "") == (status, err), out
    assert "FAILS" in out


@pytest.mark.parametrize("exercise", EXERCISES, ids=_ids)
def test_its_solution_solves_it(exercise: Path, capsys: pytest.CaptureFixture[str]) -> None:
    solution = TUTORIAL / "solutions" / exercise.name
    status, out, err = refsim(capsys, "check", str(solution.relative_to(ROOT)))
    assert (0, "") == (status, err), out
    assert "all hold" in out


@pytest.mark.parametrize("exercise", EXERCISES, ids=_ids)
def test_a_solution_keeps_the_exercise_claims(exercise: Path) -> None:
    """The reader changes the program, not the goal: the ``expect:`` block is the same."""

    def claims(path: Path) -> str:
        text = path.read_text(encoding="utf-8")
        return text[text.index("\nexpect:") :]

    assert claims(exercise) == claims(TUTORIAL / "solutions" / exercise.name)


def test_every_solution_has_an_exercise() -> None:
    solutions = sorted(p.name for p in (TUTORIAL / "solutions").glob("*.yaml"))
    assert [p.name for p in EXERCISES] == solutions


def test_the_indexes_link_the_course_and_the_how_tos() -> None:
    course = (TUTORIAL / "index.md").read_text(encoding="utf-8")
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert {c.name for c in CHAPTERS} <= {m["target"] for m in LINK.finditer(course)}
    expected = {"tutorial/index.md"} | {f"howto/{p.name}" for p in HOWTOS}
    assert expected <= {m["target"] for m in LINK.finditer(index)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = []
    for match in LINK.finditer(text):
        target = match["target"].split("#", 1)[0]
        if not target or re.match(r"[a-z]+:", target):
            continue
        if not (page.parent / target).exists():
            broken.append(target)
    assert [] == broken

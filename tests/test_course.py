"""``refsim course DIR`` and the course's files by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import refsim, repo_root  # noqa: F401 (a fixture)

from refsim.bundled import course_files, resolve

pytestmark = pytest.mark.usefixtures("repo_root")


def test_course_copies_the_exercises_into_a_new_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "my course"
    status, out, err = refsim(capsys, "course", str(folder))
    names = [p.name for p in course_files("exercises")]
    assert (0, "", names) == (status, err, sorted(p.name for p in folder.iterdir()))
    assert out.startswith(f"copied 12 exercises into {folder}: edit one and check it, e.g.\n")
    assert (folder / names[2]).read_bytes() == course_files("exercises")[2].read_bytes()


def test_course_never_overwrites_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mine = tmp_path / "03-lost-updates.yaml"
    mine.write_text("my answer")
    status, _, err = refsim(capsys, "course", str(tmp_path))
    assert (2, "my answer", ["03-lost-updates.yaml"]) == (
        status,
        mine.read_text(),
        [p.name for p in tmp_path.iterdir()],
    )
    assert "the folder is not empty; give a new or empty folder, or pass --force" in err
    assert 0 == refsim(capsys, "course", str(tmp_path), "--force")[0]
    assert mine.read_text().startswith("# Exercise for chapter 3")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert 0 == refsim(capsys, "course", str(empty))[0]
    assert 2 == refsim(capsys, "course", str(mine))[0]


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("exercises/03-lost-updates", "docs/tutorial/exercises/03-lost-updates.yaml"),
        ("solutions/07-waiting.yaml", "docs/tutorial/solutions/07-waiting.yaml"),
        ("leak", "scenarios/leak.yaml"),
        ("scenarios/leak.yaml", "scenarios/leak.yaml"),
    ],
)
def test_a_course_file_or_a_scenario_is_found_by_name(name: str, found: str) -> None:
    path, hint = resolve(name)
    assert (found, None) == (path.resolve().relative_to(Path.cwd()).as_posix(), hint)


def test_a_course_name_that_is_off_gets_a_hint() -> None:
    assert "did you mean exercises/05-leaks, of the course?" == resolve("exercises/05-leak")[1]

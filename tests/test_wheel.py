"""What a student who installs the wheel gets: the scenarios, the course's exercises and
solutions, the page's assets; and refsim, run from the unpacked wheel alone, finds them
by name (``refsim check exercises/03-lost-updates``, ``refsim course DIR``)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from refsim.bundled import bundled_scenarios, course_files

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    [built] = out.glob("refsim-*.whl")
    return built


def test_the_wheel_ships_the_scenarios_the_course_and_the_pages_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"refsim/scenarios/{p.name}" for p in bundled_scenarios()}
    expected |= {f"refsim/course/{f}/{p.name}" for f in ("exercises", "solutions")
                 for p in course_files(f)}  # fmt: skip
    expected |= {"refsim/render/assets/page.js", "refsim/render/assets/page.css"}
    assert set() == expected - names
    assert 12 == len(course_files("exercises")) == len(course_files("solutions"))


@pytest.mark.slow
def test_refsim_from_the_wheel_alone_finds_the_course_by_name(wheel: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    work = tmp_path / "student"
    work.mkdir()

    def refsim(*argv: str) -> subprocess.CompletedProcess[str]:
        # -c, not -m: the student's folder (the current one) must not shadow anything.
        code = "import sys, refsim.cli; sys.exit(refsim.cli.main(sys.argv[1:]))"
        env = {**os.environ, "PYTHONPATH": str(unpacked), "COLUMNS": "100"}
        return subprocess.run(
            [sys.executable, "-c", code, *argv], cwd=work, env=env, text=True,
            capture_output=True, timeout=120,
        )  # fmt: skip

    where = subprocess.run(
        [sys.executable, "-c", "import refsim; print(refsim.__file__)"],
        env={**os.environ, "PYTHONPATH": str(unpacked)}, cwd=work, text=True,
        capture_output=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(str(unpacked))
    checked = refsim("check", "exercises/03-lost-updates")
    assert (1, "exercises/03-lost-updates  (uncounted_global)") == (
        checked.returncode,
        checked.stdout.splitlines()[0],
    )
    assert 0 == refsim("check", "solutions/03-lost-updates.yaml").returncode
    copied = refsim("course", "mine")
    assert (0, "") == (copied.returncode, copied.stderr)
    assert sorted(p.name for p in course_files("exercises")) == sorted(
        p.name for p in (work / "mine").iterdir()
    )
    assert 1 == refsim("check", "mine/03-lost-updates.yaml").returncode
    played = refsim("play", "exercises/01-reference-counting", "--json")
    assert 0 == played.returncode

"""The files that ship with refsim, and finding one by name: the bundled scenarios
(``refsim list``) and the course's exercises and solutions (``refsim course``).

In an installed wheel they live in the package (``refsim/scenarios`` and
``refsim/course/exercises``, ``refsim/course/solutions``, copied there by the build); in a
source checkout they are the repository's ``scenarios/`` and ``docs/tutorial/`` folders.
So ``refsim leak`` and ``refsim check exercises/03-lost-updates`` work the same from a
clone and from ``pip install refsim``.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import replace
from pathlib import Path

from refsim.budget import Meter
from refsim.errors import ScenarioError
from refsim.loader import Limits
from refsim.loader import load_file as _load
from refsim.model import Scenario

__all__ = [
    "COURSE_FOLDERS",
    "bundled_dir",
    "bundled_scenarios",
    "course_dir",
    "course_files",
    "load_file",
    "resolve",
]

COURSE_FOLDERS = ("exercises", "solutions")
"""The course's folders of scenario files, named as ``refsim check exercises/NAME`` names
them."""

_HERE = Path(__file__).parent


def bundled_dir() -> Path:
    """The folder holding the bundled scenario files."""
    inside = _HERE / "scenarios"
    if inside.is_dir():
        return inside
    return _HERE.parent / "scenarios"


def bundled_scenarios() -> list[Path]:
    """Every bundled scenario file, sorted by name."""
    return sorted(bundled_dir().glob("*.yaml"))


def course_dir() -> Path:
    """The folder holding the course's ``exercises/`` and ``solutions/``."""
    inside = _HERE / "course"
    if inside.is_dir():
        return inside
    return _HERE.parent / "docs" / "tutorial"


def course_files(folder: str) -> list[Path]:
    """The scenario files of one of the course's folders (``exercises``), sorted."""
    assert folder in COURSE_FOLDERS, folder
    return sorted((course_dir() / folder).glob("*.yaml"))


def resolve(name: str) -> tuple[Path, str | None]:
    """The file ``name`` refers to: a path as given, or else a bundled scenario's name
    (``leak``) or one of the course's files (``exercises/03-lost-updates``, with or
    without ``.yaml``).

    Returns the path and, when neither exists, a hint naming the closest bundled file.
    """
    path = Path(name)
    try:
        if path.exists():
            return path, None
    except OSError:  # a name too long to look up: reading it reports why
        return path, None
    stem = path.stem if path.suffix in (".yaml", ".yml") else path.name
    folder = path.parent.as_posix()
    if folder in COURSE_FOLDERS:
        found = {p.stem: p for p in course_files(folder)}
        if stem in found:
            return found[stem], None
        close = difflib.get_close_matches(stem, list(found), n=1)
        hint = f"did you mean {folder}/{close[0]}, of the course?" if close else None
        return path, hint
    stems = {p.stem: p for p in bundled_scenarios()}
    if stem in stems and path.parent in (Path("."), Path("scenarios")):
        return stems[stem], None
    close = difflib.get_close_matches(stem, list(stems), n=1)
    hint = f"did you mean the bundled scenario {close[0]!r}?" if close else None
    return path, hint


def load_file(
    path: str | os.PathLike[str], *, limits: Limits | None = None, meter: Meter | None = None
) -> Scenario:
    """Read and check the scenario file at ``path``, or the bundled scenario or course
    file it names (:func:`resolve`): ``refsim.load_file("leak")``. A name that is neither
    gets a ScenarioError saying which bundled name is closest. ``meter``: the budget the
    reading spends (see :func:`refsim.loader.load_file`)."""
    found, hint = resolve(os.fspath(path))
    try:
        return _load(found, limits=Limits() if limits is None else limits, meter=meter)
    except ScenarioError as error:
        if hint:  # only given when no file has that name
            raise ScenarioError([replace(d, hint=hint) for d in error.diagnostics]) from None
        raise

"""The scenarios that ship with refsim (``refsim list``), and finding one by name.

In an installed wheel they live in the package (``refsim/scenarios``, copied there by
the build); in a source checkout they are the repository's ``scenarios/`` folder.
"""

from __future__ import annotations

import difflib
from pathlib import Path

__all__ = ["bundled_dir", "bundled_scenarios", "resolve"]


def bundled_dir() -> Path:
    """The folder holding the bundled scenario files."""
    inside = Path(__file__).parent / "scenarios"
    if inside.is_dir():
        return inside
    return Path(__file__).parent.parent / "scenarios"


def bundled_scenarios() -> list[Path]:
    """Every bundled scenario file, sorted by name."""
    return sorted(bundled_dir().glob("*.yaml"))


def resolve(name: str) -> tuple[Path, str | None]:
    """The file ``name`` refers to: a path as given, or else a bundled scenario's name.

    Returns the path and, when neither exists, a hint naming the closest bundled scenario.
    """
    path = Path(name)
    try:
        if path.exists():
            return path, None
    except OSError:  # a name too long to look up: reading it reports why
        return path, None
    stems = {p.stem: p for p in bundled_scenarios()}
    stem = path.stem if path.suffix in (".yaml", ".yml") else name
    if stem in stems and path.parent in (Path("."), Path("scenarios")):
        return stems[stem], None
    close = difflib.get_close_matches(stem, list(stems), n=1)
    hint = f"did you mean the bundled scenario {close[0]!r}?" if close else None
    return path, hint

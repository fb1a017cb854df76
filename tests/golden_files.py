"""Golden files: compare output with a committed file, or rewrite it with --update-goldens."""

from __future__ import annotations

from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def check_golden(request: pytest.FixtureRequest, name: str, actual: str) -> None:
    """Assert ``actual`` equals ``tests/golden/<name>``; with ``--update-goldens``, write it."""
    path = GOLDEN / name
    if request.config.getoption("--update-goldens"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}; run pytest --update-goldens and review"
    expected = path.read_text(encoding="utf-8")
    assert expected == actual, f"output differs from {path} (pytest --update-goldens rewrites it)"

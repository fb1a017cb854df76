"""Running the command line in-process from the tests, as a user would from the repo root."""

from __future__ import annotations

from pathlib import Path

import pytest

from refsim.cli import main

ROOT = Path(__file__).parent.parent


@pytest.fixture
def repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root, with a fixed terminal width, as the docs do."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("COLUMNS", raising=False)


def flat(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as single spaces: what a wrapped
    paragraph says, whatever the width."""
    return " ".join(text.split())


def refsim(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``refsim ARGV...``: the exit status, stdout and stderr."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err

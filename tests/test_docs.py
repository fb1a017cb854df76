"""Every example in README.md and docs/ runs, and prints what the page says it prints.

A page shows a command as a ```console block whose first line is ``$ refsim ...`` or
``$ python -m refsim ...``; the lines after it are the expected output (stdout, then
stderr). ``pytest --update-goldens`` rewrites the blocks from the real output; review the
diff before committing.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from cli_runner import repo_root  # noqa: F401 (a fixture)

from refsim.cli import main

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
BLOCK = re.compile(r"```console\n\$ (?P<command>[^\n]*)\n(?P<output>.*?)```", re.DOTALL)
PREFIXES = (("python", "-m", "refsim"), ("refsim",))


def run_example(command: str) -> str:
    words = shlex.split(command)
    for prefix in PREFIXES:
        if tuple(words[: len(prefix)]) == prefix:
            argv = words[len(prefix) :]
            break
    else:
        raise AssertionError(f"not a refsim command: {command}")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(argv)
    return out.getvalue() + err.getvalue()


def examples() -> list[tuple[Path, str]]:
    found = []
    for page in PAGES:
        for match in BLOCK.finditer(page.read_text(encoding="utf-8")):
            if match["command"].startswith(("refsim", "python -m refsim")):
                found.append((page, match["command"]))
    return found


pytestmark = pytest.mark.usefixtures("repo_root")


def test_there_are_examples() -> None:
    pages = {page.name for page, _ in examples()}
    assert {"README.md", "cli.md"} <= pages


@pytest.mark.parametrize(
    ("page", "command"), examples(), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_example(page: Path, command: str, request: pytest.FixtureRequest) -> None:
    text = page.read_text(encoding="utf-8")
    actual = run_example(command)
    blocks = [m for m in BLOCK.finditer(text) if m["command"] == command]
    if request.config.getoption("--update-goldens"):
        for match in reversed(blocks):
            text = text[: match.start("output")] + actual + text[match.end("output") :]
        page.write_text(text, encoding="utf-8")
        return
    for match in blocks:
        assert match["output"] == actual, f"{page.name}: `{command}` prints something else now"
